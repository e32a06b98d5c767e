"""Benchmark (not a test): PSSL generation throughput on real classifiers and real photos, against
InterpretDL and against the limit, side by side in one run (``bench_generate.py --real``).

PSSL, arXiv 2207.03335; Consensus, arXiv 2109.00707. Inputs: the five real ImageNet classifiers
and real ImageNet photos of ``../shared/data/real`` (the benchmark exits 0 where they are
absent); photos whose explanation size is 224 x 299 (ImageNet's common 4:3), so that every
variant sees the same shapes. Variants, run round-robin image by image in each worker process
and every other image in reverse order (so that load from other processes on the machine, and
its trends, affect all of them alike):

* ``interpretdl``: ``ConsensusInterpreter(SmoothGradInterpreter, models)`` as documented (image
  path in, ``resize_to=224``, models as built, trainable), the image's class as label, at its
  own default ``n_samples`` (50) unless ``--interpretdl-n-samples`` says otherwise: a whole
  label against a whole label;
* ``ours:auto``, ``ours:<k>``: our per-image pipeline (decode, normalise per model, the
  ``batched`` engine, label maths, PNG encoding) with ``batch_size`` auto or fixed ``k``;
* ``limit:<k>``: forward + input-backward of each model on pre-normalised tensors with
  pre-drawn noise at batch ``k``; the limit of a model is its best ``k``.

Layouts: ``1x2`` (one 2-thread process, all images) and ``2x1`` (two 1-thread processes at once,
half the images each). Figures are medians over images of seconds per image per process (the
whole ensemble) and ms per noise sample per model; ``ours:auto`` also with its start-up (the
chunk-size measurement) spread over the images. ``ours`` labels of every chunk size are
compared byte for byte.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from typing import Dict, List

import numpy as np

from worker_processes import run_side_by_side

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REAL_ROOT = os.environ.get("PSSL_REAL_ROOT",
                           os.path.join(os.path.dirname(REPO), "shared", "data", "real"))
CLASSIFIERS_DIR = os.path.join(REAL_ROOT, "imagenet_classifiers")
SAMPLES_DIR = os.path.join(REAL_ROOT, "imagenet_samples")
MODEL_NAMES = ("mobilenet_v1_025_128", "mobilenet_v1_050_160", "mobilenet_v1_075_192",
               "mobilenet_v2_100_224", "tf2_mobilenet_v2_100_224")
SHORT_SIDE = 224
#: Explanation size of the photos used (ImageNet's common 4:3 aspect at short side 224).
IMAGE_HW = (SHORT_SIDE, 299)
#: paddleseg_pssl.constants.IMAGENET_NUM_CLASSES (the worker processes import the package
#: only after setting their thread count).
NUM_CLASSES = 1000
LAYOUTS = {"1x2": (1, 2), "2x1": (2, 1)}
#: InterpretDL's SmoothGradInterpreter default sample count.
INTERPRETDL_N_SAMPLES = 50
#: Our engine with every model explained at its own input size (``resize: square``), at
#: ``--own-sizes-n-samples`` (label_quality_real.py's holdout: n = 2 keeps n = 20's quality).
OWN_SIZES_PHASE = "ours:own"
#: The phases whose chunk size is measured (``auto``) on the first image, as in a real run.
TUNED = ("ours:auto", OWN_SIZES_PHASE)


def available() -> bool:
    """Whether the real classifiers and photos are under ``REAL_ROOT`` (``PSSL_REAL_ROOT``)."""
    return all(os.path.isfile(os.path.join(CLASSIFIERS_DIR, f"{m}.pdparams"))
               for m in MODEL_NAMES) and os.path.isdir(SAMPLES_DIR)


def pick_images(count: int) -> List[tuple]:
    """(path, class id) of the first ``count`` photos (sorted; index = class) whose explanation
    size is :data:`IMAGE_HW`."""
    from PIL import Image

    from paddleseg_pssl.pssl_format.label_size import explanation_size

    picked = []
    for cls, name in enumerate(sorted(os.listdir(SAMPLES_DIR))):
        path = os.path.join(SAMPLES_DIR, name)
        with Image.open(path) as img:
            w, h = img.size
        if explanation_size(h, w, SHORT_SIDE) == IMAGE_HW:
            picked.append((path, cls))
            if len(picked) == count:
                break
    return picked


# ---- worker side ------------------------------------------------------------------------------

class _Phases:
    """The runners of the phases on the real ensemble: each runs one image and returns the
    seconds per model and (ours only) the label's SHA-256."""

    def __init__(self, n: int, warm_n: int, own_n: int) -> None:
        from paddleseg_pssl.consensus.explain.classifier_loading import build_classifier
        from paddleseg_pssl.consensus.explain.ensemble import parse_ensemble

        self.n, self.warm_n, self.own_n = n, warm_n, own_n
        entries = [{"arch": f"imagenet_mobilenets:{m}",
                    "weights": os.path.join(CLASSIFIERS_DIR, f"{m}.pdparams")} for m in MODEL_NAMES]
        self.specs = parse_ensemble(entries, num_classes=NUM_CLASSES)
        # each model on a square of the size it was trained at (the last part of its name)
        self.own_specs = parse_ensemble(
            [dict(e, resize="square", input_size=int(m.rsplit("_", 1)[1]))
             for e, m in zip(entries, MODEL_NAMES)], num_classes=NUM_CLASSES)
        self.models = [build_classifier(s) for s in self.specs]
        self.names = [s.name for s in self.specs]
        self.tensors: Dict[str, list] = {}

    def runner(self, phase: str):
        """The runner of ``interpretdl``, ``ours:<batch>``, ``ours:own`` or ``limit:<step>``."""
        kind, _, bs = phase.partition(":")
        if kind == "interpretdl":
            return self.interpretdl()
        if phase == OWN_SIZES_PHASE:
            return self.ours("auto", own_sizes=True)
        if kind == "ours":
            return self.ours(bs if bs == "auto" else int(bs))
        return self.limit(int(bs))

    def interpretdl(self):
        """InterpretDL's ConsensusInterpreter over trainable models, timed per model."""
        from interpretdl import ConsensusInterpreter, SmoothGradInterpreter

        from paddleseg_pssl.consensus.explain.classifier_loading import build_classifier

        per_model: List[float] = []

        class TimedSmoothGrad(SmoothGradInterpreter):
            """InterpretDL's SmoothGrad, timed per model (ConsensusInterpreter's own loop)."""

            def interpret(self, *a, **kw):
                t0 = time.perf_counter()
                out = super().interpret(*a, **kw)
                per_model.append(time.perf_counter() - t0)
                return out

        trainable = [build_classifier(s) for s in self.specs]  # as a user builds them
        for model in trainable:
            for p in model.parameters():
                p.stop_gradient = False
        consensus = ConsensusInterpreter(TimedSmoothGrad, trainable, device="cpu")

        def run(path, cls, n_samples):
            per_model.clear()
            consensus.interpret(path, labels=[cls], n_samples=n_samples, resize_to=SHORT_SIDE)
            return list(per_model), None
        return run

    def ours(self, batch_size, own_sizes: bool = False):
        """The generator's batched engine, label maths and PNG encoding (``own_sizes``: each
        model at its own input size)."""
        from paddleseg_pssl.consensus import label_maths
        from paddleseg_pssl.consensus.explain.engines import build_engine
        from paddleseg_pssl.consensus.explain.preprocess import to_model_input
        from paddleseg_pssl.consensus.run.image_loop import decode
        from paddleseg_pssl.consensus.run.sharding import image_seed
        from paddleseg_pssl.pssl_format import encode_decile_png

        engines = {m: build_engine("batched", n_samples=m, batch_size=batch_size)
                   for m in {self.n, self.warm_n, self.own_n}}
        specs = self.own_specs if own_sizes else self.specs

        def run(path, cls, n_samples):
            engine = engines[n_samples]
            img = decode(path, SHORT_SIDE, None)
            maps, per_model = [], []
            for spec, model in zip(specs, self.models):
                t0 = time.perf_counter()
                seed = image_seed(0, os.path.basename(path), salt=spec.name)
                maps.append(engine.explain(model, to_model_input(img, spec), cls, seed))
                per_model.append(time.perf_counter() - t0)
            deciles, _ = label_maths.consensus_deciles(maps, img.shape[:2],
                                                       label_maths.DEFAULT_NORMALISATION,
                                                       label_maths.DEFAULT_SMOOTHING)
            return per_model, hashlib.sha256(encode_decile_png(deciles)).hexdigest()
        run.engine = engines[self.own_n if own_sizes else self.n]
        return run

    def limit(self, step):
        """Only the models' forward + input-backward on ready tensors, ``step`` samples each."""
        import paddle

        from paddleseg_pssl.consensus.explain.preprocess import to_model_input
        from paddleseg_pssl.consensus.run.image_loop import decode

        def run(path, cls, n_samples):
            if path not in self.tensors:
                img = decode(path, SHORT_SIDE, None)
                self.tensors[path] = [paddle.to_tensor(to_model_input(img, s))
                                      for s in self.specs]
            per_model = []
            for x0, model in zip(self.tensors[path], self.models):
                noise = paddle.randn([n_samples] + list(x0.shape[1:])) * 0.3
                t0 = time.perf_counter()
                for start in range(0, n_samples, step):
                    x = x0 + noise[start:min(start + step, n_samples)]
                    x.stop_gradient = False
                    target = paddle.nn.functional.softmax(model(x), axis=-1)[:, cls].sum()
                    (grad,) = paddle.grad([target], [x])
                    grad.numpy()
                per_model.append(time.perf_counter() - t0)
            return per_model, None
        return run


