"""The head probes of docs/results.md (benchmarks/head_transfer_probes.py) change only what
they name."""
import sys

import numpy as np

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
    out = probes.PROBES["head_bn_reset"](STATE)
    assert (out["head.aspp.aspp_blocks.0._batch_norm._mean"] == 0).all()
    assert (out["head.aspp.aspp_blocks.0._batch_norm._variance"] == 1).all()
    for key in ("backbone.conv._batch_norm._mean", "head.aspp.aspp_blocks.0._conv.weight"):
        assert np.array_equal(out[key], STATE[key])


def test_block_reinit_probes_drop_only_their_block():
    projection = probes.PROBES["head_reinit_projection"](STATE)
    assert set(STATE) - set(projection) == {"head.aspp.conv_bn_relu._conv.weight"}
    branches = probes.PROBES["head_reinit_branches"](STATE)
    assert set(branches) == {"backbone.conv._batch_norm._mean",
                             "head.aspp.conv_bn_relu._conv.weight"}
