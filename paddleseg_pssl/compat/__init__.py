"""Fixes that let PaddleSeg 2.8.0's stock engine and deploy path run on Paddle 3.x.

0-D reductions (:mod:`.train_loop`, :mod:`.metrics`), integer/float type promotion
(:mod:`.losses`), ``paddle.utils.profiler`` gone (:mod:`.profiler`), a raising sample hanging
the ``DataLoader`` (:mod:`.data_loader`), Paddle 3.3's graph files and Inference (:mod:`.deploy`).
Each fix is our own code, installed by :func:`.patching.apply` only when a probe of the *stock*
code on a tiny input fails (a fixed PaddleSeg is left alone); ``calculate_area`` is replaced
always, for speed at 1001 classes.
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
