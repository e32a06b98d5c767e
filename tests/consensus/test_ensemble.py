"""Ensemble specs: parsing errors, building, weights, module:factory, the 15-model config."""
import hashlib
import pathlib

import numpy as np
import paddle
import pytest
import yaml

from paddleseg_pssl.consensus.explain.classifier_loading import (ClassifierBuildError,
                                                                 build_classifier, weights_checksum)
from paddleseg_pssl.consensus.explain.ensemble import (ClassifierSpec, EnsembleConfigError,
                                                       parse_ensemble)

CONFIG_15 = (pathlib.Path(__file__).resolve().parents[2]
             / "configs" / "pssl" / "generate" / "imagenet_15_models.yml")
HERE = __name__  # importable as tests.consensus.test_ensemble


# ---- factories for the module:factory path ---------------------------------------------------

class TinyNet(paddle.nn.Layer):
    def __init__(self, num_classes: int = 5, width: int = 4):
        super().__init__()
        self.conv = paddle.nn.Conv2D(3, width, 3, padding=1)
        self.pool = paddle.nn.AdaptiveAvgPool2D(1)
        self.fc = paddle.nn.Linear(width, num_classes)

    def forward(self, x):
        return self.fc(self.pool(paddle.nn.functional.relu(self.conv(x))).flatten(1))


def tiny_net(num_classes: int = 5, width: int = 4):
    return TinyNet(num_classes, width)


def tiny_net_class_num(class_num: int = 5):
    """PaddleClas spells the class count ``class_num``."""
    return TinyNet(class_num)


def tiny_net_seven():
    """Ignores the class count: always 7 outputs."""
    return TinyNet(7)


class WithAux(TinyNet):
    def forward(self, x):
        out = super().forward(x)
        return [out, out * 0]


def tiny_net_aux(num_classes: int = 5):
    return WithAux(num_classes)


def not_a_layer(num_classes: int = 5):
    return object()


# ---- parsing ------------------------------------------------------------------------------

