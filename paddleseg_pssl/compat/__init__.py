"""Compatibility fixes that let PaddleSeg 2.8.0's stock engine and deploy path run on Paddle 3.x.

PSSL (arXiv 2207.03335) trains with PaddleSeg's own ``core.train`` and ``core.evaluate``;
PaddleSeg 2.8.0, the newest release, predates Paddle changes that break them: 0-D tensors from
full reductions (:mod:`.train_loop`, :mod:`.metrics`), type promotion between integer and float
tensors (:mod:`.losses`), ``paddle.utils.profiler`` gone (:mod:`.profiler`), a raising sample
hanging the ``DataLoader`` (:mod:`.data_loader`) and the deployment path on Paddle 3.3's graph
files and Paddle Inference (:mod:`.deploy`). Each module names the upstream reports.

Every fix is written for this project (no PaddleSeg code is copied), feature-detected (a probe
runs the *stock* code on a tiny input and the fix is installed only when it fails, so a fixed
PaddleSeg is left alone) and installed by :func:`.patching.apply` with the plugin's own changes
(``paddleseg_pssl.plugin.FIXES``). The exception is ``calculate_area``, replaced always: the
stock per-class loop is slow at PSSL's 1001 classes (``benchmarks/bench_calculate_area.py``).
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
