"""Benchmark (not a test): PSSL explanation throughput against InterpretDL and against the limit.

``--real``: on the real classifiers and photos of ``../shared/data/real``
(:mod:`bench_generate_real`); ``--arch-costs``: per-noise-sample cost of the 15 architectures of
``configs/pssl/generate/imagenet_15_models.yml`` (:mod:`bench_arch_costs`). Without them, on one
randomly initialised MobileNetV2 as below.

PSSL, arXiv 2207.03335; Consensus, arXiv 2109.00707. On the same images (written to JPEG files
at the explanation resolution, 224 x 300 by default), the same randomly initialised
``paddle.vision`` MobileNetV2 (1000 classes), the same ``n_samples`` and resolution, one run:

* ``interpretdl``: InterpretDL's ``ConsensusInterpreter(SmoothGradInterpreter, models)`` used as
  its documentation shows (image paths in, ``resize_to=224``, trainable model as built), with the
  image's own class as label;
* ``ours``: our per-image pipeline, ``load_rgb`` -> ``resize_short_side`` -> ``to_model_input``
  -> the ``batched`` engine on a classifier from ``build_classifier`` (frozen); with the default
  chunk size of the device and a few others;
* ``limit``: the model's own forward + input-backward (frozen parameters, softmax probability of
  the label, ``paddle.grad`` w.r.t. the input) on pre-normalised tensors, no decoding, at
  several batch sizes; ``forward``: forward only, for reference.

Two thread/process layouts: ``1x2`` (one worker process, 2 threads) and ``2x1`` (two 1-thread
workers at once on disjoint halves of the images). Each worker warms every measurement up, then
runs them round-robin, image by image, so all of them see the same (shared, varying) machine
load. A measurement's figures are the median and the minimum over its runs (one run = one
image, ``n_samples`` noise samples): the median is the typical run, the minimum the run least
disturbed by other processes on a shared machine; ratios are given for both, from one run.
Reported: wall ms per noise sample (for ``2x1``: a run's time / n / 2, the two workers running
side by side), core-ms per sample, samples/s. The ImageNet estimate multiplies the per-sample
cost by 1,281,167 images x 15 models x 50 samples; MobileNetV2 is the lightest net of the
15-model ensemble, so it is a lower bound for that ensemble.

Usage::

    python benchmarks/bench_generate.py [--images 6] [--n-samples 10] [--height 224 --width 300]
        [--batch-sizes 1 2 5 10] [--json out.json]
    python benchmarks/bench_generate.py --real [--images 4] [--n-samples 20] [--batch-sizes 1 2 4]
    python benchmarks/bench_generate.py --arch-costs
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from typing import Dict, List

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from paddleseg_pssl.consensus.explain.engine_base import DEFAULT_N_SAMPLES  # noqa: E402
from paddleseg_pssl.constants import IMAGENET_NUM_CLASSES, IMAGENET_TRAIN_IMAGES  # noqa: E402
from worker_processes import run_side_by_side  # noqa: E402

IMAGENET_IMAGES = IMAGENET_TRAIN_IMAGES
ENSEMBLE_SIZE = 15
PAPER_SAMPLES = 50
ARCH = "mobilenet_v2"
NUM_CLASSES = IMAGENET_NUM_CLASSES
#: The generation's default short side, and InterpretDL's ``resize_to`` for the same size.
SHORT_SIDE = 224
# defaults of the random-init run and of --real (sized for about 15 min on 2 CPU cores)
SYNTHETIC_IMAGES, SYNTHETIC_N_SAMPLES, SYNTHETIC_BATCH_SIZES = 6, 10, [1, 2, 5, 10]
REAL_IMAGES, REAL_N_SAMPLES, REAL_BATCH_SIZES = 4, DEFAULT_N_SAMPLES, [1, 2, 4]


# ---- worker side ------------------------------------------------------------------------------

def _worker(args) -> Dict[str, Dict[str, float]]:
    """Run the measurements ``args.phases`` ('kind:batch_size') in this process, in order."""
    import paddle
    from paddle.base import core

    core.set_num_threads(args.threads)
    paddle.set_device("cpu")
    from paddleseg_pssl.consensus.explain.engines import build_engine
    from paddleseg_pssl.consensus.explain.classifier_loading import build_classifier
    from paddleseg_pssl.consensus.explain.ensemble import parse_ensemble
    from paddleseg_pssl.consensus.explain.preprocess import load_rgb, resize_short_side, to_model_input

    paths: List[str] = args.paths
    labels = [i * 37 % NUM_CLASSES for i in range(len(paths))]
    n = args.n_samples
    paddle.seed(0)
    spec = parse_ensemble([{"arch": ARCH}], num_classes=NUM_CLASSES)[0]
    frozen = build_classifier(spec)
    inputs = [paddle.to_tensor(to_model_input(resize_short_side(load_rgb(p), SHORT_SIDE), spec))
              for p in paths]
    noise = paddle.randn([n] + list(inputs[0].shape[1:])) * 0.3

    def make_runner(kind: str, bs):
        if kind == "interpretdl":
            from interpretdl import ConsensusInterpreter, SmoothGradInterpreter

            paddle.seed(0)
            model = getattr(paddle.vision.models, ARCH)(pretrained=False, num_classes=NUM_CLASSES)
            consensus = ConsensusInterpreter(SmoothGradInterpreter, [model], device="cpu")

            def run(i: int, n_samples: int) -> None:
                consensus.interpret(paths[i], labels=[labels[i]], n_samples=n_samples,
                                    resize_to=SHORT_SIDE)
            return run
        if kind == "ours":
            engines = {m: build_engine("batched", n_samples=m, batch_size=bs) for m in (2, n)}

            def run(i: int, n_samples: int) -> None:
                x = to_model_input(resize_short_side(load_rgb(paths[i]), SHORT_SIDE), spec)
                engines[n_samples].explain(frozen, x, labels[i], seed=i)
            return run
        step = 1 if bs == "auto" else bs  # limit / forward: the model's own cost, ready tensors

        def run(i: int, n_samples: int) -> None:
            for start in range(0, n_samples, step):
                x = inputs[i] + noise[start:min(start + step, n_samples)]
                if kind == "forward":
                    with paddle.no_grad():
                        frozen(x).numpy()
                    continue
                x.stop_gradient = False
                target = paddle.nn.functional.softmax(frozen(x), axis=-1)[:, labels[i]].sum()
                (grad,) = paddle.grad([target], [x])
                grad.numpy()
        return run

    # Round-robin: every image runs every phase in turn, so all phases see the same (shared,
    # varying) machine load; per-run times are kept and summarised by their median.
    runners = {}
    for phase in args.phases:
        kind, _, bs = phase.partition(":")
        runners[phase] = make_runner(kind, bs if bs == "auto" else int(bs))
        runners[phase](args.indices[0], 2)  # warm-up (allocations, oneDNN primitive caches)
    return _time_phases(runners, args.phases, args.indices, n)


def _time_phases(runners: Dict[str, object], phases: List[str], indices: List[int], n: int
                 ) -> Dict[str, Dict[str, object]]:
    """Seconds of each run of each phase, image by image, every phase in turn."""
    times: Dict[str, List[float]] = {phase: [] for phase in phases}
    for i in indices:
        for phase in phases:
            start = time.perf_counter()
            runners[phase](i, n)
            times[phase].append(time.perf_counter() - start)
    return {phase: {"samples_per_run": n, "run_seconds": t} for phase, t in times.items()}


# ---- driver side ------------------------------------------------------------------------------

def run_layout(layout: str, phases: List[str], paths: List[str], n: int) -> Dict[str, Dict]:
    """Run ``phases`` with ``layout`` '1x2' (one 2-thread process) or '2x1' (two 1-thread
    processes on disjoint halves of the images, at the same time)."""
    procs_n, threads = (1, 2) if layout == "1x2" else (2, 1)
    commands = []
    for rank in range(procs_n):
        indices = list(range(len(paths)))[rank::procs_n]
        commands.append([sys.executable, os.path.abspath(__file__), "--worker", "--threads",
                         str(threads), "--n-samples", str(n), "--indices", *map(str, indices),
                         "--phases", *phases, "--paths", *paths])
    results = run_side_by_side(commands, threads, layout)
    rows = {}
    for phase in phases:
        runs = [t for r in results for t in r[phase]["run_seconds"]]
        # procs_n workers run side by side: wall time per sample = run time / n / procs_n
        per_sample = sorted(1000.0 * t / n / procs_n for t in runs)
        median = float(np.median(per_sample))
        kind, _, bs = phase.partition(":")
        rows[phase] = {"kind": kind, "batch_size": bs, "layout": layout,
                       "samples": n * len(runs), "ms_per_sample": round(median, 2),
                       "ms_per_sample_min": round(per_sample[0], 2),
                       "core_ms_per_sample": round(median * 2, 2),
                       "samples_per_s": round(1000.0 / median, 2)}
    return rows


def make_images(folder: str, count: int, height: int, width: int) -> List[str]:
    """Smooth random RGB images (JPEG, quality 95) at the explanation resolution."""
    from PIL import Image

    rng = np.random.RandomState(0)
    paths = []
    for i in range(count):
        small = rng.randint(0, 256, (height // 16 + 1, width // 16 + 1, 3)).astype(np.uint8)
        img = Image.fromarray(small).resize((width, height), Image.BILINEAR)
        path = os.path.join(folder, f"img_{i}.jpg")
        img.save(path, quality=95)
        paths.append(path)
    return paths


def build_parser() -> argparse.ArgumentParser:
    """The benchmark's flags, and the internal ones of its worker processes."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--real", action="store_true",
                    help="real classifiers and photos of ../shared/data/real (skips if absent)")
    ap.add_argument("--arch-costs", action="store_true",
                    help="per-noise-sample cost of the 15 architectures of the ImageNet config")
    ap.add_argument("--images", type=int, default=None, help="6; --real: 4")
    ap.add_argument("--n-samples", type=int, default=None,
                    help="10; --real and --arch-costs: the generator's default (20)")
    ap.add_argument("--interpretdl-n-samples", type=int, default=None,
                    help="--real: InterpretDL's sample count (its default, 50)")
    ap.add_argument("--own-sizes-n-samples", type=int, default=None,
                    help="--real: also ours with every model at its own input size, at this n")
    ap.add_argument("--height", type=int, default=SHORT_SIDE)
    ap.add_argument("--width", type=int, default=300)
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=None,
                    help="batch sizes tried for the limit and for ours, besides 'auto' "
                         "(1 2 5 10; --real: 1 2 4)")
    ap.add_argument("--layouts", nargs="+", choices=["1x2", "2x1"], default=["1x2", "2x1"],
                    help="--real: process x thread layouts to run")
    ap.add_argument("--json", default=None, help="also write the results here")
    # worker mode (internal)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=2, help=argparse.SUPPRESS)
    ap.add_argument("--phases", nargs="*", default=[], help=argparse.SUPPRESS)
    ap.add_argument("--indices", type=int, nargs="*", default=[], help=argparse.SUPPRESS)
    ap.add_argument("--paths", nargs="*", default=[], help=argparse.SUPPRESS)
    return ap