def _measure(runners: Dict[str, object], phases: List[str], images: List[tuple],
             n_of: Dict[str, int]) -> Dict[str, Dict[str, list]]:
    """Every phase on every image; seconds per model, total seconds and label hashes."""
    runs: Dict[str, List[List[float]]] = {p: [] for p in phases}
    hashes: Dict[str, List[str]] = {p: [] for p in phases}
    totals: Dict[str, List[float]] = {p: [] for p in phases}
    for i, (path, cls) in enumerate(images):
        # round-robin, every other image in reverse order, so that a trend in the load of the
        # machine (a round takes minutes) favours no phase
        for phase in (phases if i % 2 == 0 else phases[::-1]):
            t0 = time.perf_counter()
            per_model, digest = runners[phase](path, cls, n_of[phase])
            totals[phase].append(time.perf_counter() - t0)
            runs[phase].append(per_model)
            hashes[phase].append(digest)
    return {"runs": runs, "totals": totals, "hashes": hashes}


def _worker(args) -> Dict[str, object]:
    """Run every phase on this worker's images, round-robin; per-run seconds per model."""
    import paddle
    from paddle.base import core

    core.set_num_threads(args.threads)
    paddle.set_device("cpu")
    sys.path.insert(0, CLASSIFIERS_DIR)

    n = args.n_samples
    n_of = {p: {"interpretdl": args.interpretdl_n_samples,
                OWN_SIZES_PHASE: args.own_sizes_n_samples}.get(p, n) for p in args.phases}
    images = [(p, int(c)) for p, c in zip(args.paths, args.classes)]
    warm_n = min(n, max(int(p.partition(":")[2]) for p in args.phases if p[-1].isdigit()))
    phases = _Phases(n, warm_n, args.own_sizes_n_samples)
    runners = {}
    warm_path, warm_cls = images[0]
    for phase in args.phases:
        runners[phase] = phases.runner(phase)
        # warm-up on the first image (allocations, kernel caches; 'auto' measures here, on
        # the run's first input, as in a real run: the other phases need only their chunk)
        runners[phase](warm_path, warm_cls, n_of[phase] if phase in TUNED else warm_n)
    out: Dict[str, object] = {"models": phases.names,
                              **_measure(runners, args.phases, images, n_of)}
    for phase in TUNED:
        if phase in runners:
            out[f"chunk_choices {phase}"] = runners[phase].engine.chunk_choices(
                {id(m): nm for m, nm in zip(phases.models, phases.names)})
    return out


