"""``tools/demo.py`` (``make demo``): the whole PSSL paper in miniature, on a CPU, no downloads.

Every step runs the tools a user runs at scale (arXiv 2207.03335), from the source checkout
(its ``tools/`` and ``configs/pssl/miniature/``), on small data and small models: make a
shapes classification set and a downstream segmentation set; train a classifier ensemble;
generate PSSL; score it against the true masks and draw Figure-2 panels; pre-train a
DeepLabV3 on it; fine-tune from classification-backbone and PSSL init (each init's learning
rate searched on the validation split); Section 6's analyses. Finished steps are reused.
"""
import argparse
import contextlib
import json
import os
import pathlib
import resource
import sys
import time
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import yaml

from paddleseg_pssl.analysis.pssl_io import read_sample_list
from paddleseg_pssl.cli import common
from paddleseg_pssl.consensus.explain.engine_base import AGGREGATIONS, DEFAULT_AGGREGATION
from paddleseg_pssl.errors import PSSLConfigError
from paddleseg_pssl.miniature.classification_set import make_classification_set
from paddleseg_pssl.miniature.classifiers import (BACKBONE_MEMBER, DEFAULT_EPOCHS,
                                                  DEFAULT_MEMBERS, train_ensemble)
from paddleseg_pssl.miniature.scales import SCALES, DemoScale
from paddleseg_pssl.miniature.segmentation_set import make_segmentation_set
from paddleseg_pssl.yaml_tree import read_yaml_tree