def _summarise(rows: List[Dict]) -> Dict[str, object]:
    """Speed-ups and fractions of the limit, by median and by fastest run."""
    def pick(kind, layout=None, bs=None, key="ms_per_sample"):
        sel = [r for r in rows if r["kind"] == kind and layout in (None, r["layout"])
               and bs in (None, r["batch_size"])]
        return min(sel, key=lambda r: r[key])

    summary: Dict[str, object] = {}
    # median: typical run; min: the run least disturbed by other processes on a shared machine
    for stat, key in (("median", "ms_per_sample"), ("min", "ms_per_sample_min")):
        def ms(row, key=key):
            return row[key]

        def short(row, key=key):
            return f"{row[key]} ms ({row['layout']}, batch {row['batch_size']})"

        best_idl, best_ours, best_limit = (pick("interpretdl", key=key), pick("ours", key=key),
                                           pick("limit", key=key))
        for layout in ("1x2", "2x1"):
            idl, ours = pick("interpretdl", layout, key=key), pick("ours", layout, "auto", key=key)
            limit = pick("limit", layout, key=key)
            summary[f"{stat}/{layout}: ours default vs interpretdl (speed-up)"] = round(
                ms(idl) / ms(ours), 2)
            summary[f"{stat}/{layout}: ours default fraction of limit"] = round(
                ms(limit) / ms(ours), 2)
        summary[f"{stat}: interpretdl best"] = short(best_idl)
        summary[f"{stat}: ours best"] = short(best_ours)
        summary[f"{stat}: limit best"] = short(best_limit)
        summary[f"{stat}: forward only best"] = short(pick("forward", key=key))
        summary[f"{stat}: speed-up best vs best"] = round(ms(best_idl) / ms(best_ours), 2)
        summary[f"{stat}: fraction of limit, best vs best"] = round(ms(best_limit)
                                                                     / ms(best_ours), 2)
        core_ms = 2 * ms(best_ours)
        summary[f"{stat}: samples/s per core"] = round(1000.0 / core_ms, 2)
        summary[f"{stat}: ImageNet x 15 models x 50 samples, core-hours at this cost"] = round(
            IMAGENET_IMAGES * ENSEMBLE_SIZE * PAPER_SAMPLES * core_ms / 1000 / 3600)
    return summary


