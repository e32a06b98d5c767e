"""Fix for ``--profiler_options``: PaddleSeg's profiler step ported to ``paddle.profiler``.

PaddleSeg 2.8.0's ``add_profiler_step`` calls ``paddle.utils.profiler``, gone from Paddle 3.x.
The port keeps its options (``batch_range``, ``state``, ``sorted_key``, ``profile_path``,
``exit_on_finished``); ``sorted_key`` calls sorts by total (``paddle.profiler`` cannot sort by
calls) and ``tracer_option`` has no counterpart (operator detail is always recorded).
"""
import inspect
import os
import sys
from typing import Dict, Optional

import paddle
import paddle.profiler as profiler
from paddleseg.utils.train_profiler import ProfilerOptions

from paddleseg_pssl.compat.patching import Fix, original

#: The replaced function.
PROFILER_STEP = "paddleseg.utils.train_profiler:add_profiler_step"

#: PaddleSeg's ``sorted_key`` words -> the summary order of ``paddle.profiler``.
SORTED_KEYS = {"total": profiler.SortedKeys.CPUTotal, "calls": profiler.SortedKeys.CPUTotal,
               "max": profiler.SortedKeys.CPUMax, "min": profiler.SortedKeys.CPUMin,
               "ave": profiler.SortedKeys.CPUAvg}
#: ``state`` values that ask for the GPU to be traced (only when Paddle has CUDA).
GPU_STATES = ("GPU", "All")

#: Progress of the one profiled run of this process (PaddleSeg keeps the same as globals).
_STATE: Dict[str, object] = {"step": 0, "options": None, "profiler": None}


def _targets(state: str) -> list:
    targets = [profiler.ProfilerTarget.CPU]
    if state in GPU_STATES and paddle.is_compiled_with_cuda():
        targets.append(profiler.ProfilerTarget.GPU)
    return targets


def _keep_trace(_profiler: profiler.Profiler) -> None:
    """Nothing on stop (the default writes ./profiler_log/): we export to ``profile_path``."""


def add_profiler_step(options_str: Optional[str] = None) -> None:
    """Count one training step; start, step or stop ``paddle.profiler`` as the options say."""
    if options_str is None:
        return
    if _STATE["options"] is None:
        _STATE["options"] = ProfilerOptions(options_str)
    options = _STATE["options"]
    start, end = options["batch_range"][:2]
    step = _STATE["step"]
    running = _STATE["profiler"]
    if step == start:
        running = profiler.Profiler(targets=_targets(options["state"]),
                                    on_trace_ready=_keep_trace)
        running.start()
        _STATE["profiler"] = running
    elif step == end and running is not None:
        running.stop()
        running.summary(sorted_by=SORTED_KEYS.get(options["sorted_key"],
                                                  profiler.SortedKeys.CPUTotal))
        path = options["profile_path"]
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        running.export(path=path, format="json")
        _STATE["profiler"] = None
        if options["exit_on_finished"]:
            sys.exit(0)
    elif running is not None:
        running.step()
    _STATE["step"] = step + 1


def reset() -> None:
    """Forget the step count and options, so a new run in this process profiles again."""
    running = _STATE["profiler"]
    if running is not None:
        running.stop()
    _STATE.update(step=0, options=None, profiler=None)


def stock_is_broken(stock_step) -> bool:
    """True when ``stock_step`` calls ``paddle.utils.profiler``, which this Paddle lacks."""
    try:
        uses_old_api = "paddle.utils.profiler" in inspect.getsource(stock_step)
    except (OSError, TypeError):
        uses_old_api = True  # unreadable source: judge by the API alone
    return uses_old_api and not hasattr(paddle.utils, "profiler")


FIX = Fix(name="utils.train_profiler.add_profiler_step:paddle.profiler",
          upstream="PaddleSeg #3312 (develop moved it to paddle.profiler; 2.8.0 still calls the "
          "paddle.utils.profiler gone from Paddle 3.x)",
          is_needed=lambda: stock_is_broken(original(PROFILER_STEP)),
          patches={PROFILER_STEP: add_profiler_step})
