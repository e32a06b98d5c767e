"""Tests for ``paddleseg_pssl.compat``: which fixes are needed, applied, and how probes judge.

Every test calls PaddleSeg through its own public names (``paddleseg.utils.metrics``,
``sys.modules['paddleseg.core.train']``, ``paddleseg.models.losses``, ``paddleseg.core``), so
that with the fixes not installed each of them fails on this stack.
"""
import pytest

import paddleseg_pssl  # noqa: F401  (applies the fixes)
from paddleseg_pssl import compat, plugin
from paddleseg_pssl.compat import losses, patching, train_loop
from tests.compat.stack import NEEDS_STOCK, ON_0D_PADDLE, STOCK_28


def _objects():
    return [patching.current(key) for fix in plugin.FIXES for key in fix.patches]


def test_apply_is_idempotent():
    before, objects = plugin.applied_fixes(), _objects()
    assert plugin.activate() == before
    assert plugin.activate() == before
    assert _objects() == objects


def test_applied_fixes_are_installed_and_named():
    applied = plugin.applied_fixes()
    assert len(set(applied)) == len(applied)
    for fix in plugin.FIXES:
        for key in fix.patches:
            assert compat.is_patched(key) == (fix.name in applied), fix.name
    for fix in compat.FIXES:
        assert fix.upstream and "#" in fix.upstream  # a PaddleSeg or Paddle issue


@pytest.mark.skipif(not (ON_0D_PADDLE and STOCK_28), reason=NEEDS_STOCK)
def test_every_fix_is_needed_on_this_stack():
    assert set(plugin.applied_fixes()) == {fix.name for fix in plugin.FIXES}


@pytest.mark.skipif(not (ON_0D_PADDLE and STOCK_28), reason=NEEDS_STOCK)
def test_probes_detect_the_stock_failures():
    stock_train = compat.original(compat.TRAIN)
    assert train_loop.probe_loss_logging(compat.original(compat.LOSS_COMPUTATION), stock_train)
    assert losses.probe_ce_post_process(compat.original(compat.CE_POST_PROCESS))
    assert losses.probe_ohem_forward(compat.original(compat.OHEM_FORWARD))


def test_probes_step_aside_for_working_code():
    assert not losses.probe_ce_post_process(losses.ce_post_process_loss)
    assert not losses.probe_ohem_forward(losses.ohem_forward)
    assert not train_loop.probe_loss_logging(train_loop.loss_computation_1d,
                                          compat.original(compat.TRAIN))

    def train_without_indexing(loss_list):
        return [float(value) for value in loss_list]

    assert not train_loop.probe_loss_logging(compat.original(compat.LOSS_COMPUTATION),
                                          train_without_indexing)


def test_apply_skips_a_crashing_probe_with_a_warning(monkeypatch):
    def crash():
        raise AttributeError("renamed upstream")

    broken = compat.Fix(name="test:crashing-probe", upstream="none", is_needed=crash,
                        patches={compat.CALCULATE_AREA: compat.calculate_area})
    monkeypatch.setattr(plugin, "FIXES", plugin.FIXES + (broken, ))
    with pytest.warns(UserWarning, match="crashing-probe"):
        applied = plugin.activate()
    assert "test:crashing-probe" not in applied


def test_original_rejects_a_malformed_key():
    with pytest.raises(ValueError, match="module:attribute"):
        compat.original("paddleseg.utils.metrics.calculate_area")