PROG = "tools/demo.py"
#: Exit status when a step's tool failed (what finished is reused on a rerun).
EXIT_STEP_FAILED = 1
REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
TOOLS = REPO_ROOT / "tools"
MINIATURE_CONFIGS = REPO_ROOT / "configs" / "pssl" / "miniature"
GENERATE_BASE = REPO_ROOT / "configs" / "pssl" / "generate" / "_base_" / "generate.yml"
SUMMARY_FILE = "SUMMARY.md"
#: Generation, pre-training and the fine-tunes run as this many 1-thread processes on CPU: on
#: 2 cores two beat one 2-thread process (benchmarks/bench_generate.py, README: compare_init).
CPU_PROCESSES = max(1, min(2, os.cpu_count() or 1))
#: Pre-training drops its learning rate 10x at this share of the iterations (the paper: epoch
#: 20 of 30, Section 5.2; configs/pssl/miniature/pretrain.yml's 600 of 800).
LR_DROP_AT = 0.75


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children: a step's cost on a shared machine."""
    own, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                         resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class DemoStepFailed(RuntimeError):
    """A step's tool exited non-zero; the message names the step and its log."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="demo_output", help="folder for everything")
    parser.add_argument("--scale", choices=sorted(SCALES), default="full",
                        help="full: make demo (about 15 min on 2 cores); study: every "
                             "image labelled, the world of tools/pssl_study.py and the "
                             "real-CamVid table; large: the five-classifier world of earlier "
                             "studies; quick: a smoke run")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data and classifiers")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--compare_aggregations", nargs="*", default=[],
                        choices=[a for a in AGGREGATIONS if a != DEFAULT_AGGREGATION],
                        help="also generate and score PSSL with these SmoothGrad aggregations "
                             "(about 2 min each at full scale), e.g. mean_of_abs")
    return parser


class Demo:
    """Runs the steps in order, timing each and logging each tool's output to a file."""

    def __init__(self, output: pathlib.Path, scale: DemoScale, seed: int, device: str) -> None:
        self.out = output.resolve()
        self.scale = scale
        self.seed = seed
        self.device = device
        self.timings: Dict[str, float] = {}
        self.cpu_timings: Dict[str, float] = {}
        self.processes = CPU_PROCESSES if device == "cpu" else 1
        self.pretrain_processes = scale.pretrain_processes or self.processes
        self.logs = self.out / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.classification_root = self.out / "data" / "classification"
        self.segmentation_root = self.out / "data" / "segmentation"
        self.classifier_dir = self.out / "classifiers"
        self.pssl_root = self.out / "pssl"
        self.configs = self.out / "configs"
        self.configs.mkdir(exist_ok=True)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Announce a step; record its wall and CPU time, and print them when it succeeds."""
        print(f"\n== {name}", flush=True)
        started, cpu_started = time.time(), _cpu_seconds()
        try:
            yield
        finally:
            self.timings[name] = time.time() - started
            self.cpu_timings[name] = _cpu_seconds() - cpu_started
        print(f"   done in {self.timings[name]:.0f} s (CPU {self.cpu_timings[name]:.0f} s)",
              flush=True)

    def run_tool(self, log_name: str, tool: str, *args: str, processes: int = 1) -> None:
        """Run ``tools/<tool>`` as a user would, its output in ``logs/<log_name>.log``; with
        ``processes > 1`` under ``paddle.distributed.launch``, one thread each."""
        log_path = self.logs / f"{log_name}.log"
        command = [sys.executable, str(TOOLS / tool), *args]
        if processes > 1:
            command = [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node",
                       str(processes), "--log_dir", str(self.logs / f"{log_name}_ranks"),
                       *command[1:]]
        env = dict(os.environ, OMP_NUM_THREADS="1") if processes > 1 else None
        status, tail = common.run_logged(command, log_path, 20, cwd=REPO_ROOT, env=env)
        if status != 0:
            raise DemoStepFailed(f"{tool} exited {status}; see {log_path}:\n{tail}")

    def make_data(self) -> dict:
        """Make both data sets; returns the segmentation set's summary."""
        s = self.scale
        make_classification_set(self.classification_root, num_classes=s.num_classes,
                                images_per_class=s.images_per_class,
                                val_per_class=s.val_per_class, seed=self.seed)
        return make_segmentation_set(self.segmentation_root, seed=self.seed,
                                     train_images=s.seg_train, val_images=s.seg_val)

    def train_classifiers(self) -> List[dict]:
        members = DEFAULT_MEMBERS[:self.scale.ensemble_members]
        # On CPU every member trains at once, so no member trains alone at the end.
        workers = len(members) if self.device == "cpu" else None
        return train_ensemble(self.classification_root, self.classifier_dir, seed=self.seed,
                              members=members, workers=workers,
                              epochs=self.scale.classifier_epochs or DEFAULT_EPOCHS)

    def labelled_subset(self) -> pathlib.Path:
        """A list file of the first images of each class: the images PSSL is generated for."""
        lines = []
        train_dir = self.classification_root / "train"
        for class_dir in sorted(p for p in train_dir.iterdir() if p.is_dir()):
            images = sorted(p.name for p in class_dir.iterdir())[:self.scale.labelled_per_class]
            lines += [f"train/{class_dir.name}/{name} {class_dir.name}\n" for name in images]
        list_path = self.configs / "pssl_images.txt"
        list_path.write_text("".join(lines))
        return list_path

    def generate(self, ensemble: List[dict], aggregation: str, output: pathlib.Path) -> None:
        config = {
            "_base_": str(GENERATE_BASE),
            "images": {"root": str(self.classification_root), "split": "train",
                       "list": str(self.labelled_subset()),
                       "synsets": str(self.classification_root / "synsets.txt")},
            "output": str(output), "seed": self.seed,
            "resolution": {"short_side": self.scale.explanation_short_side},
            "ensemble": ensemble,
            "explainer": {"engine": "batched", "name": "smoothgrad",
                          "n_samples": self.scale.n_samples, "noise_amount": 0.1,
                          "aggregation": aggregation},
            # The miniature compares the two aggregations alone: no smoothing of its 64-px maps.
            "consensus": {"normalisation": "minmax", "smoothing": 0.0},
            "store": {"keep_model_maps": True, "keep_float": True},
        }
        path = self.configs / f"generate_{aggregation}.yml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        self.run_tool(f"generate_{aggregation}", "generate_pssl.py", "--config", str(path),
                      "--device", self.device, processes=self.processes)

    def evaluate_labels(self, pssl_root: pathlib.Path, name: str) -> dict:
        report_dir = self.out / "label_quality" / name
        self.run_tool(f"evaluate_{name}", "evaluate_pssl.py", "--pssl_root", str(pssl_root),
                      "--mask_root", str(self.classification_root / "masks"),
                      "--mask_format", "binary", "--per_model", "--thresholds", "1", "2", "3",
                      "--output", str(report_dir), "--quiet")
        return json.loads((report_dir / "label_quality.json").read_text(encoding="utf-8"))

    def visualize(self) -> None:
        self.run_tool("visualize", "visualize_pssl.py", "--pssl_root", str(self.pssl_root),
                      "--image_root", str(self.classification_root), "--images", "8",
                      "--output", str(self.out / "figures" / "pssl_panels"))

    def pretrain(self, backbone_weights: pathlib.Path, pssl_root: Optional[pathlib.Path] = None,
                 iters: Optional[int] = None, subset: Optional[float] = None,
                 name: str = "pretrain", opts: Sequence[str] = (),
                 processes: int = 1) -> pathlib.Path:
        """PSSL pre-training of the whole model from classification backbone weights, as the
        paper-scale configs do; a study varies the labels, ``iters``, ``subset`` (a share of
        every class) and ``opts``. ``name`` is its folder and log; a finished run is reused."""
        save_dir = self.out / name
        iters = iters or self.scale.pretrain_iters
        checkpoint = save_dir / f"iter_{iters}" / "model.pdparams"
        if checkpoint.is_file():
            return checkpoint
        overrides = [f"train_dataset.imagenet_root={self.classification_root}",
                     f"train_dataset.pssl_root={pssl_root or self.pssl_root}",
                     f"model.backbone.pretrained={backbone_weights}",
                     f"lr_scheduler.milestones=[{max(1, round(iters * LR_DROP_AT))}]"]
        if subset is not None and subset < 1:
            overrides.append(f"train_dataset.subset={subset}")
        self.run_tool(name.replace("/", "_"), "train.py",
                      "--config", str(MINIATURE_CONFIGS / "pretrain.yml"),
                      "--device", self.device, "--iters", str(iters), "--save_interval",
                      str(iters), "--save_dir", str(save_dir), "--seed", str(self.seed),
                      "--batch_size", str(per_process_batch(pretrain_batch_size(), processes)),
                      "--log_iters", "20", "--opts", *overrides, *opts, processes=processes)
        return checkpoint

    def compare(self, pssl_checkpoint: Optional[pathlib.Path], backbone_weights: pathlib.Path,
                num_seg_classes: int, inits: Optional[Sequence[str]] = None,
                name: str = "finetune", log_name: str = "compare_init") -> pathlib.Path:
        """Fine-tune from each init (default: the scale's) with ``tools/compare_init.py`` into
        ``<output>/<name>``; finished runs are reused. Returns its comparison.md."""
        output = self.out / name
        seg = self.segmentation_root
        checkpoint = ["--pssl_checkpoint", str(pssl_checkpoint)] if pssl_checkpoint else []
        self.run_tool(log_name, "compare_init.py",
                      "--config", str(MINIATURE_CONFIGS / "finetune.yml"),
                      "--inits", *(inits or self.scale.finetune_inits),
                      "--lrs", *[str(lr) for lr in self.scale.finetune_lrs],
                      "--seeds", *[str(s) for s in self.scale.seeds],
                      "--iters", str(self.scale.finetune_iters), "--device", self.device,
                      "--jobs", str(self.processes), *checkpoint,
                      "--backbone_pretrained", str(backbone_weights),
                      "--title", "miniature downstream set (DeepLabV3-MiniResNet)",
                      "--output", str(output), "--opts",
                      f"train_dataset.dataset_root={seg}",
                      f"train_dataset.train_path={seg / 'train.txt'}",
                      f"train_dataset.num_classes={num_seg_classes}",
                      f"val_dataset.dataset_root={seg}", f"val_dataset.val_path={seg / 'val.txt'}",
                      f"val_dataset.num_classes={num_seg_classes}")
        return output / "comparison.md"

    def analyses(self, pssl_checkpoint: pathlib.Path) -> dict:
        """Section 6: the PSSL model as a segmenter into all classes, and as a classifier."""
        model = ["--config", str(MINIATURE_CONFIGS / "pretrain.yml"), "--model_path",
                 str(pssl_checkpoint), "--synsets", str(self.classification_root / "synsets.txt")]
        opts = ["--opts", f"train_dataset.imagenet_root={self.classification_root}",
                f"train_dataset.pssl_root={self.pssl_root}"]
        val_images = sorted((self.classification_root / "val").glob("*/*"))[::7][:6]
        self.run_tool("predict", "predict.py", *model, "--images", *[str(p) for p in val_images],
                      "--output", str(self.out / "figures" / "predictions"), "--device",
                      self.device, *opts)
        accuracy_path = self.out / "classify_eval.json"
        self.run_tool("classify_eval", "classify_eval.py", *model, "--image_root",
                      str(self.classification_root), "--split", "val", "--output",
                      str(accuracy_path), *opts)
        return json.loads(accuracy_path.read_text(encoding="utf-8"))


