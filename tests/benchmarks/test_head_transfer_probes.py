"""The head probes of docs/results.md (benchmarks/head_transfer_probes.py) change only what
they name."""
import sys

import numpy as np

from paddleseg_pssl.yaml_tree import read_yaml_tree
from tests.conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
import head_transfer_probes as probes  # noqa: E402

STATE = {
    "backbone.conv._batch_norm._mean": np.full(2, 3.0),
    "head.aspp.aspp_blocks.0._conv.weight": np.ones(2),
    "head.aspp.aspp_blocks.0._batch_norm._mean": np.full(2, 3.0),
    "head.aspp.aspp_blocks.0._batch_norm._variance": np.full(2, 5.0),
    "head.aspp.global_avg_pool.1._conv.weight": np.ones(2),
    "head.aspp.conv_bn_relu._conv.weight": np.ones(2),
}


def test_head_statistics_reset_to_a_fresh_layer_and_nothing_else_changes():
    out = probes.PROBES["head_bn_reset"].weights(STATE)
    assert (out["head.aspp.aspp_blocks.0._batch_norm._mean"] == 0).all()
    assert (out["head.aspp.aspp_blocks.0._batch_norm._variance"] == 1).all()
    for key in ("backbone.conv._batch_norm._mean", "head.aspp.aspp_blocks.0._conv.weight"):
        assert np.array_equal(out[key], STATE[key])


def test_block_reinit_probes_drop_only_their_block():
    projection = probes.PROBES["head_reinit_projection"].weights(STATE)
    assert set(STATE) - set(projection) == {"head.aspp.conv_bn_relu._conv.weight"}
    branches = probes.PROBES["head_reinit_branches"].weights(STATE)
    assert set(branches) == {"backbone.conv._batch_norm._mean",
                             "head.aspp.conv_bn_relu._conv.weight"}


def test_head_rate_probe_is_a_child_config_that_keeps_everything_else(tmp_path):
    base = REPO_ROOT / "configs" / "pssl" / "miniature" / "finetune.yml"
    child = probes.probe_config(str(base), "head_lr_x0.1", tmp_path / "probe.yml")
    merged, base_config = read_yaml_tree(child), read_yaml_tree(base)
    assert merged["optimizer"]["custom_cfg"] == [{"name": "head.aspp", "lr_mult": 0.1}]
    assert merged["model"] == base_config["model"]
    assert merged["optimizer"]["momentum"] == base_config["optimizer"]["momentum"]


def test_probes_that_keep_the_weights_fine_tune_the_checkpoint_itself(tmp_path):
    assert probes.probe_weights("ckpt.pdparams", "head_lr_x3", tmp_path / "x") == "ckpt.pdparams"


def test_frozen_feature_probe_trains_only_the_output_layer_of_every_init(tmp_path):
    base = REPO_ROOT / "configs" / "pssl" / "miniature" / "finetune.yml"
    child = probes.probe_config(str(base), "frozen_features", tmp_path / "probe.yml")
    frozen = {item["name"]: item["lr_mult"]
              for item in read_yaml_tree(child)["optimizer"]["custom_cfg"]}
    assert frozen == {"backbone": 0.0, "head.aspp": 0.0}
    assert set(probes.PROBES["frozen_features"].inits) == {"backbone", "pssl_backbone", "pssl"}
