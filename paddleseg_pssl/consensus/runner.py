"""The PSSL generation loop (arXiv 2207.03335, Section 3; Consensus, arXiv 2109.00707).

For every image of this rank's slice that no earlier run finished::

    load (RGB) -> resize to the explanation resolution (short side 224, aspect kept)
      -> for each classifier: explain the image's own class (SmoothGrad, ``explainer:``)
      -> per-model smoothing and normalisation (``consensus:``) -> resize to the label size
      -> mean (Eq. 1) -> deciles (Eq. 2)
      -> PSSLStore: uint8 PNG (+ optional float16 consensus, per-model maps)

Start-up checks everything that would fail every image (config, class list, models, weights,
output size, output folder made with other settings) and stops with a :class:`ConfigError`
naming the key. Problems of single images (unreadable, truncated, class not in the class list,
an explainer error) are recorded in ``failures.txt`` and counted; the run goes on.

Distributed runs (``python -m paddle.distributed.launch``) need no collective communication:
each rank processes ``items[rank::world_size]``, appends to its own done-list and writes a
completion marker; rank 0 then waits for every rank's marker (matching this run's settings
and slice, so a stale marker never counts) and merges. The output must be on a filesystem all
ranks share (or merge later with ``--merge-only`` after gathering ``.pssl_work/``).

Exit status (:func:`run`): 0, or 1 when the failed fraction of images exceeds
``max_failure_fraction`` (rank 0 only decides; other ranks return 0 so the launcher does not
stop rank 0 before it merges), or 2 for configuration errors (raised as ConfigError), or 3
when the run stopped early (raised as PSSLRunStopped, see :mod:`.fail_fast`).

Guards of a long run: the output folder is made and proven writable first
(:mod:`.output_lock`), each rank holds a lock of it, the settings fingerprint is checked and
recorded (:mod:`.fingerprint`), and every model is probed on one image (:mod:`.model_probe`).
"""
import collections
import concurrent.futures
import dataclasses
import datetime
import hashlib
import json
import logging
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from paddleseg_pssl.consensus import image_source as image_source_mod
from paddleseg_pssl.consensus import fail_fast, label_maths, model_probe, sharding
from paddleseg_pssl.consensus.label_writer import LabelWriter
from paddleseg_pssl.consensus.output_lock import RankLock, ensure_output_dir
from paddleseg_pssl.consensus.stage_profile import StageProfile, format_report
from paddleseg_pssl.consensus.manifest import build_manifest
from paddleseg_pssl.consensus.config import ConfigError, subset_spec
from paddleseg_pssl.consensus.store import PSSLStore, StoreSettingsError
from paddleseg_pssl.constants import DECILE_COUNT

logger = logging.getLogger("paddleseg_pssl.generate")

EXIT_OK = 0
EXIT_TOO_MANY_FAILURES = 1
EXIT_CONFIG_ERROR = 2

#: Explainer settings that change speed, not labels: a resumed run may change them.
THROUGHPUT_ONLY_KEYS = ("batch_size",)



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


@dataclasses.dataclass
class Context:
    """Everything start-up resolved: the run needs nothing else."""

    cfg: Dict[str, Any]
    source: image_source_mod.ImageSource
    items: List[image_source_mod.ImageItem]
    specs: list
    checksums: List[Optional[str]]
    settings: Dict[str, Any]
    settings_digest: str
    rank: int
    world_size: int
    models: list = dataclasses.field(default_factory=list)
    engine: Any = None


# ---------------------------------------------------------------------------------------------
# Start-up
# ---------------------------------------------------------------------------------------------

def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def slice_digest(items: Sequence[image_source_mod.ImageItem], rank: int, world_size: int) -> str:
    """Identity of one rank's slice (its image paths), checked in completion markers."""
    return _digest([it.image_rel for it in sharding.shard(items, rank, world_size)])


def _build_source(cfg) -> image_source_mod.ImageSource:
    images = cfg["images"]
    try:
        source = image_source_mod.build_image_source(
            images["root"], split=images["split"], list_file=images["list"],
            synsets=images["synsets"])
    except image_source_mod.ImageSourceError as exc:
        key = ("images.synsets" if "class list" in str(exc) else
               "images.list" if images["list"] else "images.root")
        raise ConfigError(key, str(exc)) from None
    if not source.items:
        raise ConfigError("images.root", f"no images found under {images['root']!r} "
                                         f"(split {images['split']!r}, list {images['list']!r})")
    return source


