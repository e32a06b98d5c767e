"""``tools/compare_init.py``: fine-tune one downstream config from several initialisations.

One training process per initialisation, learning rate and seed (``--jobs N`` at once),
evaluated here on the validation split; as in the paper (arXiv 2207.03335, Section 5.4 and
Appendix B) each initialisation gets the rate with its best mean validation mIoU. Finished
runs are skipped on a rerun, and a crash in one run does not lose the others.
"""
import argparse
import json
import os
import pathlib
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Dict, List, Optional, Sequence, Tuple

from tqdm import tqdm

from paddleseg_pssl.cli import common
from paddleseg_pssl.cli.scripts import pssl_train
from paddleseg_pssl.errors import PSSLConfigError
from paddleseg_pssl.training.checkpoint_eval import evaluate_checkpoint
from paddleseg_pssl.training.checkpoints import write_backbone_weights
from paddleseg_pssl.training.comparison import (INIT_BACKBONE, INIT_PSSL, INIT_PSSL_BACKBONE,
                                                KNOWN_INITS, RunResult, choose_rates,
                                                csv_table, grid, init_overrides,
                                                markdown_grid, markdown_table)
from paddleseg_pssl.training.config_loading import load_config
from paddleseg_pssl.training.schedule import BatchPlan, plan_batch
from paddleseg_pssl.user_errors import as_flags

