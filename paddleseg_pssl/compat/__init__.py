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

Every fix here is written for this project (no PaddleSeg code is copied), feature-detected
(a probe runs the *stock* code on a tiny input, or inspects it, and the fix is installed only
when the probe shows the failure, so a fixed PaddleSeg is left alone), installed by
:func:`paddleseg_pssl.compat.patching.apply` with the plugin's own changes
(``paddleseg_pssl.plugin.FIXES``) and covered by ``tests/compat/``. One module per patched area.

The one fix that is not conditional is ``calculate_area``: the vectorised (bincount)
version replaces the stock per-class loop always, because that loop is slow at the 1001
classes of PSSL pre-training (``benchmarks/bench_calculate_area.py``). It keeps the stock
return contract, and also removes the stock 0-D concatenation failure.
"""
from typing import Tuple

from paddleseg_pssl.compat import data_loader, deploy, losses, metrics, profiler, train_loop
from paddleseg_pssl.compat.data_loader import MULTI_PROCESS_ITER, SINGLE_PROCESS_ITER
from paddleseg_pssl.compat.losses import CE_POST_PROCESS, OHEM_FORWARD
from paddleseg_pssl.compat.metrics import CALCULATE_AREA, calculate_area
from paddleseg_pssl.compat.patching import Fix, is_patched, original
from paddleseg_pssl.compat.profiler import PROFILER_STEP
from paddleseg_pssl.compat.train_loop import LOSS_COMPUTATION, TRAIN

__all__ = ["CALCULATE_AREA", "CE_POST_PROCESS", "FIXES", "Fix", "LOSS_COMPUTATION",
           "MULTI_PROCESS_ITER", "OHEM_FORWARD", "PROFILER_STEP", "SINGLE_PROCESS_ITER", "TRAIN",
           "calculate_area", "is_patched", "original"]

#: Every compatibility fix, in the order they are probed and installed.
FIXES: Tuple[Fix, ...] = (metrics.FIX, train_loop.FIX, losses.CE_FIX, losses.OHEM_FIX,
                          profiler.FIX, data_loader.SINGLE_PROCESS_FIX,
                          data_loader.MULTI_PROCESS_FIX, deploy.GRAPH_FIX, deploy.MEMORY_FIX,
                          deploy.ONEDNN_FIX)
