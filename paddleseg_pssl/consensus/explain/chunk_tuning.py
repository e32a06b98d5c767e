"""The chunk size of ``explainer.batch_size: auto``, measured per model (arXiv 2207.03335, 3.2).

How many noise samples one forward + input-backward should carry depends on the architecture,
the resolution and the device, so ``auto`` times it (:func:`tune_chunk_size`) on the first
input of each (model, resolution, device). The choice changes speed only: every chunking adds
the same per-sample gradients in the same order (:mod:`.interpreter`), so labels do not.
"""
from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
from typing import Callable, Dict, List, Optional, Tuple

logger = logging.getLogger("paddleseg_pssl.generate")

#: Timed repetitions per candidate after one warm-up call; the fastest counts (least disturbed).
TIMING_REPS: int = 3
#: Relative gain per noise sample a larger chunk needs to be chosen (timing noise of a shared
#: machine must not pick a size that is only as fast; larger chunks also hold more memory).
MIN_GAIN: float = 0.05
#: Memory cap of a candidate: bytes of its noisy float32 input (activations are a multiple).
MAX_CHUNK_INPUT_BYTES: int = 256 * 2 ** 20
#: Resolutions whose pixel counts fall in one bucket of this ratio share a choice.
RESOLUTION_BUCKET_RATIO: float = 2.0 ** 0.5
#: Error texts by which Paddle reports an exhausted device memory (a candidate beyond the cap).
OUT_OF_MEMORY_MARKERS: Tuple[str, ...] = ("out of memory", "ResourceExhausted", "Out of memory")


@dataclasses.dataclass(frozen=True)
class ChunkKey:
    """What a chunk-size choice is valid for within a run."""

    model_id: int     # id() of the classifier object
    resolution: int   # :func:`resolution_bucket` of the model input
    device: str       # Paddle's device string


@dataclasses.dataclass
class ChunkChoice:
    """A measured chunk size and what it was chosen from."""

    batch_size: int
    seconds_per_sample: Dict[int, float]  # candidate -> fastest timed seconds per noise sample
    tuning_seconds: float                 # wall time of the whole measurement
    input_hw: Tuple[int, int]             # the input the measurement ran on

    def to_dict(self) -> Dict[str, object]:
        """JSON-friendly record (for the manifest and logs)."""
        return {"batch_size": self.batch_size, "input_hw": list(self.input_hw),
                "tuning_s": round(self.tuning_seconds, 3),
                "ms_per_sample": {str(k): round(1000.0 * v, 3)
                                  for k, v in self.seconds_per_sample.items()}}


def resolution_bucket(height: int, width: int) -> int:
    """The bucket of an input's pixel count on a geometric grid of
    :data:`RESOLUTION_BUCKET_RATIO` (224 x 299 and 224 x 336 share one)."""
    return int(math.floor(math.log(max(1, height * width)) / math.log(RESOLUTION_BUCKET_RATIO)))


def candidate_sizes(n_samples: int, sample_bytes: int,
                    max_bytes: int = MAX_CHUNK_INPUT_BYTES) -> List[int]:
    """Chunk sizes to try: 1, 2, 4, ... up to ``n_samples`` and the memory cap, with
    ``n_samples`` itself when it fits (a single chunk)."""
    limit = max(1, min(int(n_samples), int(max_bytes) // max(1, int(sample_bytes))))
    sizes, size = [], 1
    while size <= limit:
        sizes.append(size)
        size *= 2
    if sizes[-1] != limit and limit == n_samples:
        sizes.append(limit)
    return sizes


def tune_chunk_size(run_chunk: Callable[[int], None], candidates: List[int],
                    input_hw: Tuple[int, int], reps: int = TIMING_REPS,
                    clock: Callable[[], float] = time.perf_counter) -> ChunkChoice:
    """Time ``run_chunk(size)`` (one forward + input-backward of ``size`` noise samples) for the
    candidates in increasing order, each after one warm-up run and in turn with the best size
    so far (so load from other processes affects both alike); it replaces the best when faster
    per sample by :data:`MIN_GAIN`. Stops at the first candidate that does not, or that runs out
    of memory. A single candidate runs nothing: at low n timing costs more than an image."""
    if len(candidates) == 1:
        return ChunkChoice(batch_size=candidates[0], seconds_per_sample={}, tuning_seconds=0.0,
                           input_hw=tuple(input_hw))
    start = clock()
    per_sample: Dict[int, float] = {}

    def timed(size: int) -> None:
        t0 = clock()
        run_chunk(size)
        seconds = (clock() - t0) / size
        per_sample[size] = min(seconds, per_sample.get(size, seconds))

    best = candidates[0]
    run_chunk(best)  # warm-up: allocations, kernel selection for this shape
    for size in candidates[1:]:
        try:
            run_chunk(size)
            for _ in range(reps):
                timed(best)
                timed(size)
        except Exception as exc:  # noqa: BLE001 - only memory exhaustion ends the search quietly
            if not (isinstance(exc, MemoryError)
                    or any(m in str(exc) for m in OUT_OF_MEMORY_MARKERS)):
                raise
            break
        if per_sample[size] > per_sample[best] * (1.0 - MIN_GAIN):
            break
        best = size
    return ChunkChoice(batch_size=best, seconds_per_sample=per_sample,
                       tuning_seconds=clock() - start, input_hw=tuple(input_hw))


class ChunkSizeCache:
    """The chunk sizes measured within a run, per :class:`ChunkKey` (thread-safe)."""

    def __init__(self) -> None:
        self._choices: Dict[ChunkKey, ChunkChoice] = {}
        self._names: Dict[int, str] = {}
        self._lock = threading.Lock()

    def name_models(self, names: Dict[int, str]) -> None:
        """Name models (id -> name) in the log and in :meth:`records`."""
        with self._lock:
            self._names.update(names)

    def get(self, key: ChunkKey) -> Optional[ChunkChoice]:
        with self._lock:
            return self._choices.get(key)

    def put(self, key: ChunkKey, choice: ChunkChoice, model_label: str = "") -> None:
        """Record (and log) a measured choice."""
        with self._lock:
            self._choices[key] = choice
        logger.info("batch_size auto: %s at %dx%d on %s -> %d noise samples per chunk "
                    "(ms per sample %s; measured in %.2f s)",
                    self._names.get(key.model_id, model_label or str(key.model_id)),
                    choice.input_hw[0], choice.input_hw[1], key.device, choice.batch_size,
                    choice.to_dict()["ms_per_sample"], choice.tuning_seconds)

    def records(self, names: Optional[Dict[int, str]] = None) -> List[Dict[str, object]]:
        """Every choice as a JSON-friendly dict, models named by ``names`` (id -> name)."""
        with self._lock:
            items = list(self._choices.items())
            names = {**self._names, **(names or {})}
        return [dict(model=names.get(k.model_id, str(k.model_id)), device=k.device,
                     resolution_bucket=k.resolution, **c.to_dict()) for k, c in items]


#: The cache of interpreters built without one (e.g. one per call by InterpretDL's
#: ``ConsensusInterpreter``), so that they measure once per process, not once per call.
SHARED_CACHE = ChunkSizeCache()
