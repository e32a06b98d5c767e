"""Generate PSSL labels: deciles of a consensus of classifier explanations (arXiv 2207.03335).

    python tools/generate_pssl.py --config configs/pssl/generate/imagenet_15_models.yml \\
        --opts images.root=data/ImageNet --output data/pssl_imagenet
    # one process per GPU (or CPU processes), one node or several (shared output folder):
    python -m paddle.distributed.launch --gpus 0,1,2,3,4,5,6,7 tools/generate_pssl.py \\
        --config configs/pssl/generate/imagenet_15_models.yml

A rerun with the same config resumes: finished labels are skipped. Writes under the output
folder train/<class>/<image>.png (uint8 deciles 0..9), train.txt, synsets.txt, failures.txt
and manifest.json (see paddleseg_pssl/pssl_format/).

Exit status: 0 done; 1 more images failed than max_failure_fraction (see failures.txt);
2 configuration or start-up error (the message names the key or path and the fix);
3 stopped early: a machine error (disk full, read-only, permission) or images failing for
one reason (fail_fast in the config); finished labels are kept, a rerun resumes;
5 rank 0 stopped waiting for other ranks (merge_timeout_s): rerun with --merge_only once
they have finished.

Labels found without a readable settings fingerprint (manifest.json and pssl_settings.json
lost) are refused unless --adopt_existing; a run into a folder in use is refused, naming the
holder.
"""
import argparse
import contextlib
import logging
import sys

import paddle

from paddleseg_pssl.cli import common
from paddleseg_pssl.consensus.run import config as config_mod
from paddleseg_pssl.consensus.run import lifecycle, runner, sharding
from paddleseg_pssl.consensus.run.generate_config import ConfigError
from paddleseg_pssl.consensus.store.pssl_store import RanksTimeoutError
from paddleseg_pssl.errors import EXIT_FAIL_FAST, EXIT_MERGE_TIMEOUT, PSSLRunStopped
from paddleseg_pssl.user_errors import as_flags, flag

PROG = "tools/generate_pssl.py"

EXIT_OK: int = 0
#: More images failed than ``max_failure_fraction`` allows.
EXIT_TOO_MANY_FAILURES: int = 1


def build_parser() -> argparse.ArgumentParser:
    parser = common.parser_from_docstring(PROG, __doc__)
    parser.add_argument("--config", required=True,
                        help="Generation YAML (configs/pssl/generate/*.yml; may use _base_).")
    parser.add_argument("--opts", nargs="+", default=[], metavar="KEY=VALUE",
                        help="Override config keys with dotted names and YAML values, e.g. "
                             "--opts images.root=data/ImageNet explainer.n_samples=8 "
                             "ensemble.0.weights=/w/resnet18.pdparams")
    parser.add_argument("--output", default=None, help="Output folder (overrides 'output').")
    parser.add_argument("--limit", type=common.positive_int, default=None,
                        help="Only the first N images of the sorted list (a trial run).")
    parser.add_argument("--device", choices=common.DEVICES, default=None,
                        help="Device (default: gpu when Paddle is built with CUDA, else cpu); "
                             "under paddle.distributed.launch each rank takes its own GPU.")
    parser.add_argument("--rank", type=common.non_negative_int, default=None,
                        help="This process's shard (default: from paddle.distributed.launch, "
                             "else 0). For sharding by hand, e.g. with a job array.")
    parser.add_argument("--world_size", "--world-size", type=common.positive_int, default=None,
                        help="Number of shards (default: from paddle.distributed.launch, else 1).")
    parser.add_argument("--merge_only", "--merge-only", action="store_true",
                        help="Only merge the finished per-rank lists into train.txt (after "
                             "shards run by hand, or when rank 0 timed out waiting).")
    parser.add_argument("--adopt_existing", "--adopt-existing", action="store_true",
                        help="Keep labels found without a readable settings fingerprint as "
                             "made with these settings (otherwise they are refused).")
    parser.add_argument("--quiet", action="store_true", help="No progress bar.")
    parser.add_argument("--profile", action="store_true",
                        help="Log the time per stage and image (decode, explain, label maths, "
                             "write, waits) and each model's measured chunk size.")
    parser.add_argument("--verbose", action="store_true", help="Log per-image failures.")
    return parser


class _StderrHandler(logging.StreamHandler):
    """Writes to the current ``sys.stderr``, so a replaced stream (a captured one) is followed."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def _setup_logging(verbose: bool) -> None:
    try:
        rank, world = sharding.rank_and_world()
    except ValueError:
        rank, world = 0, 1
    prefix = f"[rank {rank}/{world}] " if world > 1 else ""
    logger = logging.getLogger("paddleseg_pssl.generate")
    if not logger.handlers:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter(f"%(asctime)s {prefix}%(message)s",
                                               "%Y-%m-%d %H:%M:%S"))
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)


def run(args: argparse.Namespace) -> int:
    if sharding.launched_by_launcher():
        lifecycle.exit_with_parent()

    with _flags_named():
        cfg = config_mod.load_config(args.config, args.opts, _overrides(args))
    _setup_logging(args.verbose)
    device = args.device or common.default_device()
    if device == "gpu" and not paddle.is_compiled_with_cuda():
        raise ConfigError("--device", "gpu was asked but this Paddle is built without CUDA; "
                                      "use --device cpu or install paddlepaddle-gpu")
    paddle.set_device(device)
    try:
        with _flags_named():
            result = runner.run(cfg, rank=args.rank, world_size=args.world_size,
                                merge_only=args.merge_only, adopt_existing=args.adopt_existing)
    except RanksTimeoutError as exc:
        sys.stderr.write(f"{PROG}: {as_flags(str(exc), exc.options)}\n")
        return EXIT_MERGE_TIMEOUT
    except PSSLRunStopped as exc:
        sys.stderr.write(f"{PROG}: {exc}\n")
        return EXIT_FAIL_FAST
    return EXIT_TOO_MANY_FAILURES if result.too_many_failures else EXIT_OK


def _overrides(args: argparse.Namespace) -> dict:
    """Config keys set by flags (dotted key -> value)."""
    overrides = {key: value for key, value in (("output", args.output), ("limit", args.limit))
                 if value is not None}
    if args.quiet:
        overrides["progress"] = False
    if args.profile:
        overrides["profile"] = True
    return overrides


@contextlib.contextmanager
def _flags_named():
    """Name a config error of a key a flag sets by that flag, and say how to set a required
    key from the command line."""
    try:
        yield
    except ConfigError as exc:
        if exc.key in ("config", "rank/world_size"):  # set by --config, --rank/--world_size
            raise ConfigError(flag(exc.key), exc.detail) from None
        if exc.required:
            raise ConfigError(exc.key, f"{exc.detail} or with --opts {exc.key}=<path>",
                              required=True) from None
        raise


main = common.command(PROG, build_parser, run)  # exit status: see the module docstring
