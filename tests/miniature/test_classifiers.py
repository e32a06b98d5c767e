"""Miniature classifier training: a short run learns, the ensemble description, reuse, workers."""
import json

import numpy as np
import paddle
import pytest

from paddleseg_pssl.miniature import classifiers as C
from paddleseg_pssl.miniature.classification_set import make_classification_set
from paddleseg_pssl.models.backbones.mini_resnet import DOWNSAMPLE_MODES


def test_default_ensemble_has_five_members_of_three_architectures():
    assert len(C.DEFAULT_MEMBERS) >= 5
    assert len({m["factory"] for m in C.DEFAULT_MEMBERS}) >= 3
    assert len({m["name"] for m in C.DEFAULT_MEMBERS}) == len(C.DEFAULT_MEMBERS)
    assert C.BACKBONE_MEMBER in {m["name"] for m in C.DEFAULT_MEMBERS}


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
    from paddleseg_pssl.consensus.explain.ensemble import parse_ensemble

    (spec,) = parse_ensemble(items, 2)
    assert spec.arch == item["arch"] and spec.weights == item["weights"]


def test_default_members_name_their_downsampling():
    for member in C.DEFAULT_MEMBERS:
        assert member["kwargs"].get("downsample") in DOWNSAMPLE_MODES, member["name"]


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
