"""Benchmark (not a test): what a real ImageNet PSSL run costs, from the per-noise-sample cost of
each classifier of ``configs/pssl/generate/imagenet_15_models.yml`` (``bench_generate.py
--arch-costs``).

For every ensemble entry: the ``paddle.vision`` architecture with random weights (the cost of a
forward + input-backward does not depend on the weights), 1000 classes, frozen, fed its input
as the generator feeds it (224 x 299, ImageNet's common 4:3 at short side 224, or the entry's
square ``input_size`` for ``resize: square``), one noise sample per forward, one thread in one
process: the fastest of :data:`REPS` timed runs after a warm-up. Each model runs in a separate
subprocess one after the other, so no measurement disturbs another of this benchmark.

A run's cost is ``images x n_samples x sum over models of (seconds per noise sample)``; divide
by 86,400 and by the number of devices for device-days (:func:`run_days`). A GPU owner takes
their own per-sample times (the generator logs, for ``batch_size: auto``, each model's ms per
noise sample at each chunk size it tried) and uses the same formula.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Dict, List

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(REPO, "configs", "pssl", "generate", "imagenet_15_models.yml")
#: paddleseg_pssl.constants' IMAGENET_TRAIN_IMAGES and IMAGENET_NUM_CLASSES, written here
#: because the per-model worker processes must not import the package (it imports Paddle
#: before the worker sets its thread count).
IMAGENET_IMAGES = 1_281_167
NUM_CLASSES = 1000
#: ImageNet's common 4:3 aspect at the generation's default short side (224).
IMAGE_HW = (224, 299)
#: Timed runs per model after one warm-up; the fastest counts (least disturbed on a shared CPU).
REPS = 3
SECONDS_PER_DAY = 86_400


def run_days(per_sample_s: List[float], images: int, n_samples: int, devices: int = 1) -> float:
    """Device-days of a run: images x n_samples x sum of per-sample seconds / 86,400 / devices."""
    return images * n_samples * sum(per_sample_s) / SECONDS_PER_DAY / devices


def ensemble_entries() -> List[dict]:
    """The ensemble entries of the shipped ImageNet config (with its ``_base_`` chain)."""
    from paddleseg_pssl.consensus.run.config import load_yaml

    return list(load_yaml(CONFIG)["ensemble"])


def measure_one(entry: dict, batch_size: int, device: str) -> Dict[str, object]:
    """Seconds per noise sample of one entry (this process; one thread set by the caller)."""
    import numpy as np
    import paddle

    paddle.set_device(device)
    from paddleseg_pssl.consensus.explain.classifier_loading import build_classifier
    from paddleseg_pssl.consensus.explain.ensemble import parse_ensemble

    entry = {k: v for k, v in entry.items() if k not in ("pretrained", "weights")}
    spec = parse_ensemble([entry], num_classes=NUM_CLASSES)[0]
    paddle.seed(0)
    model = build_classifier(spec)
    hw = (spec.input_size, spec.input_size) if spec.resize == "square" else IMAGE_HW
    x0 = paddle.to_tensor(np.random.RandomState(0).randn(batch_size, 3, *hw).astype("float32"))

    def once() -> float:
        t0 = time.perf_counter()
        x = x0 + 0.0
        x.stop_gradient = False
        target = paddle.nn.functional.softmax(model(x), axis=-1)[:, 0].sum()
        (grad,) = paddle.grad([target], [x])
        grad.numpy()
        return time.perf_counter() - t0

    once()
    best = min(once() for _ in range(REPS))
    return {"name": spec.name, "input_hw": list(hw), "batch_size": batch_size,
            "s_per_sample": best / batch_size}


def main(args) -> int:
    """Measure every entry in its own 1-thread subprocess; print the table and the formula."""
    entries = ensemble_entries()
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    rows = []
    print(f"{len(entries)} architectures of {os.path.relpath(CONFIG, REPO)}, random weights, "
          f"forward + input-backward, batch 1, 1 thread, fastest of {REPS}", flush=True)
    for entry in entries:
        cmd = [sys.executable, os.path.abspath(__file__), json.dumps(entry), "1", "cpu"]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{entry}: {done.stderr[-2000:]}")
        row = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(f"  {row['name']:<20} {row['input_hw'][0]}x{row['input_hw'][1]}  "
              f"{1000 * row['s_per_sample']:8.1f} ms per noise sample", flush=True)
    per_sample = [r["s_per_sample"] for r in rows]
    n = args.n_samples
    print(f"  sum over the {len(rows)} models: {1000 * sum(per_sample):.0f} ms per noise sample "
          f"of every model")
    print(f"ImageNet ({IMAGENET_IMAGES:,} images) x n_samples {n}: "
          f"{run_days(per_sample, IMAGENET_IMAGES, n):,.0f} core-days on this CPU "
          f"(days = images x n_samples x sum of per-sample s / 86,400 / devices)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"n_samples": n, "rows": rows,
                       "core_days": run_days(per_sample, IMAGENET_IMAGES, n)}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, REPO)
    from paddle.base import core

    core.set_num_threads(1)
    print(json.dumps(measure_one(json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3])))