# ---- driver side ------------------------------------------------------------------------------

def run_layout(layout: str, phases: List[str], images: List[tuple], n_of: Dict[str, int]
               ) -> List[dict]:
    """Start the workers of ``layout`` at once; their results, in rank order."""
    procs_n, threads = LAYOUTS[layout]
    commands = []
    for rank in range(procs_n):
        mine = images[rank::procs_n]
        commands.append([sys.executable, os.path.abspath(__file__), "--worker", "--threads",
                         str(threads), "--n-samples", str(n_of["ours:auto"]),
                         "--interpretdl-n-samples", str(n_of["interpretdl"]),
                         "--own-sizes-n-samples", str(n_of.get(OWN_SIZES_PHASE, 1)),
                         "--phases", *phases,
                         "--paths", *[p for p, _ in mine], "--classes", *[str(c) for _, c in mine]])
    return run_side_by_side(commands, threads, layout)


def summarise(layout: str, results: List[dict], phases: List[str], n_of: Dict[str, int]
              ) -> Dict[str, object]:
    """Medians per phase: s per image per process (ensemble), ms per noise sample per model;
    the tuned phases also with their start-up (the chunk-size measurement) spread over the
    images."""
    names = results[0]["models"]
    table: Dict[str, Dict[str, float]] = {}
    for phase in phases:
        totals = [t for r in results for t in r["totals"][phase]]
        per_model = np.array([m for r in results for m in r["runs"][phase]])  # runs x models
        row = {"s_per_image": float(np.median(totals))}
        for j, name in enumerate(names):
            row[name] = float(np.median(per_model[:, j])) * 1000.0 / n_of[phase]
        table[phase] = row
    limit_phases = [p for p in phases if p.startswith("limit:")]
    best = {name: min(table[p][name] for p in limit_phases) for name in names}
    # the limit of the ensemble: each model at its own best batch, nothing but the model
    table["limit:best"] = dict(best, s_per_image=sum(best.values()) * n_of["ours:auto"] / 1000.0)
    hashes = {p: [h for r in results for h in r["hashes"][p]] for p in phases
              if p.startswith("ours:") and p != OWN_SIZES_PHASE}
    idl = table["interpretdl"]["s_per_image"]
    summary = {"layout": layout, "table": table, "n_of": n_of,
               "ours_auto_fraction_of_limit": table["limit:best"]["s_per_image"]
               / table["ours:auto"]["s_per_image"],
               "labels_identical_across_chunk_sizes": len({tuple(v) for v in hashes.values()}) == 1}
    for phase in (p for p in TUNED if p in phases):
        choices = [c for r in results for c in r.get(f"chunk_choices {phase}", [])]
        tuning = sum(c["tuning_s"] for c in choices) / len(results)
        per_process = sum(len(r["totals"][phase]) for r in results) / len(results)
        with_startup = table[phase]["s_per_image"] + tuning / max(1.0, per_process)
        summary[phase] = {"speedup_vs_interpretdl": idl / table[phase]["s_per_image"],
                          "s_per_image_with_startup": with_startup,
                          "speedup_with_startup": idl / with_startup,
                          "tuning_s_per_process": tuning,
                          "chosen": sorted({(c["model"], c["batch_size"]) for c in choices})}
    return summary