def main(argv=None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    real = args.real
    args.images = args.images or (REAL_IMAGES if real else SYNTHETIC_IMAGES)
    args.n_samples = args.n_samples or (REAL_N_SAMPLES if real or args.arch_costs
                                        else SYNTHETIC_N_SAMPLES)
    args.batch_sizes = args.batch_sizes or (REAL_BATCH_SIZES if real else SYNTHETIC_BATCH_SIZES)
    if args.arch_costs:
        import bench_arch_costs

        return bench_arch_costs.main(args)
    if real:
        import bench_generate_real

        return bench_generate_real.main(args)
    if args.worker:
        print(json.dumps(_worker(args)), flush=True)
        return 0
    if args.images < 2:
        ap.error("--images must be >= 2 (the 2x1 layout splits them over two processes)")

    n = args.n_samples
    phases = (["interpretdl:auto", "ours:auto"]
              + [f"ours:{b}" for b in args.batch_sizes]
              + [f"limit:{b}" for b in args.batch_sizes] + ["forward:1"])
    print(f"{ARCH} (random init, {NUM_CLASSES} classes), {args.images} images "
          f"{args.height}x{args.width}, n_samples {n}, 2 cores; layouts: 1 process x 2 threads "
          f"(1x2), 2 processes x 1 thread (2x1)", flush=True)
    rows: List[Dict] = []
    with tempfile.TemporaryDirectory(prefix="bench_generate_") as tmp:
        paths = make_images(tmp, args.images, args.height, args.width)
        for layout in ("1x2", "2x1"):
            for row in run_layout(layout, phases, paths, n).values():
                rows.append(row)
                print(f"  {row['kind']:<12} layout {layout}  batch {row['batch_size']:>4}"
                      f"  {row['ms_per_sample']:8.1f} ms/sample (median; min "
                      f"{row['ms_per_sample_min']:.1f}; {row['samples']} samples)", flush=True)

    summary = _summarise(rows)
    print("\nsummary (speed-up = InterpretDL ms / ours ms; "
          "fraction of limit = limit ms / ours ms):")
    for k, v in summary.items():
        print(f"  {k}: {v}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": {k: getattr(args, k) for k in ("images", "n_samples", "height",
                                                               "width", "batch_sizes")},
                       "rows": rows, "summary": summary}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
