"""The per-image loop of PSSL generation (arXiv 2207.03335, Section 3; Consensus, 2109.00707).

For every image of this rank's slice that no earlier run finished::

    load (RGB; refused unless the training reader reads it at the same size)
      -> resize to the explanation resolution (short side 224, aspect kept)
      -> for each classifier: explain the image's own class (``explainer:``)
      -> per-model smoothing and normalisation (``consensus:``) -> resize to the label size
      -> mean (Eq. 1) -> deciles (Eq. 2) -> PSSLStore

Decoding runs in ``num_workers`` threads ahead; label maths and writing in one writer thread,
the only code touching the store and the counts.
"""
import collections
import concurrent.futures
import dataclasses
import logging
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
from tqdm import tqdm

from paddleseg_pssl import pssl_format
from paddleseg_pssl.consensus import label_maths
from paddleseg_pssl.consensus.explain import preprocess
from paddleseg_pssl.consensus.run import fail_fast, sharding
from paddleseg_pssl.consensus.run.image_source import ImageItem
from paddleseg_pssl.consensus.run.stage_profile import StageProfile, format_report
from paddleseg_pssl.consensus.run.startup import Context
from paddleseg_pssl.consensus.store.label_writer import LabelWriter
from paddleseg_pssl.consensus.store.pssl_store import PSSLStore

logger = logging.getLogger("paddleseg_pssl.generate")

#: Seconds between progress-bar refreshes on a terminal, and in a log file.
PROGRESS_INTERVAL_TTY_S: float = 0.5
PROGRESS_INTERVAL_LOG_S: float = 30.0


@dataclasses.dataclass
class RankCounts:
    """What one rank did in this run."""

    assigned: int = 0   # images of this rank's slice
    skipped: int = 0    # already finished by an earlier run
    labelled: int = 0   # labels written in this run
    failed: int = 0     # failures recorded in this run
    seconds: float = 0.0
    stages: Dict[str, Dict[str, float]] = dataclasses.field(default_factory=dict)  # profile
    chunk_sizes: List[Dict[str, Any]] = dataclasses.field(default_factory=list)  # batch_size auto


class ImageFailure(Exception):
    """An image that cannot be labelled; ``reason`` goes into failures.txt."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def decode(path: str, short_side: int, max_long_side: Optional[int]) -> np.ndarray:
    """Load and resize one image to the explanation resolution (runs in worker threads)."""
    try:
        img = preprocess.load_rgb(path)
    except preprocess.ImageReadError as exc:
        raise ImageFailure(exc.reason) from None
    _require_trainable(path, img.shape[:2])
    try:
        return preprocess.resize_short_side(img, short_side, max_long_side)
    except ValueError as exc:
        raise ImageFailure(f"cannot resize {img.shape[1]}x{img.shape[0]} image: {exc}") from None


def _require_trainable(path: str, decoded_hw: Tuple[int, int]) -> None:
    """Refuse an image the training reader cannot read, or reads at another size (its label
    would not fit): what is labelled can be trained on."""
    try:
        trained_hw = pssl_format.read_training_image(path).shape[:2]
    except pssl_format.PSSLFormatError as exc:
        raise ImageFailure(f"the training reader refuses it: {exc}") from None
    if tuple(trained_hw) != tuple(decoded_hw):
        raise ImageFailure(f"the training reader sees {trained_hw[1]}x{trained_hw[0]}, the "
                           f"labeller {decoded_hw[1]}x{decoded_hw[0]}; a label would not fit")


def label_maths_of(ctx: Context, maps: Dict[str, np.ndarray],
                   shape: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray]:
    """Deciles and consensus of one image's per-model maps (``consensus:`` settings)."""
    return label_maths.consensus_deciles(list(maps.values()), shape,
                                         ctx.cfg.consensus.normalisation,
                                         ctx.cfg.consensus.smoothing)


def explain_models(ctx: Context, item: ImageItem, img: np.ndarray) -> Dict[str, np.ndarray]:
    """Every classifier's checked score map of one decoded image, by model name."""
    maps: Dict[str, np.ndarray] = {}
    for spec, model in zip(ctx.specs, ctx.models):
        seed = sharding.image_seed(ctx.cfg.seed, item.image_rel, salt=spec.name)
        inputs = preprocess.to_model_input(img, spec)
        score = ctx.engine.explain(model, inputs, item.class_id, seed)
        score = np.asarray(score, dtype=np.float32)
        if score.ndim != 2:
            raise ImageFailure(f"model {spec.name!r} returned a map of shape {score.shape}, "
                               "expected (H, W)")
        if not np.all(np.isfinite(score)):
            raise ImageFailure(f"model {spec.name!r} gave a non-finite explanation (NaN/inf)")
        maps[spec.name] = score
    return maps


def _progress(total: int, ctx: Context) -> tqdm:
    tty = sys.stderr.isatty()
    return tqdm(total=total, desc=f"PSSL rank {ctx.rank}/{ctx.world_size}", unit="img",
                dynamic_ncols=True, file=sys.stderr, smoothing=0.05,
                mininterval=PROGRESS_INTERVAL_TTY_S if tty else PROGRESS_INTERVAL_LOG_S,
                disable=not ctx.cfg.progress)


def _failure_reason(item: ImageItem, exc: Exception) -> str:
    """Why one image failed; a machine error is raised again (it stops the run)."""
    if fail_fast.is_machine_error(exc):
        raise exc
    logger.debug("image %s failed", item.image_rel, exc_info=True)
    return f"{type(exc).__name__}: {exc}"