def print_summary(s: Dict[str, object]) -> None:
    table = s["table"]
    names = list(next(iter(table.values())))[1:]
    print(f"\nlayout {s['layout']} (n_samples per variant: {s['n_of']}); s/image = seconds per "
          f"image per process (5 models); per model: ms per noise sample; medians over images")
    print(f"  {'variant':<12} {'s/image':>8} " + " ".join(f"{nm[:14]:>14}" for nm in names))
    for phase, row in table.items():
        print(f"  {phase:<12} {row['s_per_image']:8.2f} "
              + " ".join(f"{row[nm]:14.1f}" for nm in names))
    for phase in TUNED:
        if phase in s:
            t = s[phase]
            print(f"  {phase} vs InterpretDL: {t['speedup_vs_interpretdl']:.2f}x per label; "
                  f"{t['speedup_with_startup']:.2f}x with its start-up spread over these images "
                  f"({t['s_per_image_with_startup']:.2f} s/image; chunk measurement "
                  f"{t['tuning_s_per_process']:.1f} s per process; chose {t['chosen']})")
    print(f"  ours:auto fraction of the limit: {s['ours_auto_fraction_of_limit']:.2f}; labels "
          f"identical for every chunk size: {s['labels_identical_across_chunk_sizes']}")


def main(args) -> int:
    """``bench_generate.py --real``: run both layouts, print and optionally save the results."""
    if not available():
        print(f"real classifiers/photos not found under {REAL_ROOT}; skipped")
        return 0
    n = args.n_samples
    chunks = [b for b in args.batch_sizes if b <= n]
    n_of = {"interpretdl": args.interpretdl_n_samples or INTERPRETDL_N_SAMPLES,
            "ours:auto": n, **{f"ours:{b}": n for b in chunks}, **{f"limit:{b}": n for b in chunks}}
    if args.own_sizes_n_samples:
        n_of[OWN_SIZES_PHASE] = args.own_sizes_n_samples
    phases = list(n_of)
    images = pick_images(args.images)
    print(f"real: {len(images)} ImageNet photos at {IMAGE_HW[0]}x{IMAGE_HW[1]}, 5 real "
          f"classifiers, n_samples {n_of}; 2 cores shared", flush=True)
    started = time.perf_counter()
    summaries = []
    for layout in args.layouts:
        results = run_layout(layout, phases, images, n_of)
        summaries.append(summarise(layout, results, phases, n_of))
        print_summary(summaries[-1])
    print(f"\ntotal benchmark time {time.perf_counter() - started:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"n_samples": n_of, "images": [p for p, _ in images],
                       "summaries": summaries}, f, indent=2)
    return 0


def worker_main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--worker", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--n-samples", type=int, required=True)
    ap.add_argument("--interpretdl-n-samples", type=int, required=True)
    ap.add_argument("--own-sizes-n-samples", type=int, required=True)
    ap.add_argument("--phases", nargs="+", required=True)
    ap.add_argument("--paths", nargs="+", required=True)
    ap.add_argument("--classes", nargs="+", required=True)
    args = ap.parse_args(argv)
    print(json.dumps(_worker(args)), flush=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, REPO)
    sys.exit(worker_main())
