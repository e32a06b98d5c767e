"""Tests for ``paddleseg_pssl.compat``: which fixes are needed, applied, and how probes judge.

Every test calls PaddleSeg through its own public names (``paddleseg.utils.metrics``,
``sys.modules['paddleseg.core.train']``, ``paddleseg.models.losses``, ``paddleseg.core``), so
that with ``compat.apply()`` a no-op each of them fails on this stack.
"""
import pytest

import paddleseg_pssl  # noqa: F401  (applies the fixes)
from paddleseg_pssl import compat
from paddleseg_pssl.compat import losses, patching, train_loop
from tests.compat.stack import NEEDS_STOCK, ON_0D_PADDLE, STOCK_28


def test_apply_is_idempotent():
    before = compat.applied_fixes()
    objects = [patching.current(fix.target) for fix in compat.available_fixes()]
    assert compat.apply() == before
    assert compat.apply() == before
    assert [patching.current(fix.target) for fix in compat.available_fixes()] == objects


def test_applied_fixes_are_installed_and_named():
    applied = compat.applied_fixes()
    assert len(set(applied)) == len(applied)
    for fix in compat.available_fixes():
        assert compat.is_patched(fix.target) == (fix.name in applied), fix.name
        assert fix.upstream and "#" in fix.upstream  # a PaddleSeg or Paddle issue


@pytest.mark.skipif(not (ON_0D_PADDLE and STOCK_28), reason=NEEDS_STOCK)
def test_every_fix_is_needed_on_this_stack():
    assert set(compat.applied_fixes()) == {fix.name for fix in compat.available_fixes()}


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

    broken = compat.Fix(name="test:crashing-probe", target=compat.CALCULATE_AREA,
                        upstream="none", is_needed=crash, replacement=compat.calculate_area)
    monkeypatch.setattr(compat, "_FIXES", compat._FIXES + (broken, ))
    with pytest.warns(UserWarning, match="crashing-probe"):
        applied = compat.apply()
    assert "test:crashing-probe" not in applied


def test_original_rejects_a_malformed_key():
    with pytest.raises(ValueError, match="module:attribute"):
        compat.original("paddleseg.utils.metrics.calculate_area")