def prepare(cfg: Dict[str, Any], *, rank: Optional[int] = None,
            world_size: Optional[int] = None, build_models: bool = True) -> Context:
    """Resolve the config into a :class:`Context`; every start-up error is a ConfigError."""
    from paddleseg_pssl.consensus import ensemble as ensemble_mod
    from paddleseg_pssl.consensus import engines as engines_mod

    if rank is None or world_size is None:
        env_rank, env_world = sharding.rank_and_world()
        rank = env_rank if rank is None else rank
        world_size = env_world if world_size is None else world_size
    try:
        rank, world_size = sharding.check_rank_and_world(int(rank), int(world_size))
    except ValueError as exc:
        raise ConfigError("--rank/--world-size", str(exc)) from None

    source = _build_source(cfg)
    items = image_source_mod.balanced_subset(source.items, subset_spec(cfg["images"]),
                                             cfg["seed"])
    items = items[: cfg["limit"]] if cfg["limit"] else items

    try:
        specs = ensemble_mod.parse_ensemble(cfg["ensemble"], source.num_classes,
                                            require_weights=cfg["require_weights"],
                                            weights_dir=cfg["ensemble_weights_dir"])
    except ensemble_mod.EnsembleConfigError as exc:
        raise ConfigError(_ensemble_key(str(exc)), str(exc)) from None
    try:
        engine = engines_mod.engine_from_config(cfg["explainer"])
        engine.check_ready()
    except engines_mod.EngineConfigError as exc:
        raise ConfigError("explainer", str(exc)) from None
    checksums = [ensemble_mod.weights_checksum(s) for s in specs]

    classes_digest = _digest(source.classes)
    settings = {
        "images": dict(cfg["images"]),
        "num_classes": source.num_classes,
        "classes_sha256": classes_digest,
        "seed": cfg["seed"],
        "resolution": dict(cfg["resolution"]),
        "explainer": engine.config(),
        "consensus": dict(cfg["consensus"]),
        "device": _device_settings(engine),
        "ensemble": [dict(s.to_dict(), weights_sha256=c) for s, c in zip(specs, checksums)],
        "require_weights": cfg["require_weights"],
        "store": dict(cfg["store"]),
        "max_failure_fraction": cfg["max_failure_fraction"],
        "limit": cfg["limit"],
    }
    # The digest covers what shapes a label, with every explainer setting resolved (so a change
    # of a default is a change of settings); moving the images or the weights, or changing
    # throughput-only settings (THROUGHPUT_ONLY_KEYS), does not count.
    digest = _digest({
        "classes_sha256": classes_digest, "seed": cfg["seed"], "resolution": cfg["resolution"],
        "explainer": {k: v for k, v in engine.config().items()
                      if k not in THROUGHPUT_ONLY_KEYS},
        # device noise and float16 differ between device kinds: part of what made a label
        "device": _device_settings(engine),
        "consensus": cfg["consensus"],
        "ensemble": [dict({k: v for k, v in s.to_dict().items() if k != "weights"},
                          weights_sha256=c) for s, c in zip(specs, checksums)],
        "label": {"decile_count": DECILE_COUNT}})
    ctx = Context(cfg=cfg, source=source, items=items, specs=specs, checksums=checksums,
                  settings=settings, settings_digest=digest, rank=rank, world_size=world_size,
                  engine=engine)
    if build_models:
        for i, spec in enumerate(specs):
            try:
                ctx.models.append(ensemble_mod.build_classifier(spec))
            except ensemble_mod.ClassifierBuildError as exc:
                about_weights = spec.weights is not None and repr(spec.weights) in str(exc)
                key = f"ensemble[{i}].weights" if about_weights else f"ensemble[{i}]"
                raise ConfigError(key, str(exc)) from None
        if hasattr(engine, "name_models"):
            engine.name_models({id(m): s.name for m, s in zip(ctx.models, specs)})
    return ctx


def _device_settings(engine) -> Dict[str, Any]:
    """The device kind and the resolved precision of the run (labels differ across them)."""
    from paddleseg_pssl.consensus.engines.base import device_kind

    resolved_amp = getattr(engine, "resolved_amp", None)
    return {"kind": device_kind(), "amp": bool(resolved_amp()) if resolved_amp else False}


def _ensemble_key(message: str) -> str:
    head = message.split(" ", 1)[0].rstrip(":")
    return head if head.startswith("ensemble") else "ensemble"


# ---------------------------------------------------------------------------------------------
# One image
# ---------------------------------------------------------------------------------------------