class _WriterJobs:
    """The writer thread's jobs: record a failure, or finish a label (maths, write, count)."""

    def __init__(self, ctx: Context, store: PSSLStore, counts: RankCounts, profile: StageProfile,
                 watch: fail_fast.FailFast, bar: tqdm):
        self.ctx, self.store, self.counts, self.profile = ctx, store, counts, profile
        self.watch, self.bar = watch, bar

    def _advance(self) -> None:
        self.bar.update(1)
        if self.counts.failed:
            self.bar.set_postfix(failed=self.counts.failed, refresh=False)

    def fail(self, item: ImageItem, reason: str) -> None:
        self.store.record_failure(item.image_rel, reason)
        self.counts.failed += 1
        self._advance()
        self.watch.failed(item.image_rel, reason)

    def finish(self, item: ImageItem, shape: Tuple[int, int], maps: Dict[str, np.ndarray]):
        try:
            with self.profile.stage("label_maths"):
                deciles, consensus = label_maths_of(self.ctx, maps, shape)
            with self.profile.stage("write"):
                self.store.write(item.label_rel, item.image_rel, deciles, consensus=consensus,
                                 model_maps=maps)
        except Exception as exc:  # noqa: BLE001 - one image must not stop the run
            self.fail(item, _failure_reason(item, exc))
            return
        self.counts.labelled += 1
        self.watch.succeeded()
        self._advance()


def _pending_items(ctx: Context, store: PSSLStore, mine: List[ImageItem],
                   counts: RankCounts) -> List[ImageItem]:
    """The slice's images still to label; finished ones and known-bad ones are counted."""
    pending = []
    for item in mine:
        if store.is_done(item.label_rel):
            counts.skipped += 1
        elif item.error is not None:
            store.record_failure(item.image_rel, item.error)
            counts.failed += 1
        else:
            pending.append(item)
    logger.info("rank %d/%d: %d images in slice, %d already done, %d to label",
                ctx.rank, ctx.world_size, len(mine), counts.skipped, len(pending))
    return pending


def _submitter(ctx: Context, pool, profile: StageProfile):
    """``submit(item)``: a future of the decoded image (in the pool, or at once without one)."""
    res = ctx.cfg.resolution

    def timed_decode(*args):
        with profile.stage("decode"):
            return decode(*args)

    def submit(item):
        args = (ctx.source.path(item), res.short_side, res.max_long_side)
        if pool is None:
            future: concurrent.futures.Future = concurrent.futures.Future()
            try:
                future.set_result(timed_decode(*args))
            except Exception as exc:  # noqa: BLE001 - delivered like a worker's exception
                future.set_exception(exc)
            return future
        return pool.submit(timed_decode, *args)

    return submit


def _job_of(ctx: Context, jobs: _WriterJobs, item: ImageItem, future) -> Callable[[], None]:
    """Explain one decoded image; the writer job that finishes it or records its failure."""
    try:
        with jobs.profile.stage("wait_decode"):
            img = future.result()
        with jobs.profile.stage("explain"):
            maps = explain_models(ctx, item, img)
    except ImageFailure as exc:
        failure = exc.reason
        return lambda: jobs.fail(item, failure)
    except Exception as exc:  # noqa: BLE001 - one image must not stop the run
        reason = _failure_reason(item, exc)
        return lambda: jobs.fail(item, reason)
    shape = img.shape[:2]
    return lambda: jobs.finish(item, shape, maps)


def _run_pipeline(ctx: Context, pending: List[ImageItem], jobs: _WriterJobs) -> None:
    """Decode ahead in threads, explain in this thread, label and write in the writer thread."""
    workers = ctx.cfg.num_workers
    pool = concurrent.futures.ThreadPoolExecutor(workers, "pssl-decode") if workers else None
    submit = _submitter(ctx, pool, jobs.profile)
    writer = LabelWriter()
    completed = False
    try:
        window: collections.deque = collections.deque()
        queue = iter(pending)
        depth = max(1, 2 * workers)
        while True:
            while len(window) < depth:
                item = next(queue, None)
                if item is None:
                    break
                window.append((item, submit(item)))
            if not window:
                break
            item, future = window.popleft()
            job = _job_of(ctx, jobs, item, future)
            with jobs.profile.stage("wait_writer"):
                writer.put(job)
        completed = True
    finally:
        writer.close(drain=completed)
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def process_slice(ctx: Context, store: PSSLStore) -> RankCounts:
    """Label every unfinished image of this rank's slice; returns the counts."""
    start = time.monotonic()
    mine = sharding.shard(ctx.items, ctx.rank, ctx.world_size)
    counts = RankCounts(assigned=len(mine))
    store.load_done()
    watch = fail_fast.FailFast(ctx.cfg.fail_fast.first, ctx.cfg.fail_fast.in_a_row,
                               known_failures=set(store.recorded_failures()))
    pending = _pending_items(ctx, store, mine, counts)
    bar = _progress(len(pending), ctx)
    profile = StageProfile()
    try:
        _run_pipeline(ctx, pending, _WriterJobs(ctx, store, counts, profile, watch, bar))
    finally:
        bar.close()
    counts.seconds = time.monotonic() - start
    counts.stages = profile.report(counts.labelled + counts.failed, counts.seconds)
    chunk_choices = getattr(ctx.engine, "chunk_choices", None)
    if chunk_choices is not None:
        counts.chunk_sizes = chunk_choices()
    if ctx.cfg.profile:
        for line in format_report(counts.stages):
            logger.info("rank %d/%d profile: %s", ctx.rank, ctx.world_size, line)
    return counts