def test_parse_defaults_and_shorthand():
    specs = parse_ensemble(["resnet18", {"arch": f"{HERE}:tiny_net", "kwargs": {"width": 2},
                                         "resize": "square", "input_size": 48,
                                         "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}], 5)
    assert specs[0] == ClassifierSpec(name="resnet18", arch="resnet18", num_classes=5)
    assert specs[1].name == "tiny_net" and specs[1].kwargs == {"width": 2}
    assert specs[1].mean == (0.5, 0.5, 0.5) and specs[1].input_size == 48
    assert specs[1].to_dict()["std"] == [0.25, 0.25, 0.25]


@pytest.mark.parametrize("cfg, match", [
    ([], "non-empty list"),
    ({"arch": "resnet18"}, "non-empty list"),
    ([{"name": "x"}], r"ensemble\[0\] has no 'arch'"),
    ([{"arch": "resnet5"}], r"ensemble\[0\]\.arch.*close matches: \['resnet50'"),
    ([{"arch": "resnet18"}, {"arch": "resnet18"}], r"ensemble\[1\]\.name 'resnet18' is already"),
    ([{"arch": "resnet18", "weigths": "x"}], r"unknown key 'weigths'; did you mean 'weights'"),
    ([{"arch": "resnet18", "num_classes": 5}], "class count comes from the dataset"),
    ([{"arch": "resnet18", "weights": "/nonexistent/r18.pdparams"}],
     r"ensemble\[0\]\.weights: file '/nonexistent/r18.pdparams' does not exist"),
    ([{"arch": "resnet18", "pretrained": "yes"}], "pretrained must be true or false"),
    ([{"arch": "resnet18", "mean": [124, 116, 104]}], "0..255 scale"),
    ([{"arch": "resnet18", "std": [0.2, 0.2]}], "list of 3 numbers"),
    ([{"arch": "resnet18", "std": [0.2, 0.0, 0.2]}], "std must be positive"),
    ([{"arch": "resnet18", "resize": "crop"}], "resize must be one of"),
    ([{"arch": "resnet18", "input_size": 8}], "input_size must be an integer >= 16"),
    ([{"arch": "resnet18", "kwargs": {"num_classes": 3}}], "must not set 'num_classes'"),
    ([{"arch": "no_such_module_xyz:f"}], "cannot be imported"),
    ([{"arch": f"{HERE}:tiny_nett"}], r"has no callable 'tiny_nett'.*'tiny_net'"),
    ([{"arch": "a:"}], "not of the form 'module:factory'"),
])
def test_parse_errors_name_the_entry_key_and_fix(cfg, match):
    with pytest.raises(EnsembleConfigError, match=match):
        parse_ensemble(cfg, num_classes=5)


@pytest.mark.parametrize("cfg, key", [
    ([], "ensemble"),
    ([{"name": "x"}], "ensemble[0]"),
    ([{"arch": "resnet5"}], "ensemble[0].arch"),
    ([{"arch": "resnet18"}, {"arch": "resnet18"}], "ensemble[1].name"),
    ([{"arch": "resnet18", "weights": "/nonexistent/r18.pdparams"}], "ensemble[0].weights"),
    ([{"arch": "resnet18", "mean": [124, 116, 104]}], "ensemble[0].mean"),
    ([{"arch": "resnet18", "kwargs": {"num_classes": 3}}], "ensemble[0].kwargs"),
])
def test_parse_errors_carry_the_config_key(cfg, key):
    with pytest.raises(EnsembleConfigError) as err:
        parse_ensemble(cfg, num_classes=5)
    assert err.value.key == key


def test_require_weights_and_conflicts(tmp_path):
    with pytest.raises(EnsembleConfigError, match="neither weights nor pretrained"):
        parse_ensemble([{"arch": "resnet18"}], 5, require_weights=True)
    w = tmp_path / "w.pdparams"
    w.write_bytes(b"x")
    with pytest.raises(EnsembleConfigError, match="both weights"):
        parse_ensemble([{"arch": "resnet18", "weights": str(w), "pretrained": True}], 5)
    with pytest.raises(EnsembleConfigError, match="num_classes"):
        parse_ensemble([{"arch": "resnet18"}], num_classes=1)


# ---- building ------------------------------------------------------------------------------

def _spec(arch, **kw):
    return parse_ensemble([dict(arch=arch, **kw)], num_classes=5)[0]


def test_build_is_frozen_eval_and_checked():
    model = build_classifier(_spec(f"{HERE}:tiny_net"))
    assert not model.training
    assert all(p.stop_gradient for p in model.parameters())
    assert model(paddle.zeros([2, 3, 40, 24])).shape == [2, 5]


def test_output_size_mismatch_names_model_and_sizes():
    with pytest.raises(ClassifierBuildError,
                       match=r"model 'tiny_net_seven'.*\[1, 7\].*expected \[1, 5\]"):
        build_classifier(_spec(f"{HERE}:tiny_net_seven"))


def test_class_num_spelling_tuple_outputs_and_non_layers():
    assert build_classifier(_spec(f"{HERE}:tiny_net_class_num"))(
        paddle.zeros([1, 3, 16, 16])).shape == [1, 5]
    aux = build_classifier(_spec(f"{HERE}:tiny_net_aux"))
    assert aux(paddle.zeros([1, 3, 16, 16])).shape == [1, 5]  # main output only
    with pytest.raises(ClassifierBuildError, match="expected a paddle.nn.Layer"):
        build_classifier(_spec(f"{HERE}:not_a_layer"))
    with pytest.raises(ClassifierBuildError, match="takes no 'pretrained'"):
        build_classifier(_spec(f"{HERE}:tiny_net_seven", pretrained=True))


def test_weights_round_trip_and_checksum(tmp_path):
    paddle.seed(3)
    source = paddle.vision.models.resnet18(pretrained=False, num_classes=5)
    source.eval()
    path = tmp_path / "r18.pdparams"
    paddle.save(source.state_dict(), str(path))
    spec = _spec("resnet18", weights=str(path))
    paddle.seed(4)  # a different random init, overwritten by the weights
    model = build_classifier(spec, check_size=32)
    x = paddle.to_tensor(np.random.RandomState(0).randn(2, 3, 32, 32).astype("float32"))
    np.testing.assert_allclose(model(x).numpy(), source(x).numpy(), rtol=1e-5, atol=1e-6)
    assert weights_checksum(spec) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert weights_checksum(_spec("resnet18")) is None


def test_ill_fitting_or_missing_weights(tmp_path):
    other = paddle.vision.models.resnet18(pretrained=False, num_classes=7)
    path = tmp_path / "r18_7.pdparams"
    paddle.save(other.state_dict(), str(path))
    with pytest.raises(ClassifierBuildError, match=r"shape mismatches.*fc\.weight"):
        build_classifier(_spec("resnet18", weights=str(path)), check_size=32)
    junk = tmp_path / "junk.pdparams"
    junk.write_bytes(b"not a state dict")
    with pytest.raises(ClassifierBuildError, match="cannot read weights"):
        build_classifier(_spec("resnet18", weights=str(junk)), check_size=32)
    gone = ClassifierSpec(name="r", arch="resnet18", weights=str(tmp_path / "gone.pdparams"),
                          num_classes=5)
    with pytest.raises(ClassifierBuildError, match="gone.pdparams' does not exist"):
        build_classifier(gone)


# ---- the shipped 15-model ImageNet config ----------------------------------------------------

def test_15_model_config_parses_and_builds_without_weights():
    with open(CONFIG_15) as f:
        cfg = yaml.safe_load(f)
    entries = cfg["ensemble"]
    assert len(entries) == 15
    assert all(e.get("pretrained") is True and e.get("weights") is None for e in entries)
    offline = [dict(e, pretrained=False) for e in entries]
    specs = parse_ensemble(offline, num_classes=1000)
    assert len({s.name for s in specs}) == 15
    assert {s.name: s.input_size for s in specs if s.resize == "square"} == {
        "googlenet": 224, "inception_v3": 299}
    paddle.seed(0)
    for spec in specs:
        # keep_aspect nets are checked on a small input (fast); square ones at their size
        model = build_classifier(spec, check_size=None if spec.resize == "square" else 64)
        assert all(p.stop_gradient for p in model.parameters()), spec.name
        del model


def test_weights_dir_replaces_download_for_entries_without_weights(tmp_path):
    """Offline use of a shipped `pretrained: true` ensemble: one folder of <name>.pdparams."""
    (tmp_path / "resnet18.pdparams").write_bytes(b"x")
    explicit = tmp_path / "mine.pdparams"
    explicit.write_bytes(b"y")
    specs = parse_ensemble([{"arch": "resnet18", "pretrained": True},
                            {"arch": "resnet34", "name": "r34", "weights": str(explicit)}],
                           5, require_weights=True, weights_dir=str(tmp_path))
    assert specs[0].weights == str(tmp_path / "resnet18.pdparams")
    assert specs[0].pretrained is False
    assert specs[1].weights == str(explicit)
    with pytest.raises(EnsembleConfigError, match="resnet50.pdparams"):
        parse_ensemble([{"arch": "resnet50", "pretrained": True}], 5, weights_dir=str(tmp_path))