class ImageFailure(Exception):
    """An image that cannot be labelled; ``reason`` goes into failures.txt."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def decode(path: str, short_side: int, max_long_side: Optional[int]) -> np.ndarray:
    """Load and resize one image to the explanation resolution (runs in worker threads)."""
    from paddleseg_pssl.consensus import preprocess

    try:
        img = preprocess.load_rgb(path)
    except preprocess.ImageReadError as exc:
        raise ImageFailure(exc.reason) from None
    try:
        return preprocess.resize_short_side(img, short_side, max_long_side)
    except ValueError as exc:
        raise ImageFailure(f"cannot resize {img.shape[1]}x{img.shape[0]} image: {exc}") from None


def label_maths_of(ctx: Context, maps: Dict[str, np.ndarray],
                   shape: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray]:
    """Deciles and consensus of one image's per-model maps (``consensus:`` settings)."""
    return label_maths.consensus_deciles(list(maps.values()), shape,
                                         ctx.cfg["consensus"]["normalisation"],
                                         ctx.cfg["consensus"]["smoothing"])


def explain_models(ctx: Context, item: image_source_mod.ImageItem,
                   img: np.ndarray) -> Dict[str, np.ndarray]:
    """Every classifier's checked score map of one decoded image, by model name."""
    from paddleseg_pssl.consensus import preprocess

    maps: Dict[str, np.ndarray] = {}
    for spec, model in zip(ctx.specs, ctx.models):
        seed = sharding.image_seed(ctx.cfg["seed"], item.image_rel, salt=spec.name)
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


# ---------------------------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------------------------

def _progress(total: int, ctx: Context):
    if not ctx.cfg["progress"]:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    tty = sys.stderr.isatty()
    return tqdm(total=total, desc=f"PSSL rank {ctx.rank}/{ctx.world_size}", unit="img",
                dynamic_ncols=True, mininterval=0.5 if tty else 30.0, file=sys.stderr,
                smoothing=0.05)


def process_slice(ctx: Context, store: PSSLStore,
                  on_label: Optional[Callable[[str], None]] = None) -> RankCounts:
    """Label every unfinished image of this rank's slice; returns the counts."""
    start = time.monotonic()
    mine = sharding.shard(ctx.items, ctx.rank, ctx.world_size)
    counts = RankCounts(assigned=len(mine))
    store.load_done()
    watch = fail_fast.FailFast(ctx.cfg["fail_fast"]["first"], ctx.cfg["fail_fast"]["in_a_row"],
                               known_failures=set(store.recorded_failures()))
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
    res = ctx.cfg["resolution"]
    workers = ctx.cfg["num_workers"]
    bar = _progress(len(pending), ctx)

    profile = StageProfile()

    def timed_decode(*args):
        with profile.stage("decode"):
            return decode(*args)

    def submit(pool, item):
        args = (ctx.source.path(item), res["short_side"], res["max_long_side"])
        if pool is None:
            future: concurrent.futures.Future = concurrent.futures.Future()
            try:
                future.set_result(timed_decode(*args))
            except Exception as exc:  # noqa: BLE001 - delivered like a worker's exception
                future.set_exception(exc)
            return future
        return pool.submit(timed_decode, *args)

    # Jobs of the writer thread: the only code that touches the store and the counts from here.
    def advance() -> None:
        if bar is not None:
            bar.update(1)
            if counts.failed:
                bar.set_postfix(failed=counts.failed, refresh=False)

    def fail(item, reason: str) -> None:
        store.record_failure(item.image_rel, reason)
        counts.failed += 1
        advance()
        watch.failed(item.image_rel, reason)

    def finish(item, shape, maps) -> None:
        try:
            with profile.stage("label_maths"):
                deciles, consensus = label_maths_of(ctx, maps, shape)
            with profile.stage("write"):
                store.write(item.label_rel, item.image_rel, deciles, consensus=consensus,
                            model_maps=maps)
        except Exception as exc:  # noqa: BLE001 - one image must not stop the run
            if fail_fast.is_machine_error(exc):
                raise
            logger.debug("image %s failed", item.image_rel, exc_info=True)
            fail(item, f"{type(exc).__name__}: {exc}")
            return
        counts.labelled += 1
        watch.succeeded()
        if on_label is not None:
            on_label(item.label_rel)
        advance()

    pool = concurrent.futures.ThreadPoolExecutor(workers, "pssl-decode") if workers else None
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
                window.append((item, submit(pool, item)))
            if not window:
                break
            item, future = window.popleft()
            try:
                with profile.stage("wait_decode"):
                    img = future.result()
                with profile.stage("explain"):
                    maps = explain_models(ctx, item, img)
                job = (lambda item=item, shape=img.shape[:2], maps=maps:
                       finish(item, shape, maps))
            except ImageFailure as exc:
                job = lambda item=item, reason=exc.reason: fail(item, reason)  # noqa: E731
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception as exc:  # noqa: BLE001 - one image must not stop the run
                if fail_fast.is_machine_error(exc):
                    raise
                logger.debug("image %s failed", item.image_rel, exc_info=True)
                job = (lambda item=item, reason=f"{type(exc).__name__}: {exc}":
                       fail(item, reason))
            with profile.stage("wait_writer"):
                writer.put(job)
        completed = True
    finally:
        writer.close(drain=completed)
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if bar is not None:
            bar.close()
    counts.seconds = time.monotonic() - start
    counts.stages = profile.report(counts.labelled + counts.failed, counts.seconds)
    chunk_choices = getattr(ctx.engine, "chunk_choices", None)
    if chunk_choices is not None:
        counts.chunk_sizes = chunk_choices()
    if ctx.cfg["profile"]:
        for line in format_report(counts.stages):
            logger.info("rank %d/%d profile: %s", ctx.rank, ctx.world_size, line)
    return counts


