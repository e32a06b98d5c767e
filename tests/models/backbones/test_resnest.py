"""Tests for the ResNeSt backbones (paddleseg_pssl.models.backbones.resnest, .resnest_weights).

Every backbone: output shapes, no NaN, a gradient on every parameter, ``feat_channels``.
Plus split attention against a NumPy reference of the paper's equations, weight loading
(own names, PaddleClas's two naming schemes) and PaddleSeg's DeepLabV3 built from a
config dict. Inputs are tiny (64x64) to keep the file under a few seconds per model.
"""
from __future__ import annotations

import re
from typing import Dict, List

import numpy as np
import paddle
import pytest

import paddleseg_pssl  # noqa: F401  (registers the backbones)
from paddleseg.cvlibs import SegBuilder, manager
from paddleseg.models import DeepLabV3
from paddleseg_pssl.errors import PSSLConfigError
from paddleseg_pssl.models.backbones import resnest
from paddleseg_pssl.models.backbones.resnest import (
    RESNEST_SPECS, ResNeSt, ResNeSt50, SplitAttentionConv2D)
from paddleseg_pssl.models.backbones.resnest_weights import (
    convert_paddleclas_resnest_state_dict, is_paddleclas_resnest_state_dict,
    load_resnest_pretrained)

FEAT_CHANNELS = [256, 512, 1024, 2048]


def _down(n: int, times: int) -> int:
    """Size after ``times`` stride-2 steps that round up (padded 3x3 convs and pools)."""
    for _ in range(times):
        n = (n + 1) // 2
    return n


def _expected_shapes(batch: int, h: int, w: int, output_stride: int) -> List[List[int]]:
    strides = [2, 3, min(4, {8: 3, 16: 4, 32: 5}[output_stride]),
               {8: 3, 16: 4, 32: 5}[output_stride]]
    return [[batch, c, _down(h, s), _down(w, s)] for c, s in zip(FEAT_CHANNELS, strides)]


@pytest.fixture(scope="module")
def source_model() -> ResNeSt:
    """A ResNeSt50 whose BN statistics are not the defaults, so loading is observable."""
    paddle.seed(1)
    model = ResNeSt50(output_stride=32)
    rng = np.random.default_rng(0)
    state = {k: paddle.to_tensor(rng.uniform(0.5, 1.5, v.shape).astype("float32"))
             if k.endswith(("_mean", "_variance", "fc2.bias")) else v
             for k, v in model.state_dict().items()}
    model.set_state_dict(state)
    return model


def _assert_same_weights(a: ResNeSt, b: ResNeSt) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for key in sa:
        np.testing.assert_array_equal(sa[key].numpy(), sb[key].numpy(), err_msg=key)


# ---------------------------------------------------------------------------- registry

def test_every_variant_is_registered_under_its_name():
    for name in RESNEST_SPECS:
        assert manager.BACKBONES[name] is getattr(resnest, name)
    assert RESNEST_SPECS["ResNeSt50"].depths == (3, 4, 6, 3)
    assert RESNEST_SPECS["ResNeSt50"].stem_width == 32
    assert RESNEST_SPECS["ResNeSt50"].radix == 2


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="output_stride must be one of .* got 4"):
        ResNeSt50(output_stride=4)
    with pytest.raises(TypeError, match="ResNeSt50 fixes .*depths"):
        ResNeSt50(depths=(1, 1, 1, 1))
    with pytest.raises(ValueError, match="radix must be >= 1, got 0"):
        ResNeSt((1, 1, 1, 1), radix=0)


# ---------------------------------------------------------------------- forward/backward

@pytest.mark.parametrize("output_stride", [8, 16, 32])
def test_output_shapes_channels_and_finite(output_stride):
    model = ResNeSt50(output_stride=output_stride)
    model.eval()
    assert model.feat_channels == FEAT_CHANNELS
    with paddle.no_grad():
        feats = model(paddle.rand([1, 3, 64, 64]))
    assert len(feats) == 4
    assert [list(f.shape) for f in feats] == _expected_shapes(1, 64, 64, output_stride)
    assert [f.shape[1] for f in feats] == model.feat_channels
    for f in feats:
        assert np.isfinite(f.numpy()).all()


def test_odd_input_sizes_keep_shortcut_and_main_path_aligned():
    model = ResNeSt((1, 1, 1, 1), stem_width=8, output_stride=16)
    model.eval()
    with paddle.no_grad():
        feats = model(paddle.rand([1, 3, 63, 57]))
    assert [list(f.shape) for f in feats] == _expected_shapes(1, 63, 57, 16)


