"""``tools/pssl_study.py``: the paper's Tables 1 and 2 in miniature, on a ``tools/demo.py`` world.

Pre-trains on shares of the world's labelled images (``--sizes``), for ``--iters`` iterations
or ``--epochs`` passes, on its PSSL and/or oracle labels (``--labels``), with the configs' or
Table 1's label rules (``--rules``); fine-tunes each checkpoint as the demo does and writes
``<world>/study/study.md``, ``.csv`` and ``.png`` with every finished point, beside the
conventional init. Finished runs are reused, so each curve is one more call, e.g.::

    python tools/pssl_study.py --world demo_output --sizes 0.1 0.25 0.5 1 --labels pssl oracle
    python tools/pssl_study.py --world demo_output --iters 500 1000 3750
    python tools/pssl_study.py --world demo_output --rules bg0.01 bg1 d8_ignored
"""
import argparse
import csv
import dataclasses
import io
import json
import pathlib
from typing import List, Optional, Sequence

from paddleseg_pssl.analysis.masks import MaskSpec
from paddleseg_pssl.analysis.oracle_labels import write_oracle_labels
from paddleseg_pssl.analysis.pssl_io import read_sample_list
from paddleseg_pssl.cli import common
from paddleseg_pssl.cli.compare_init import cached_result, run_dir_of
from paddleseg_pssl.cli.demo import (EXIT_STEP_FAILED, Demo, DemoStepFailed,
                                     pretrain_batch_size)
from paddleseg_pssl.errors import PSSLConfigError
from paddleseg_pssl.miniature.classifiers import BACKBONE_MEMBER
from paddleseg_pssl.miniature.scales import SCALES
from paddleseg_pssl.training.comparison import INIT_BACKBONE, INIT_PSSL, choose_rates, grid
from paddleseg_pssl.training import study

PROG = "tools/pssl_study.py"
STUDY_DIR = "study"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--world", required=True,
                        help="a finished tools/demo.py --output folder (data, classifiers, PSSL)")
    parser.add_argument("--scale", choices=sorted(SCALES), default="full",
                        help="the demo scale the world was made with (fine-tuning settings)")
    parser.add_argument("--labels", nargs="+", choices=study.LABEL_SOURCES,
                        default=[study.LABELS_PSSL], help="label sources to pre-train on")
    parser.add_argument("--rules", nargs="+", choices=list(study.RULES), default=[study.RULE_PAPER],
                        help="label rules: the configs' (paper), Table 1's background weights "
                             "(bgW), D8 ignored, or everything below D9 ignored")
    parser.add_argument("--sizes", nargs="+", type=common.positive_float, default=[1.0],
                        help="shares (0, 1] of every class's labelled images")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--iters", nargs="+", type=common.positive_int,
                        help="pre-training iterations (default: the scale's)")
    length.add_argument("--epochs", nargs="+", type=common.positive_float,
                        help="or passes over each point's images")
    parser.add_argument("--lrs", nargs="+", type=common.positive_float,
                        help="fine-tuning learning rates searched (default: the scale's)")
    parser.add_argument("--seed", type=int, default=0, help="seed the world was made with")
    parser.add_argument("--device", default="cpu")
    return parser


def _points(args: argparse.Namespace, total: int, batch_size: int,
            default_iters: int) -> List[study.PretrainPoint]:
    points = []
    for labels in args.labels:
        for fraction in args.sizes:
            if fraction > 1:
                raise PSSLConfigError(f"--sizes takes shares in (0, 1], got {fraction}")
            images = study.PretrainPoint(labels, fraction, 1).images(total)
            if images < batch_size:
                raise PSSLConfigError(f"--sizes {fraction:g} is {images} of {total} labelled "
                                      f"images, fewer than one pre-training batch ({batch_size})")
            iters = [study.iters_for_epochs(e, fraction, total, batch_size)
                     for e in args.epochs] if args.epochs else (args.iters or [default_iters])
            points += [study.PretrainPoint(labels, fraction, i, rule)
                       for i in iters for rule in args.rules]
    return points


def _chosen(output: pathlib.Path, init: str, rates: Sequence[float],
            seeds: Sequence[int]) -> Optional[study.InitSummary]:
    """``init``'s fine-tunes under ``output`` at their best rate, when all have finished."""
    results = [cached_result(run_dir_of(output, init, lr, seed)) for lr in rates for seed in seeds]
    if not results or None in results:
        return None
    return choose_rates(grid(results, [init], rates), [init], rates)[0]


def _csv(rows: Sequence[study.StudyRow], total: int) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["labels", "rule", "fraction", "images", "iters", "lr", "miou_mean",
                     "miou_std", "miou_per_seed"])
    for row in rows:
        p, r = row.point, row.result
        writer.writerow([p.labels, p.rule, p.fraction, p.images(total), p.iters, r.learning_rate,
                         r.miou_mean, r.miou_std, " ".join(f"{v:.4f}" for v in r.miou_per_seed)])
    return buffer.getvalue()