def _summary(ctx: Context, counts: Dict[str, int], too_many: bool) -> str:
    frac = counts["failures"] / max(1, len(ctx.items))
    return (f"PSSL: {counts['labels']} labels, {counts['failures']} failures "
            f"({frac:.2%} of {len(ctx.items)} images; limit "
            f"{ctx.cfg['max_failure_fraction']:.2%}) in {ctx.cfg['output']}"
            + (" -- too many failures, see failures.txt" if too_many else ""))


def run(cfg: Dict[str, Any], *, rank: Optional[int] = None, world_size: Optional[int] = None,
        merge_only: bool = False, adopt_existing: bool = False) -> int:
    """Generate PSSL for the validated config ``cfg`` (:func:`config.load_config`).

    Args:
        adopt_existing: Keep labels found without any readable settings fingerprint as made
            with these settings (otherwise such an output is refused).

    Returns:
        The exit status (0 ok, 1 too many failures). Start-up problems raise ConfigError; a
        run stopped early raises PSSLRunStopped.
    """
    started = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    t0 = time.monotonic()
    ctx = prepare(cfg, rank=rank, world_size=world_size, build_models=not merge_only)
    ensure_output_dir(cfg["output"])
    store = PSSLStore(cfg["output"], rank=ctx.rank, world_size=ctx.world_size, **cfg["store"])
    lock = RankLock(store.work_dir, ctx.rank, ctx.world_size)
    try:
        lock.acquire()
        try:
            store.check_settings(ctx.settings_digest, ctx.settings,
                                 adopt_existing=adopt_existing)
        except StoreSettingsError as exc:
            raise ConfigError("output", str(exc)) from None
        if not merge_only:
            model_probe.probe_models(ctx)
        return _run_locked(ctx, store, started, t0, merge_only)
    except OSError as exc:
        if fail_fast.is_machine_error(exc):
            raise fail_fast.machine_stop(exc, "writing the output") from None
        raise
    finally:
        store.close()
        lock.release()


def _run_locked(ctx: Context, store: PSSLStore, started: str, t0: float,
                merge_only: bool) -> int:
    """Label this rank's slice (unless ``merge_only``), then merge on rank 0."""
    cfg = ctx.cfg
    markers: Dict[int, dict] = {}
    if not merge_only:
        store.clear_rank_marker()
        counts = process_slice(ctx, store)
        store.mark_rank_done({
            "world_size": ctx.world_size, "settings_digest": ctx.settings_digest,
            "slice_digest": slice_digest(ctx.items, ctx.rank, ctx.world_size),
            "counts": dataclasses.asdict(counts)})
        logger.info("rank %d/%d finished: %d labelled, %d skipped (done before), %d failed in "
                    "%.1f s", ctx.rank, ctx.world_size, counts.labelled, counts.skipped,
                    counts.failed, counts.seconds)
        if ctx.rank != 0:
            return EXIT_OK
        expected = {r: {"world_size": ctx.world_size, "settings_digest": ctx.settings_digest,
                        "slice_digest": slice_digest(ctx.items, r, ctx.world_size)}
                    for r in range(ctx.world_size)}
        markers = store.wait_for_ranks(
            expected, timeout_s=cfg["merge_timeout_s"],
            on_wait=lambda missing: logger.info("rank 0 waits for ranks %s to finish", missing))
    elif ctx.rank != 0:
        return EXIT_OK

    manifest = build_manifest(ctx, rank_markers=markers, started=started,
                              elapsed_s=time.monotonic() - t0)
    merged = store.merge(ctx.source.classes, manifest)
    too_many = merged["failures"] > cfg["max_failure_fraction"] * len(ctx.items)
    logger.info(_summary(ctx, merged, too_many))
    return EXIT_TOO_MANY_FAILURES if too_many else EXIT_OK
