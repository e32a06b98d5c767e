"""``tools/compare_init.py``: fine-tune one downstream config from several initialisations.

Each (init, seed) pair is a separate ``tools/train.py`` process (so a crash or an
out-of-memory in one run does not lose the others, and finished runs are skipped on a
rerun), evaluated with PaddleSeg's own evaluation; the result is the paper's Table 3 layout
(arXiv 2207.03335): mIoU per init, mean +- std over seeds, written as markdown and CSV.
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import time
from typing import List, Optional, Sequence

from paddleseg_pssl.comparison import (INIT_BACKBONE, INIT_PSSL, KNOWN_INITS, RunResult,
                                       csv_table, init_overrides, markdown_table, summarise)

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
TRAIN_TOOL = REPO_ROOT / "tools" / "train.py"
RESULT_FILE = "result.json"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Fine-tune a downstream config from conventional and PSSL initialisations "
                    "with the same seeds; print a Table-3-style mIoU table.")
    parser.add_argument("--config", required=True, help="fine-tuning config (e.g. "
                        "configs/pssl/finetune/camvid/pspnet_r50_imagenet.yml)")
    parser.add_argument("--pssl_checkpoint", help="PSSL pre-training model.pdparams (init 'pssl')")
    parser.add_argument("--backbone_pretrained",
                        help="classification weights for the backbone (init 'backbone'); default: "
                             "the config's model.backbone.pretrained")
    parser.add_argument("--inits", nargs="+", default=[INIT_BACKBONE, INIT_PSSL],
                        choices=KNOWN_INITS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--iters", type=int, help="override the config's iterations")
    parser.add_argument("--batch_size", type=int, help="override the per-card batch size")
    parser.add_argument("--learning_rate", type=float, help="override the initial lr")
    parser.add_argument("--device", help="passed to tools/train.py (default: gpu if available)")
    parser.add_argument("--num_workers", type=int, default=0)
    parser.add_argument("--no_test_config", action="store_true",
                        help="evaluate single-scale, ignoring the config's test_config")
    parser.add_argument("--opts", nargs="+", default=[],
                        help="key=value overrides applied to every run (training and evaluation)")
    parser.add_argument("--output", required=True, help="folder for checkpoints and tables")
    parser.add_argument("--title", help="table title (default: the config's name)")
    return parser


def _train_command(args: argparse.Namespace, init_opts: List[str], seed: int,
                   save_dir: pathlib.Path) -> List[str]:
    command = [sys.executable, str(TRAIN_TOOL), "--config", args.config, "--seed", str(seed),
               "--save_dir", str(save_dir), "--num_workers", str(args.num_workers),
               "--save_interval", str(args.iters or 10 ** 9), "--keep_checkpoint_max", "1"]
    for flag in ("iters", "batch_size", "learning_rate", "device"):
        value = getattr(args, flag)
        if value is not None:
            command += [f"--{flag}", str(value)]
    return command + ["--opts", *args.opts, *init_opts]


def _last_checkpoint(save_dir: pathlib.Path) -> pathlib.Path:
    """The model.pdparams of the highest iteration PaddleSeg saved."""
    iterations = sorted((p for p in save_dir.glob("iter_*") if (p / "model.pdparams").is_file()),
                        key=lambda p: int(p.name.split("_", 1)[1]))
    if not iterations:
        raise FileNotFoundError(f"training wrote no iter_*/model.pdparams under {save_dir}")
    return iterations[-1] / "model.pdparams"


def run_one(args: argparse.Namespace, init: str, seed: int) -> RunResult:
    """Train (unless already done) and evaluate one init/seed; the result is cached on disk."""
    from paddleseg_pssl.evaluation import evaluate_checkpoint

    run_dir = pathlib.Path(args.output) / init / f"seed_{seed}"
    result_path = run_dir / RESULT_FILE
    if result_path.is_file():
        return RunResult(**json.loads(result_path.read_text()))
    init_opts = init_overrides(init, args.pssl_checkpoint, args.backbone_pretrained)
    run_dir.mkdir(parents=True, exist_ok=True)
    started = time.time()
    log_path = run_dir / "train.log"
    with open(log_path, "w") as log:
        status = subprocess.call(_train_command(args, init_opts, seed, run_dir),
                                 stdout=log, stderr=subprocess.STDOUT, cwd=os.getcwd())
    if status != 0:
        tail = log_path.read_text(errors="replace").splitlines()[-15:]
        raise RuntimeError(f"training {init} seed {seed} failed (exit {status}); last lines of "
                           f"{log_path}:\n" + "\n".join(tail))
    checkpoint = _last_checkpoint(run_dir)
    metrics = evaluate_checkpoint(args.config, str(checkpoint), [*args.opts, *init_opts],
                                  use_test_config=not args.no_test_config,
                                  num_workers=args.num_workers)
    iters = int(checkpoint.parent.name.split("_", 1)[1])
    result = RunResult(init=init, seed=seed, miou=metrics["miou"], accuracy=metrics["accuracy"],
                       iters=iters, seconds=round(time.time() - started, 1))
    tmp_path = result_path.with_suffix(".tmp")
    tmp_path.write_text(json.dumps(result.__dict__, indent=2))
    os.replace(tmp_path, result_path)
    return result


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if not os.path.isfile(args.config):
        print(f"error: --config {args.config!r} does not exist", file=sys.stderr)
        return 2
    if INIT_PSSL in args.inits and not (args.pssl_checkpoint and
                                        os.path.isfile(args.pssl_checkpoint)):
        print(f"error: init 'pssl' needs --pssl_checkpoint pointing at a model.pdparams "
              f"(got {args.pssl_checkpoint!r})", file=sys.stderr)
        return 2
    from tqdm import tqdm

    output = pathlib.Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    plan = [(init, seed) for seed in args.seeds for init in args.inits]
    results = []
    for init, seed in tqdm(plan, desc="fine-tunes", unit="run"):
        try:
            results.append(run_one(args, init, seed))
        except (RuntimeError, FileNotFoundError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        tqdm.write(f"{init} seed {seed}: mIoU {100 * results[-1].miou:.1f}")
    title = args.title or pathlib.Path(args.config).stem
    table = markdown_table(summarise(results, args.inits), title)
    (output / "comparison.md").write_text(table)
    (output / "comparison.csv").write_text(csv_table(results))
    print(table)
    print(f"tables: {output / 'comparison.md'}, {output / 'comparison.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