class Study:
    """Runs the points on a demo world and writes the table and plot of all finished ones."""

    def __init__(self, args: argparse.Namespace) -> None:
        world = pathlib.Path(args.world)
        if not (world / "pssl" / "train.txt").is_file():
            raise PSSLConfigError(f"--world {args.world!r} holds no pssl/train.txt: give the "
                                  "--output folder of a finished tools/demo.py run")
        scale = SCALES[args.scale]
        if args.lrs:
            scale = dataclasses.replace(scale, finetune_lrs=tuple(args.lrs))
        self.demo = Demo(world, scale, args.seed, args.device)
        self.dir = self.demo.out / STUDY_DIR
        self.total = len(read_sample_list(str(self.demo.pssl_root)))
        self.batch_size = pretrain_batch_size()
        self.backbone = self.demo.classifier_dir / f"{BACKBONE_MEMBER}.pdparams"
        summary = self.demo.segmentation_root / "summary.json"
        self.num_seg_classes = len(json.loads(summary.read_text())["class_names"])
        self.demo_point = study.PretrainPoint(study.LABELS_PSSL, 1.0, scale.pretrain_iters)
        self.demo_checkpoint = self.demo.out / "pretrain" / f"iter_{scale.pretrain_iters}" \
            / "model.pdparams"
        if not self.demo_checkpoint.is_file():
            raise PSSLConfigError(f"{str(self.demo_checkpoint)!r} does not exist: --scale must "
                                  f"be the one --world {args.world!r} was made with")

    def labels_root(self, labels: str) -> pathlib.Path:
        if labels == study.LABELS_PSSL:
            return self.demo.pssl_root
        root = self.dir / "oracle_labels"
        if not (root / "train.txt").is_file():
            write_oracle_labels(self.demo.pssl_root, self.demo.classification_root / "masks",
                                root, MaskSpec("binary"))
        return root

    def finetune_dir(self, point: study.PretrainPoint) -> str:
        """Where a point's fine-tunes are: the demo's own for the demo's pre-training."""
        return "finetune" if point == self.demo_point else f"{STUDY_DIR}/finetune/{point.name}"

    def run_point(self, point: study.PretrainPoint) -> None:
        if point == self.demo_point:
            return  # fine-tuned with the baseline
        checkpoint = self.demo.pretrain(self.backbone, self.labels_root(point.labels),
                                        point.iters, point.fraction,
                                        name=f"{STUDY_DIR}/pretrain/{point.name}",
                                        opts=study.RULES[point.rule])
        self.demo.compare(checkpoint, self.backbone, self.num_seg_classes, inits=[INIT_PSSL],
                          name=self.finetune_dir(point), log_name=f"study_finetune_{point.name}")

    def report(self) -> str:
        """Write study.md/.csv/.png from every finished point; returns the markdown."""
        scale = self.demo.scale
        baseline = _chosen(self.demo.out / "finetune", INIT_BACKBONE, scale.finetune_lrs,
                           scale.seeds)
        if baseline is None:
            raise PSSLConfigError("the conventional init's fine-tunes have not finished")
        rows = []
        points = [study.PretrainPoint.from_name(f.name)
                  for f in sorted((self.dir / "pretrain").glob("*"))]
        for point in [self.demo_point, *points]:
            result = _chosen(self.demo.out / self.finetune_dir(point), INIT_PSSL,
                             scale.finetune_lrs, scale.seeds)
            if result:
                rows.append(study.StudyRow(point, result))
        table = study.markdown(rows, baseline, self.total, self.batch_size)
        (self.dir / "study.md").write_text(table)
        (self.dir / "study.csv").write_text(_csv(rows, self.total))
        study.plot(rows, baseline, self.total, self.batch_size, str(self.dir / "study.png"))
        return table


def run(args: argparse.Namespace) -> int:
    """The study: the backbone baseline, then every point; 1 when a step's tool failed."""
    runner = Study(args)
    points = _points(args, runner.total, runner.batch_size, runner.demo.scale.pretrain_iters)
    try:
        # The demo's own comparison, reused and extended to the study's learning rates.
        runner.demo.compare(runner.demo_checkpoint, runner.backbone, runner.num_seg_classes,
                            log_name="study_compare_init")
        for index, point in enumerate(points, 1):
            with runner.demo.step(f"point {index}/{len(points)}: {point.name}"):
                runner.run_point(point)
    except DemoStepFailed as exc:
        print(f"\nstudy step failed: {exc}", flush=True)
        return EXIT_STEP_FAILED
    print("\n" + runner.report())
    print(f"table and plot: {runner.dir / 'study.md'}, {runner.dir / 'study.png'}")
    return 0


main = common.command(PROG, build_parser, run)  # 0 ok, 1 a step failed, 2 bad input