def _label_quality_table(reports: Dict[str, dict]) -> str:
    """Markdown: top-decile (and top 2-3) precision/IoU per source, for each aggregation."""
    lines = ["| aggregation | source | D9 precision | D9 IoU | D>=8 IoU | D>=7 IoU |",
             "|---|---|---|---|---|---|"]
    for aggregation, report in reports.items():
        for source, result in report["sources"].items():
            by_k = result["by_top_k"]
            lines.append(
                f"| {aggregation} | {source} | {by_k['1']['micro_precision']:.3f} | "
                f"{by_k['1']['micro_iou']:.3f} | {by_k['2']['micro_iou']:.3f} | "
                f"{by_k['3']['micro_iou']:.3f} |")
    return "\n".join(lines) + "\n"


def _run_steps(demo: Demo, compare_aggregations: Sequence[str]
               ) -> Tuple[Dict[str, dict], pathlib.Path, dict]:
    """Steps 1-7 in order: label quality per aggregation, the comparison table's path and the
    classifier accuracy. A failing tool raises :class:`DemoStepFailed`."""
    with demo.step("1. data: shapes classification set + downstream segmentation set"):
        segmentation = demo.make_data()
    with demo.step("2. classifier ensemble"):
        ensemble = demo.train_classifiers()
    aggregations = [DEFAULT_AGGREGATION, *compare_aggregations]  # pre-training uses the first
    roots = {a: demo.pssl_root if a == DEFAULT_AGGREGATION else demo.out / f"pssl_{a}"
             for a in aggregations}
    with demo.step(f"3. PSSL generation (SmoothGrad consensus, {', '.join(aggregations)})"):
        for aggregation, root in roots.items():
            demo.generate(ensemble, aggregation, root)
    with demo.step("4. label quality against the true masks, Figure-2 panels"):
        reports = {a: demo.evaluate_labels(root, a) for a, root in roots.items()}
        demo.visualize()
    backbone_weights = demo.classifier_dir / f"{BACKBONE_MEMBER}.pdparams"
    num_seg_classes = segmentation["num_classes"]
    with demo.step(f"5. PSSL pre-training (tools/train.py, Weighted CE, "
                   f"{demo.pretrain_processes} process(es))"):
        checkpoint = demo.pretrain(backbone_weights, processes=demo.pretrain_processes)
    with demo.step("6. fine-tuning: classification backbone vs PSSL init, lr per init"):
        table_path = demo.compare(checkpoint, backbone_weights, num_seg_classes)
    with demo.step("7. Section 6 analyses: 10-class + background segmentation, classification"):
        accuracy = demo.analyses(checkpoint)
    return reports, table_path, accuracy


