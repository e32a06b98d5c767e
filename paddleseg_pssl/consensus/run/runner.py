"""A PSSL generation run (arXiv 2207.03335, Section 3): start-up (:mod:`.startup`), the output
folder guarded (lock, settings fingerprint, model probe), this rank's slice labelled
(:mod:`.image_loop`), and on rank 0 the wait for every rank's completion marker and the merge.
Ranks share nothing but the output folder (docs/generation.md, "N GPUs on one node")."""
import dataclasses
import logging
import time
from typing import Dict, Optional

from paddleseg_pssl.consensus.run import fail_fast, model_probe
from paddleseg_pssl.consensus.store import fingerprint
from paddleseg_pssl.consensus.run.generate_config import ConfigError, GenerateConfig
from paddleseg_pssl.consensus.run.image_loop import process_slice
from paddleseg_pssl.consensus.store.manifest import build_manifest, timestamp
from paddleseg_pssl.consensus.store.output_lock import RankLock, ensure_output_dir
from paddleseg_pssl.consensus.run.startup import Context, prepare, slice_digest
from paddleseg_pssl.consensus.store.pssl_store import PSSLStore, StoreSettingsError

logger = logging.getLogger("paddleseg_pssl.generate")


@dataclasses.dataclass(frozen=True)
class RunResult:
    """The outcome of :func:`run` on one rank (the counts are the merged ones, rank 0 only)."""

    rank: int
    merged: bool = False         # this rank merged the output (rank 0)
    labels: int = 0              # labels in the merged output
    failures: int = 0            # images recorded as failed in the merged output
    images: int = 0              # images of the run (every rank)
    too_many_failures: bool = False

    @property
    def ok(self) -> bool:
        """True unless more images failed than ``max_failure_fraction`` allows."""
        return not self.too_many_failures


def _summary(ctx: Context, result: RunResult) -> str:
    frac = result.failures / max(1, result.images)
    return (f"PSSL: {result.labels} labels, {result.failures} failures "
            f"({frac:.2%} of {result.images} images; limit "
            f"{ctx.cfg.max_failure_fraction:.2%}) in {ctx.cfg.output}"
            + (" -- too many failures, see failures.txt" if result.too_many_failures else ""))


def run(cfg: GenerateConfig, *, rank: Optional[int] = None, world_size: Optional[int] = None,
        merge_only: bool = False, adopt_existing: bool = False) -> RunResult:
    """Generate PSSL for the validated config ``cfg`` (:func:`config.load_config`); returns
    what this rank did. Start-up problems raise ConfigError, a run stopped early PSSLRunStopped."""
    started = timestamp()
    t0 = time.monotonic()
    ctx = prepare(cfg, rank=rank, world_size=world_size, build_models=not merge_only)
    ensure_output_dir(cfg.output)
    store = PSSLStore(cfg.output, rank=ctx.rank, world_size=ctx.world_size,
                      **dataclasses.asdict(cfg.store))
    _check_settings(ctx, store, adopt_existing, record=False)  # refused: nothing made
    lock = RankLock(store.work_dir, ctx.rank, ctx.world_size)
    try:
        lock.acquire()
        _check_settings(ctx, store, adopt_existing)  # under the lock: checked and recorded
        if ctx.rank == 0:
            with fingerprint.folder_lock(store.root):
                store.remove_stale_tmp(top_only=True)
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


def _check_settings(ctx: Context, store: PSSLStore, adopt_existing: bool,
                    record: bool = True) -> None:
    """Refuse an output made with other settings (blamed on ``output``); record ours if asked."""
    check = fingerprint.guard if record else fingerprint.refuse_other_settings
    try:
        check(store, ctx.settings_digest, ctx.settings, adopt_existing=adopt_existing)
    except StoreSettingsError as exc:
        raise ConfigError("output", str(exc), options=exc.options) from None


def _marker(ctx: Context, rank: int) -> Dict[str, object]:
    """What rank ``rank``'s completion marker of this run holds (besides its counts)."""
    return {"world_size": ctx.world_size, "settings_digest": ctx.settings_digest,
            "slice_digest": slice_digest(ctx.items, rank, ctx.world_size)}


def _label_slice(ctx: Context, store: PSSLStore) -> Dict[int, dict]:
    """Label this rank's slice and mark it done; rank 0 then waits for every rank's marker."""
    store.clear_rank_marker()
    counts = process_slice(ctx, store)
    store.mark_rank_done(dict(_marker(ctx, ctx.rank), counts=dataclasses.asdict(counts)))
    logger.info("rank %d/%d finished: %d labelled, %d skipped (done before), %d failed in "
                "%.1f s", ctx.rank, ctx.world_size, counts.labelled, counts.skipped,
                counts.failed, counts.seconds)
    if ctx.rank != 0:
        return {}
    return store.wait_for_ranks(
        {r: _marker(ctx, r) for r in range(ctx.world_size)}, timeout_s=ctx.cfg.merge_timeout_s,
        on_wait=lambda missing: logger.info("rank 0 waits for ranks %s to finish", missing))


def _run_locked(ctx: Context, store: PSSLStore, started: str, t0: float,
                merge_only: bool) -> RunResult:
    """Label this rank's slice (unless ``merge_only``), then merge on rank 0."""
    markers: Dict[int, dict] = {} if merge_only else _label_slice(ctx, store)
    if ctx.rank != 0:
        return RunResult(rank=ctx.rank)
    manifest = build_manifest(ctx, rank_markers=markers, started=started,
                              elapsed_s=time.monotonic() - t0,
                              adopted=fingerprint.adoption(store))
    merged = store.merge(ctx.source.classes, manifest)
    result = RunResult(
        rank=ctx.rank, merged=True, labels=merged["labels"], failures=merged["failures"],
        images=len(ctx.items),
        too_many_failures=merged["failures"] > ctx.cfg.max_failure_fraction * len(ctx.items))
    logger.info(_summary(ctx, result))
    return result
