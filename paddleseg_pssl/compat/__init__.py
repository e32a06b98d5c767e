"""Compatibility fixes that let PaddleSeg 2.8.0's stock engine and deploy path run on Paddle 3.x.

PSSL (arXiv 2207.03335) pre-trains and fine-tunes with PaddleSeg's own ``core.train`` and
``core.evaluate``. PaddleSeg 2.8.0, the newest release on the registry, predates Paddle changes
that break that engine and its deployment path:

* **0-D tensors** (Paddle 2.5+). Full reductions (``paddle.mean``, ``paddle.sum``) return
  shape ``[]`` instead of ``[1]``; code that indexes ``x[0]`` or concatenates such values
  fails.
* **``paddle.utils.profiler``** (gone from Paddle 3.x), which ``--profiler_options`` calls
  through ``paddleseg.utils.train_profiler``; ported to ``paddle.profiler``
  (:mod:`paddleseg_pssl.compat.profiler`).
* **Loader errors.** ``paddle.io.DataLoader`` hangs (``num_workers=0``) or hides the error
  (``num_workers>0``) when a dataset sample raises (:mod:`paddleseg_pssl.compat.data_loader`):
  a fix of Paddle itself, since PaddleSeg's ``core.train`` iterates such a loader.
* **The deployment path** (Paddle 3.3's PIR graph files and Paddle Inference): PaddleSeg's
  ``deploy.yaml`` names ``model.pdmodel``, and ``deploy/python/infer.py``'s predictor settings
  fail (:mod:`paddleseg_pssl.compat.deploy`).
* **Type promotion** (Paddle 2.6+/3.x, Paddle PR #63842). Binary ops between an integer and
  a floating tensor raise ``TypeError: (InvalidType) Type promotion only support
  calculations between floating-point numbers ...`` instead of keeping the left dtype.

User reports: PaddleSeg issues #3373 and #3603, #3520 and #3616 (``l[0]`` in ``train.py``),
#3408 and #3556 (``calculate_area``); upstream fixed parts of this on its develop branch
(PR #3256 / #3356: concat -> stack, PR #3731: explicit casts), never in a 2.8 release.

Every fix here is

* written for this project (no PaddleSeg code is copied),
* feature-detected: a probe runs the *stock* code on a tiny input (or inspects it) and the
  fix is installed only when the probe shows the failure, so a fixed PaddleSeg is left
  alone,
* idempotent: :func:`apply` may be called any number of times,
* covered by ``tests/compat/``.

One module per patched area: :mod:`~paddleseg_pssl.compat.metrics`,
:mod:`~paddleseg_pssl.compat.train_loop`, :mod:`~paddleseg_pssl.compat.losses`,
:mod:`~paddleseg_pssl.compat.profiler`, :mod:`~paddleseg_pssl.compat.data_loader`,
:mod:`~paddleseg_pssl.compat.deploy`;
:mod:`~paddleseg_pssl.compat.patching` holds how a fix replaces its target. This module lists the fixes and applies them.

The one fix that is not conditional is ``calculate_area``: the vectorised (bincount)
version replaces the stock per-class loop always, because that loop is slow at the 1001
classes of PSSL pre-training (``benchmarks/bench_calculate_area.py``). It keeps the stock
return contract, and also removes the stock 0-D concatenation failure.

Usage::

    import paddleseg_pssl          # applies every fix
    from paddleseg_pssl import compat
    print(compat.applied_fixes())  # names of the fixes this PaddleSeg/Paddle needed
"""
import warnings
from typing import List, Tuple

from paddleseg_pssl.compat import data_loader, deploy, losses, metrics, profiler, train_loop
from paddleseg_pssl.compat.data_loader import MULTI_PROCESS_ITER, SINGLE_PROCESS_ITER
from paddleseg_pssl.compat.losses import CE_POST_PROCESS, OHEM_FORWARD
from paddleseg_pssl.compat.metrics import CALCULATE_AREA, calculate_area
from paddleseg_pssl.compat.patching import Fix, install, is_patched, original
from paddleseg_pssl.compat.profiler import PROFILER_STEP
from paddleseg_pssl.compat.train_loop import LOSS_COMPUTATION, TRAIN

__all__ = ["CALCULATE_AREA", "CE_POST_PROCESS", "Fix", "LOSS_COMPUTATION", "MULTI_PROCESS_ITER",
           "OHEM_FORWARD", "PROFILER_STEP", "SINGLE_PROCESS_ITER", "TRAIN", "applied_fixes",
           "apply", "available_fixes", "calculate_area", "is_patched", "original"]

#: Every fix, in the order :func:`apply` probes and installs them.
_FIXES: Tuple[Fix, ...] = (metrics.FIX, train_loop.FIX, losses.CE_FIX, losses.OHEM_FIX,
                           profiler.FIX, data_loader.SINGLE_PROCESS_FIX,
                           data_loader.MULTI_PROCESS_FIX, deploy.GRAPH_FIX, deploy.MEMORY_FIX,
                           deploy.ONEDNN_FIX)

#: Names of the fixes installed so far, in installation order.
_APPLIED: List[str] = []


def apply() -> Tuple[str, ...]:
    """Installs every fix whose probe shows the failure; safe to call repeatedly.

    A probe that itself crashes (e.g. a future PaddleSeg renamed the patched function)
    skips its fix with a warning instead of breaking ``import paddleseg_pssl``.

    Returns:
        Names of all fixes installed so far (same as :func:`applied_fixes`).
    """
    for fix in _FIXES:
        if fix.name in _APPLIED:
            continue
        try:
            needed = fix.is_needed()
        except Exception as error:  # noqa: BLE001 - report, do not break the import
            warnings.warn(f"paddleseg_pssl.compat: fix {fix.name!r} skipped, its probe of "
                          f"{fix.target} failed: {error!r}")
            continue
        if needed:
            install(fix.target, fix.replacement)
            _APPLIED.append(fix.name)
    return applied_fixes()


def applied_fixes() -> Tuple[str, ...]:
    """Names of the fixes :func:`apply` installed, in order (for the CLI to log)."""
    return tuple(_APPLIED)


def available_fixes() -> Tuple[Fix, ...]:
    """Every fix this module knows, installed or not, with its upstream reference."""
    return _FIXES