#: What the demo leaves under its output folder, printed at the end.
OUTPUT_GUIDE = [
    ("SUMMARY.md", "both tables, step times"),
    ("label_quality/", "per-decile precision/recall/IoU (md, csv, png)"),
    ("figures/pssl_panels/", "Figure-2 panels: image, explanations, consensus, deciles, label"),
    ("figures/predictions/", "Figure-3: segmentation into all classes"),
    ("finetune/comparison.md", "Table-3-style comparison (and .csv)"),
    ("pssl/", "the generated PSSL (labels, train.txt, manifest.json)"),
    ("logs/", "every tool's output"),
]


def pretrain_batch_size() -> int:
    """The miniature pre-training's batch (configs/pssl/miniature/pretrain.yml)."""
    return int(read_yaml_tree(MINIATURE_CONFIGS / "pretrain.yml")["batch_size"])


def per_process_batch(batch_size: int, processes: int) -> int:
    """Each process's share of a ``batch_size`` split over ``processes``."""
    if batch_size % processes:
        raise PSSLConfigError(f"batch_size {batch_size} does not split over {processes} processes")
    return batch_size // processes


def _pretraining_regime(demo: Demo) -> str:
    """How much PSSL pre-training the comparison rests on, and where it pays off."""
    images = len(read_sample_list(str(demo.pssl_root)))
    batch_size = pretrain_batch_size()
    iters = demo.scale.pretrain_iters
    epochs = iters * batch_size / images
    return (f"PSSL pre-training: {images} labelled images, {iters} iterations at batch "
            f"{batch_size} ({epochs:.0f} epochs, {demo.pretrain_processes} process(es)). It pays "
            "off only when long enough: in the study world (1500 images) PSSL init still loses at "
            "500 iterations and ties at 1000, and wins from 1875 on at every size from 150 "
            "images (tools/pssl_study.py, docs/results.md, \"When PSSL pre-training pays "
            "off\").\n")


