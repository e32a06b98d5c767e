"""Miniature classifiers: shapes, gradients, a short training run, the ensemble description."""
import json

import numpy as np
import paddle
import pytest

from paddleseg_pssl.miniature import classifiers as C
from paddleseg_pssl.miniature.classification_set import make_classification_set

FACTORIES = sorted(C.FACTORIES)


@pytest.mark.parametrize("factory", FACTORIES)
@pytest.mark.parametrize("size", [(64, 64), (64, 80), (48, 40)])
def test_any_input_size_and_finite_logits(factory, size):
    paddle.seed(0)
    model = C.build_classifier(factory, 7)
    model.eval()
    out = model(paddle.randn([2, 3, *size]))
    assert out.shape == [2, 7]
    assert bool(paddle.isfinite(out).all())


@pytest.mark.parametrize("factory", FACTORIES)
def test_every_parameter_gets_a_gradient(factory):
    paddle.seed(0)
    model = C.build_classifier(f"{C.MODULE}:{factory}", 5)
    loss = paddle.nn.functional.cross_entropy(model(paddle.randn([4, 3, 64, 64])),
                                              paddle.to_tensor([0, 1, 2, 3]))
    loss.backward()
    for name, p in model.named_parameters():
        if p.stop_gradient:  # BatchNorm running statistics are not trained
            continue
        assert p.grad is not None and bool(paddle.isfinite(p.grad).all()), name


def test_default_ensemble_has_five_members_of_three_architectures():
    assert len(C.DEFAULT_MEMBERS) >= 5
    assert len({m["factory"] for m in C.DEFAULT_MEMBERS}) >= 3
    assert len({m["name"] for m in C.DEFAULT_MEMBERS}) == len(C.DEFAULT_MEMBERS)
    assert C.BACKBONE_MEMBER in {m["name"] for m in C.DEFAULT_MEMBERS}


def test_unknown_arch_names_the_choices():
    with pytest.raises(ValueError, match="mini_vgg"):
        C.build_classifier("resnet9000", 3)


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny") / "cls"
    make_classification_set(root, num_classes=2, images_per_class=24, val_per_class=4, seed=0,
                            progress=False)
    return root


def test_short_training_run_learns(tiny_set, tmp_path):
    out = tmp_path / "m.pdparams"
    metrics = C.train_classifier("mini_vgg", tiny_set, out, epochs=4, seed=0, batch_size=16,
                                 progress=False)
    assert out.is_file() and out.with_suffix(".json").is_file()
    assert metrics["num_classes"] == 2 and metrics["val_accuracy"] is not None
    assert metrics["last_epoch_loss"] < metrics["first_epoch_loss"]
    assert np.isfinite(metrics["last_epoch_loss"])


def test_train_ensemble_writes_items_and_reuses_weights(tiny_set, tmp_path):
    members = [{"name": "r", "factory": "mini_resnet", "kwargs": {}, "seed_offset": 0}]
    items = C.train_ensemble(tiny_set, tmp_path / "ens", seed=0, members=members, epochs=1,
                             progress=False)
    assert [set(i) for i in items] == [{"name", "arch", "weights", "input_size", "mean", "std",
                                        "resize", "kwargs"}]
    item = items[0]
    assert item["arch"] == "paddleseg_pssl.miniature.classifiers:mini_resnet"
    assert item["resize"] == "keep_aspect"
    with open(tmp_path / "ens" / "ensemble.json", encoding="utf-8") as f:
        assert json.load(f) == items
    mtime = (tmp_path / "ens" / "r.pdparams").stat().st_mtime_ns
    assert C.train_ensemble(tiny_set, tmp_path / "ens", seed=0, members=members, epochs=1,
                            progress=False) == items
    assert (tmp_path / "ens" / "r.pdparams").stat().st_mtime_ns == mtime
    # the item builds and loads as the generator would: module:factory(num_classes=, **kwargs)
    model = C.build_classifier(item["arch"], 2, **item["kwargs"])
    model.set_state_dict(paddle.load(item["weights"]))
    # ... and the generator's own parser accepts the items as they are
    from paddleseg_pssl.consensus.ensemble import parse_ensemble

    (spec,) = parse_ensemble(items, 2)
    assert spec.arch == item["arch"] and spec.weights == item["weights"]


def test_bucket_size_keeps_aspect():
    assert C.bucket_size(64, 80, 64) == (64, 80)
    assert C.bucket_size(80, 64, 64) == (80, 64)
    assert C.bucket_size(375, 500, 64) == (64, 80)
    assert C.bucket_size(10, 1000, 64) == (64, 128)


@pytest.mark.parametrize("factory", FACTORIES)
def test_downsample_modes_share_parameters(factory):
    """'stride' and 'blur' differ only in parameter-free layers and strides."""
    shapes = []
    for mode in C.DOWNSAMPLE_MODES:
        model = C.build_classifier(factory, 4, downsample=mode)
        shapes.append({k: tuple(v.shape) for k, v in model.state_dict().items()})
    assert shapes[0] == shapes[1]
    with pytest.raises(ValueError, match="downsample"):
        C.build_classifier(factory, 4, downsample="maxpool")


@pytest.mark.parametrize("factory", FACTORIES)
def test_binomial_downsampling_has_no_gradient_subgrid(factory):
    """Stride-2 convolutions and max pooling leave a sub-grid of input pixels with a small
    share of the input gradient (checkerboard explanations); binomial blur pooling does not
    (measured at this initialisation: min/max parity share 0.42-0.44 stride, 0.58-0.66 blur,
    0.95-0.98 binomial)."""
    paddle.seed(0)
    model = C.build_classifier(factory, 4, downsample="binomial")
    model.eval()
    x = paddle.randn([1, 3, 64, 64])
    x.stop_gradient = False
    (g,) = paddle.grad([model(x)[0, 1]], [x])
    g = np.abs(g.numpy()).sum(axis=(0, 1))
    parity = [g[i::2, j::2].mean() for i in (0, 1) for j in (0, 1)]
    assert min(parity) > 0.8 * max(parity)


def test_default_members_name_their_downsampling():
    for member in C.DEFAULT_MEMBERS:
        assert member["kwargs"].get("downsample") in C.DOWNSAMPLE_MODES, member["name"]


def test_parallel_training_matches_sequential(tiny_set, tmp_path):
    members = [{"name": "v", "factory": "mini_vgg", "kwargs": {"width": 8}, "seed_offset": 0},
               {"name": "m", "factory": "mini_mobilenet", "kwargs": {"width": 8},
                "seed_offset": 1, "train": {"learning_rate": 1e-2}}]
    seq = C.train_ensemble(tiny_set, tmp_path / "seq", members=members, epochs=1,
                           progress=False, workers=1)
    par = C.train_ensemble(tiny_set, tmp_path / "par", members=members, epochs=1,
                           progress=False, workers=2)
    assert [i["name"] for i in par] == ["v", "m"]
    for a, b in zip(seq, par):
        wa, wb = paddle.load(a["weights"]), paddle.load(b["weights"])
        assert set(wa) == set(wb)
        for key in wa:
            np.testing.assert_allclose(wa[key].numpy(), wb[key].numpy(), rtol=1e-4, atol=1e-5)