def test_every_parameter_receives_a_gradient():
    paddle.seed(0)
    model = ResNeSt50(output_stride=8)
    model.train()
    feats = model(paddle.rand([2, 3, 64, 64]))
    paddle.add_n([f.sum() for f in feats]).backward()
    trainable = [(n, p) for n, p in model.named_parameters() if not p.stop_gradient]
    assert len(trainable) > 0
    no_grad = [n for n, p in trainable if p.grad is None]
    assert no_grad == []
    not_finite = [n for n, p in trainable if not np.isfinite(p.grad.numpy()).all()]
    assert not_finite == []
    all_zero = [n for n, p in trainable if not np.any(p.grad.numpy())]
    assert all_zero == []


@pytest.mark.parametrize("radix, cardinality", [(2, 1), (2, 2), (1, 2)])
def test_split_attention_matches_numpy_reference(radix, cardinality):
    """Eq. of Sec. 3 of the ResNeSt paper: softmax over the radix splits of each cardinal group."""
    paddle.seed(3)
    channels = 8
    layer = SplitAttentionConv2D(8, channels, cardinality=cardinality, radix=radix)
    layer.eval()
    x = paddle.rand([2, 8, 5, 5])
    with paddle.no_grad():
        got = layer(x).numpy()
        u = paddle.nn.functional.relu(layer.bn0(layer.conv(x))).numpy()  # [N, R*C, H, W]
        splits = [u[:, r * channels:(r + 1) * channels] for r in range(radix)]
        s = paddle.to_tensor(sum(splits).mean(axis=(2, 3), keepdims=True))
        logits = layer.fc2(paddle.nn.functional.relu(layer.bn1(layer.fc1(s)))).numpy()
    n, width = x.shape[0], channels // cardinality
    # fc2's output is cardinal-major: channel (k, r, j) at (k * radix + r) * width + j.
    logits = logits.reshape(n, cardinality, radix, width)
    if radix > 1:
        e = np.exp(logits - logits.max(axis=2, keepdims=True))
        attention = e / e.sum(axis=2, keepdims=True)
    else:
        attention = 1.0 / (1.0 + np.exp(-logits))
    expected = np.zeros_like(splits[0])
    for r in range(radix):
        a = attention[:, :, r, :].reshape(n, channels, 1, 1)  # channel k * width + j
        expected += a * splits[r]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------ pretrained

def test_pretrained_round_trip(tmp_path, source_model):
    path = str(tmp_path / "resnest50.pdparams")
    paddle.save(source_model.state_dict(), path)
    loaded = ResNeSt50(output_stride=8, pretrained=path)
    _assert_same_weights(source_model, loaded)


def test_segmentation_checkpoint_backbone_prefix_is_stripped(tmp_path, source_model):
    state = {f"backbone.{k}": v for k, v in source_model.state_dict().items()}
    state["head.cls.weight"] = paddle.zeros([3, 256, 1, 1])
    path = str(tmp_path / "deeplab.pdparams")
    paddle.save(state, path)
    target = ResNeSt50(output_stride=32)
    report = load_resnest_pretrained(target, path)
    assert report.missing == [] and report.unexpected == []
    _assert_same_weights(source_model, target)


def test_load_reports_missing_unexpected_and_mismatched(tmp_path, source_model):
    state = dict(source_model.state_dict())
    del state["stem.conv1.weight"]
    state["layer1.0.bn1.weight"] = paddle.ones([3])
    state["extra.weight"] = paddle.ones([1])
    path = str(tmp_path / "partial.pdparams")
    paddle.save(state, path)
    report = load_resnest_pretrained(ResNeSt50(output_stride=32), path)
    assert report.missing == ["stem.conv1.weight"]
    assert report.unexpected == ["extra.weight"]
    assert report.mismatched == {"layer1.0.bn1.weight": ([3], [64])}


def test_load_rejects_missing_and_unrelated_files(tmp_path):
    model = ResNeSt((1, 1, 1, 1), stem_width=8)
    with pytest.raises(PSSLConfigError, match="cannot read weights .*absent.pdparams"):
        load_resnest_pretrained(model, str(tmp_path / "absent.pdparams"))
    path = str(tmp_path / "other.pdparams")
    paddle.save({"conv.weight": paddle.ones([1])}, path)
    with pytest.raises(PSSLConfigError, match=r"other.pdparams' do not fit the model \(ResNeSt\)"):
        load_resnest_pretrained(model, path)


# PaddleClas names, derived by hand from ppcls/arch/backbone/model_zoo/resnest.py: attribute
# paths (``model.state_dict()``) and, for static-graph exports, the ParamAttr names it sets.
_BN_TO_ATTR = {"weight": "scale", "bias": "offset", "_mean": "mean", "_variance": "variance"}