def _report(demo: Demo, label_quality: Dict[str, dict], comparison_path: pathlib.Path,
            accuracy: dict, scale: str, seconds: float) -> None:
    """Write SUMMARY.md and print the tables and where everything is."""
    quality = _label_quality_table(label_quality)
    comparison = comparison_path.read_text() + "\n" + _pretraining_regime(demo)
    top1 = accuracy.get("top1")
    summary = (f"# PSSL in miniature ({scale} scale, {seconds:.0f} s)\n\n"
               f"## Label quality (top deciles vs the true masks; micro-averaged)\n\n{quality}\n"
               f"## Downstream fine-tuning\n\n{comparison}\n"
               f"## PSSL model as a classifier (Section 6.1)\n\nval top-1: {top1}\n\n"
               "## Step times (s, wall and CPU)\n\n" + "".join(
                   f"- {k}: {v:.0f} wall, {demo.cpu_timings[k]:.0f} CPU\n"
                   for k, v in demo.timings.items()))
    (demo.out / SUMMARY_FILE).write_text(summary)
    print("\n" + quality + "\n" + comparison)
    print(f"PSSL-pretrained model as a classifier: val top-1 {top1}")
    print(f"\nEverything is in {demo.out}:")
    for name, what in OUTPUT_GUIDE:
        print(f"  {demo.out / name}  {what}")


def run(args: argparse.Namespace) -> int:
    """The demo; 1 when a step's tool failed (its log's last lines on stderr)."""
    demo = Demo(pathlib.Path(args.output), SCALES[args.scale], args.seed, args.device)
    started = time.time()
    try:
        results = _run_steps(demo, args.compare_aggregations)
    except DemoStepFailed as exc:
        print(f"\ndemo step failed: {exc}", file=sys.stderr)
        return EXIT_STEP_FAILED
    _report(demo, *results, args.scale, time.time() - started)
    return 0


main = common.command(PROG, build_parser, run)  # 0 ok, 1 a step failed, 2 bad input, 130 Ctrl-C