PROG = "tools/compare_init.py"
#: The training command line as a file (``paddle.distributed.launch`` runs files).
TRAIN_SCRIPT = pathlib.Path(pssl_train.__file__).resolve()
#: Exit status when a fine-tune failed (the finished runs are kept).
EXIT_RUN_FAILED = 1
RESULT_FILE = "result.json"
PLAN_FILE = "plan.json"
#: The PSSL checkpoint's backbone alone (init ``pssl_backbone``), written under --output.
PSSL_BACKBONE_FILE = "pssl_backbone.pdparams"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Fine-tune a downstream config from conventional and PSSL initialisations "
                    "over learning rates x seeds; choose each init's rate on the validation "
                    "split and print Table-3-style mIoU tables.")
    parser.add_argument("--config", required=True, help="fine-tuning config (e.g. "
                        "configs/pssl/finetune/camvid/pspnet_r50_imagenet.yml)")
    parser.add_argument("--pssl_checkpoint", help="PSSL pre-training model.pdparams (init 'pssl')")
    parser.add_argument("--backbone_pretrained",
                        help="classification weights for the backbone (init 'backbone'); default: "
                             "the config's model.backbone.pretrained")
    parser.add_argument("--inits", nargs="+", default=[INIT_BACKBONE, INIT_PSSL],
                        choices=KNOWN_INITS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    rates = parser.add_mutually_exclusive_group()
    rates.add_argument("--lrs", nargs="+", type=float,
                       help="initial learning rates searched for every init, e.g. 0.02 0.01 "
                            "0.005 (default: the config's lr_scheduler.learning_rate)")
    rates.add_argument("--learning_rate", type=float, help="one initial lr (= --lrs LR)")
    parser.add_argument("--iters", type=int, help="override the config's iterations")
    parser.add_argument("--batch_size", type=int,
                        help="per-card batch; a total batch other than the config's "
                             "total_batch_size rescales the iterations to the same epochs")
    launch = parser.add_argument_group("distributed fine-tunes (paddle.distributed.launch)")
    launch.add_argument("--nproc_per_node", type=int, help="processes per fine-tune")
    launch.add_argument("--gpus", help="GPU ids per fine-tune, e.g. 0,1,2,3 (one process each)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="runs trained at once, one process each (CPU: the cores are shared "
                             "between them; e.g. 2 on a 2-core machine)")
    parser.add_argument("--device", help="passed to tools/train.py (default: gpu if available)")
    parser.add_argument("--num_workers", type=int, default=0)
    parser.add_argument("--no_test_config", action="store_true",
                        help="evaluate single-scale, ignoring the config's test_config")
    parser.add_argument("--opts", nargs="+", default=[],
                        help="key=value overrides applied to every run (training and evaluation)")
    parser.add_argument("--output", required=True, help="folder for checkpoints and tables")
    parser.add_argument("--title", help="table title (default: the config's name)")
    return parser


def process_count(args: argparse.Namespace) -> int:
    """Processes per fine-tune: one per ``--gpus`` id, else ``--nproc_per_node``, else 1."""
    gpus = [g for g in (args.gpus or "").split(",") if g.strip()]
    if gpus and args.nproc_per_node and args.nproc_per_node != len(gpus):
        raise PSSLConfigError(f"--nproc_per_node {args.nproc_per_node} and --gpus {args.gpus} "
                              f"({len(gpus)} ids) disagree; give one of them")
    count = len(gpus) or args.nproc_per_node or 1
    if count < 1:
        raise PSSLConfigError(f"--nproc_per_node must be at least 1, got {args.nproc_per_node}")
    if args.jobs < 1:
        raise PSSLConfigError(f"--jobs must be at least 1, got {args.jobs}")
    if args.jobs > 1 and gpus:
        raise PSSLConfigError(f"--jobs {args.jobs} with --gpus {args.gpus}: the runs would share "
                              "those GPUs; give --jobs 1, or run one compare_init per GPU set")
    return count


def threads_per_process(args: argparse.Namespace, processes: int) -> Optional[int]:
    """OMP threads of each training process when several share the CPU, else None (default)."""
    sharing = args.jobs * processes
    if sharing <= 1 or not (args.device or common.default_device()).startswith("cpu"):
        return None
    return max(1, (os.cpu_count() or 1) // sharing)


def train_command(args: argparse.Namespace, plan: BatchPlan, init_opts: List[str],
                  learning_rate: float, seed: int, run_dir: pathlib.Path) -> List[str]:
    """The training command of one run (``tools/train.py``'s flags), under
    ``paddle.distributed.launch`` when it has more than one process."""
    command = [str(TRAIN_SCRIPT), "--config", args.config, "--seed", str(seed),
               "--save_dir", str(run_dir), "--num_workers", str(args.num_workers),
               "--iters", str(plan.iters), "--batch_size", str(plan.batch_size_per_card),
               "--learning_rate", repr(learning_rate), "--save_interval", str(plan.iters),
               "--keep_checkpoint_max", "1"]
    if args.device:
        command += ["--device", args.device]
    command += ["--opts", *args.opts, *init_opts]
    if plan.processes == 1:
        return [sys.executable, *command]
    devices = ["--gpus", args.gpus] if args.gpus else ["--nproc_per_node", str(plan.processes)]
    return [sys.executable, "-m", "paddle.distributed.launch", *devices,
            "--log_dir", str(run_dir / "launch_logs"), *command]


def _last_checkpoint(save_dir: pathlib.Path) -> pathlib.Path:
    """The model.pdparams of the highest iteration PaddleSeg saved."""
    iterations = sorted((p for p in save_dir.glob("iter_*") if (p / "model.pdparams").is_file()),
                        key=lambda p: int(p.name.split("_", 1)[1]))
    if not iterations:
        raise FileNotFoundError(f"training wrote no iter_*/model.pdparams under {save_dir}")
    return iterations[-1] / "model.pdparams"


def run_dir_of(output: pathlib.Path, init: str, learning_rate: float, seed: int) -> pathlib.Path:
    """Where one (init, learning rate, seed) run keeps its checkpoint, log and result."""
    return output / init / f"lr_{learning_rate:g}" / f"seed_{seed}"


def cached_result(run_dir: pathlib.Path) -> Optional[RunResult]:
    """The result of a finished run, or None when it has not finished."""
    path = run_dir / RESULT_FILE
    return RunResult(**json.loads(path.read_text())) if path.is_file() else None


def _init_opts(args: argparse.Namespace, init: str) -> List[str]:
    return init_overrides(init, args.pssl_checkpoint, args.backbone_pretrained,
                          str(pathlib.Path(args.output) / PSSL_BACKBONE_FILE))


def train_run(args: argparse.Namespace, plan: BatchPlan, init: str, learning_rate: float,
              seed: int) -> pathlib.Path:
    """Train one run in its own process(es); returns its last checkpoint, or raises a
    RuntimeError holding the log's last lines."""
    run_dir = run_dir_of(pathlib.Path(args.output), init, learning_rate, seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    log_path = run_dir / "train.log"
    env = dict(os.environ)
    threads = threads_per_process(args, plan.processes)
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    command = train_command(args, plan, _init_opts(args, init), learning_rate, seed, run_dir)
    status, tail = common.run_logged(command, log_path, 15, env=env)
    if status != 0:
        raise RuntimeError(f"training {init} lr {learning_rate:g} seed {seed} failed (exit "
                           f"{status}); last lines of {log_path}:\n{tail}")
    return _last_checkpoint(run_dir)


def evaluate_run(args: argparse.Namespace, plan: BatchPlan, init: str, learning_rate: float,
                 seed: int, checkpoint: pathlib.Path, seconds: float) -> RunResult:
    """Evaluate a trained run on the validation split and record its result on disk."""
    started = time.time()
    opts = [*args.opts, *_init_opts(args, init)]
    metrics = evaluate_checkpoint(args.config, str(checkpoint), opts, num_workers=args.num_workers,
                                  use_test_config=not args.no_test_config)
    iters = int(checkpoint.parent.name.split("_", 1)[1])
    result = RunResult(init=init, seed=seed, miou=metrics["miou"], accuracy=metrics["accuracy"],
                       iters=iters, seconds=round(seconds + time.time() - started, 1),
                       learning_rate=learning_rate, total_batch=plan.total_batch)
    result_path = run_dir_of(pathlib.Path(args.output), init, learning_rate, seed) / RESULT_FILE
    tmp_path = result_path.with_suffix(".tmp")
    tmp_path.write_text(json.dumps(result.__dict__, indent=2))
    os.replace(tmp_path, result_path)
    return result


Run = Tuple[str, float, int]


def run_all(args: argparse.Namespace, plan: BatchPlan, runs: Sequence[Run],
            on_result) -> Tuple[Dict[Run, RunResult], Optional[str]]:
    """Every run, ``args.jobs`` trainings at once, each evaluated here as it finishes; returns
    the results and the first error. A failure stops new runs; those training finish."""
    cached = {run: cached_result(run_dir_of(pathlib.Path(args.output), *run)) for run in runs}
    todo = [run for run, result in cached.items() if result is None]
    results = {run: result for run, result in cached.items() if result is not None}
    for run, result in results.items():
        on_result(run, result)
    error: Optional[str] = None
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        running: Dict[Future, Tuple[Run, float]] = {}
        while todo or running:
            while todo and error is None and len(running) < args.jobs:
                run = todo.pop(0)
                running[pool.submit(train_run, args, plan, *run)] = (run, time.time())
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                run, started = running.pop(future)
                try:
                    checkpoint = future.result()
                    results[run] = evaluate_run(args, plan, *run, checkpoint,
                                                time.time() - started)
                except (RuntimeError, FileNotFoundError) as exc:
                    error = error or str(exc)
                    continue
                on_result(run, results[run])
    return results, error


def _plan(args: argparse.Namespace) -> Tuple[List[float], BatchPlan, List[str]]:
    """Learning rates, batch plan and warnings of the comparison; config errors raise."""
    cfg = load_config(args.config, args.opts).dic
    rates = list(dict.fromkeys(args.lrs or [args.learning_rate
                                            or float(cfg["lr_scheduler"]["learning_rate"])]))
    if any(lr <= 0 for lr in rates):
        raise PSSLConfigError(f"--lrs {rates}: learning rates must be positive")
    plan, warnings = plan_batch(args.config, cfg, process_count(args), args.batch_size,
                                args.iters)
    return rates, plan, [as_flags(warning, ["iters"]) for warning in warnings]


def _check_inputs(args: argparse.Namespace) -> None:
    """Refuse a missing config, or a PSSL init without its checkpoint, before any work."""
    if not os.path.isfile(args.config):
        raise PSSLConfigError(f"--config {args.config!r} does not exist")
    needs_checkpoint = {INIT_PSSL, INIT_PSSL_BACKBONE} & set(args.inits)
    if needs_checkpoint and not (args.pssl_checkpoint and os.path.isfile(args.pssl_checkpoint)):
        raise PSSLConfigError(f"init {sorted(needs_checkpoint)[0]!r} needs --pssl_checkpoint "
                              f"pointing at a model.pdparams (got {args.pssl_checkpoint!r})")


def _write_tables(args: argparse.Namespace, output: pathlib.Path, rates: List[float],
                  results: List[RunResult]) -> None:
    """comparison.md (chosen rates, and the grid when several) and comparison.csv; print them."""
    title = args.title or pathlib.Path(args.config).stem
    cells = grid(results, args.inits, rates)
    tables = markdown_table(choose_rates(cells, args.inits, rates), title)
    if len(rates) > 1:
        tables += "\n" + as_flags(markdown_grid(cells, args.inits, rates), ["learning_rates"])
    (output / "comparison.md").write_text(tables)
    (output / "comparison.csv").write_text(csv_table(results))
    print(tables)
    print(f"tables: {output / 'comparison.md'}, {output / 'comparison.csv'}")


def run(args: argparse.Namespace) -> int:
    """The comparison: plan, train and evaluate every run, write the tables."""
    _check_inputs(args)
    rates, plan, warnings = _plan(args)
    for warning in warnings:
        print(warning, file=sys.stderr)
    output = pathlib.Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    if INIT_PSSL_BACKBONE in args.inits:
        write_backbone_weights(args.pssl_checkpoint, str(output / PSSL_BACKBONE_FILE))
    (output / PLAN_FILE).write_text(json.dumps(
        {"config": args.config, "inits": args.inits, "learning_rates": rates,
         "seeds": args.seeds, "batch": plan.__dict__, "total_batch": plan.total_batch,
         "warnings": warnings}, indent=2))
    runs = [(init, lr, seed) for seed in args.seeds for lr in rates for init in args.inits]
    bar = tqdm(total=len(runs), desc="fine-tunes", unit="run")

    def report(run: Run, result: RunResult) -> None:
        bar.update()
        bar.write(f"{run[0]} lr {run[1]:g} seed {run[2]}: mIoU {100 * result.miou:.1f}")

    by_run, error = run_all(args, plan, runs, report)
    bar.close()
    if error is not None:
        sys.stderr.write(f"{PROG}: error: {error}\n")
        return EXIT_RUN_FAILED
    _write_tables(args, output, rates, [by_run[run] for run in runs])
    return 0


main = common.command(PROG, build_parser, run)  # 0 ok, 1 a run failed, 2 bad input, 130 Ctrl-C