def _to_paddleclas_structured(key: str) -> str:
    m = re.fullmatch(r"stem\.(conv|bn)([123])\.(\w+)", key)
    if m:
        kind, i, p = m.groups()
        return f"stem.conv{i}._conv.weight" if kind == "conv" else f"stem.conv{i}._batch_norm.{p}"
    m = re.fullmatch(r"layer([1-4])\.(\d+)\.(.+)", key)
    s, b, rest = m.groups()
    inner = {
        "conv1.weight": "conv1._conv.weight",
        "conv2.conv.weight": "conv2.conv1._conv.weight",
        "conv2.fc1.weight": "conv2.conv2._conv.weight",
        "conv2.fc2.weight": "conv2.conv3.weight",
        "conv2.fc2.bias": "conv2.conv3.bias",
        "conv3.weight": "conv3._conv.weight",
        "downsample.conv.weight": "conv4.weight",
    }.get(rest)
    if inner is None:
        owner, p = rest.rsplit(".", 1)
        inner = {"bn1": "conv1._batch_norm", "conv2.bn0": "conv2.conv1._batch_norm",
                 "conv2.bn1": "conv2.conv2._batch_norm", "bn3": "conv3._batch_norm",
                 "downsample.bn": "_batch_norm"}[owner] + "." + p
    return f"layer{s}.layer{s}_bottleneck_{b}.{inner}"


def _to_paddleclas_param_attr(key: str) -> str:
    m = re.fullmatch(r"stem\.(conv|bn)([123])\.(\w+)", key)
    if m:
        kind, i, p = m.groups()
        return f"conv{i}_weight" if kind == "conv" else f"conv{i}_{_BN_TO_ATTR[p]}"
    s, b, rest = re.fullmatch(r"layer([1-4])\.(\d+)\.(.+)", key).groups()
    pre = f"layer{s}_bottleneck_{b}"
    convs = {"conv1.weight": f"{pre}_conv1_weight",
             "conv2.conv.weight": f"{pre}_splat_1_weights_weight",
             "conv2.fc1.weight": f"{pre}_splat_2_weights_weight",
             "conv2.fc2.weight": f"{pre}_splat_weights",
             "conv3.weight": f"{pre}_conv3_weight",
             "downsample.conv.weight": f"{pre}_weights"}
    if rest in convs:
        return convs[rest]
    owner, p = rest.rsplit(".", 1)
    bn = {"bn1": f"{pre}_conv1", "conv2.bn0": f"{pre}_splat_1_weights",
          "conv2.bn1": f"{pre}_splat_2_weights", "bn3": f"{pre}_conv3",
          "downsample.bn": f"{pre}_shortcut"}[owner]
    return f"{bn}_{_BN_TO_ATTR[p]}"


def _paddleclas_state(model: ResNeSt, scheme: str) -> Dict[str, paddle.Tensor]:
    state = {}
    for key, value in model.state_dict().items():
        if scheme == "structured":
            state[_to_paddleclas_structured(key)] = value
        elif not key.endswith("fc2.bias"):  # static-era exports predate fc2's bias
            state[_to_paddleclas_param_attr(key)] = value
    head = ("out.weight", "out.bias") if scheme == "structured" else ("fc_weights", "fc_offset")
    state[head[0]] = paddle.zeros([2048, 1000])
    state[head[1]] = paddle.zeros([1000])
    return state


@pytest.mark.parametrize("scheme", ["structured", "param_attr"])
def test_convert_paddleclas_names(source_model, scheme):
    state = _paddleclas_state(source_model, scheme)
    assert "layer1.layer1_bottleneck_0.conv2.conv1._conv.weight" in state or \
        "layer1_bottleneck_0_splat_1_weights_weight" in state
    assert is_paddleclas_resnest_state_dict(state)
    assert not is_paddleclas_resnest_state_dict(source_model.state_dict())
    converted = convert_paddleclas_resnest_state_dict(state)
    own = source_model.state_dict()
    expected_keys = set(own) if scheme == "structured" else {
        k for k in own if not k.endswith("fc2.bias")}
    assert set(converted) == expected_keys
    for key in converted:
        assert converted[key] is own[key], key


def test_pretrained_loads_paddleclas_checkpoint(tmp_path, source_model):
    path = str(tmp_path / "ResNeSt50_pretrained.pdparams")
    paddle.save(_paddleclas_state(source_model, "structured"), path)
    target = ResNeSt50(output_stride=32)
    report = load_resnest_pretrained(target, path)
    assert report.missing == [] and report.unexpected == [] and report.mismatched == {}
    _assert_same_weights(source_model, target)


# --------------------------------------------------------------------------- PaddleSeg

def test_deeplabv3_builds_from_config_dict_and_runs():
    cfg = {"type": "DeepLabV3", "num_classes": 3, "backbone_indices": [3],
           "backbone": {"type": "ResNeSt50", "output_stride": 8}}
    model = SegBuilder(config=None).build_component(cfg)
    assert isinstance(model, DeepLabV3) and isinstance(model.backbone, ResNeSt)
    model.eval()
    with paddle.no_grad():
        logits = model(paddle.rand([1, 3, 64, 64]))
    assert [list(t.shape) for t in logits] == [[1, 3, 64, 64]]
    assert np.isfinite(logits[0].numpy()).all()
