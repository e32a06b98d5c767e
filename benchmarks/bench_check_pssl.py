"""Benchmark: speed of ``tools/check_pssl.py`` (paddleseg_pssl.analysis.check) per worker count.

Builds a synthetic PSSL root of ``--count`` samples shaped like ImageNet's (375 x 500 JPEG
images, 224 x 299 decile PNG labels, a few classes) in a temporary folder, then checks it
side by side with 0 (in the calling process), 1, 2 and 4 worker processes, reporting samples
per second and the speed-up over the first row. Every run must find no problem.

Usage::

    python benchmarks/bench_check_pssl.py [--count 3000] [--workers 0 1 2 4]
"""
import argparse
import os
import tempfile
import time
from typing import List, Sequence

import cv2
import numpy as np
from PIL import Image

from paddleseg_pssl import pssl_format
from paddleseg_pssl.analysis import check
from paddleseg_pssl.constants import DECILE_COUNT

IMAGE_HW = (375, 500)          # a typical ImageNet photo
LABEL_HW = (224, 299)          # its label at the default explanation resolution
CLASS_COUNT = 10
SEED = 0


def build_root(folder: str, count: int) -> None:
    """``count`` images under ``folder/imagenet`` and their labels under ``folder/pssl``."""
    rng = np.random.default_rng(SEED)
    photo = Image.fromarray(rng.integers(0, 255, (*IMAGE_HW, 3), dtype=np.uint8))
    classes = [f"n{c:08d}" for c in range(CLASS_COUNT)]
    lines = []
    for i in range(count):
        cls = classes[i % CLASS_COUNT]
        name = f"{cls}_{i}.JPEG"
        image = os.path.join(folder, "imagenet", "train", cls, name)
        os.makedirs(os.path.dirname(image), exist_ok=True)
        photo.save(image, format="JPEG", quality=90)
        label_rel = pssl_format.label_relpath(cls, name)
        label = os.path.join(folder, "pssl", *label_rel.split("/"))
        os.makedirs(os.path.dirname(label), exist_ok=True)
        deciles = rng.integers(0, DECILE_COUNT, LABEL_HW, dtype=np.uint8)
        cv2.imwrite(label, cv2.GaussianBlur(deciles, (9, 9), 0))
        lines.append(pssl_format.format_list_line(label_rel))
    with open(os.path.join(folder, "pssl", pssl_format.TRAIN_LIST_FILE), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(folder, "pssl", pssl_format.SYNSETS_FILE), "w") as f:
        f.write("\n".join(classes) + "\n")


def main(argv: Sequence[str] = None) -> List[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2, 4])
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_check_pssl_") as folder:
        t0 = time.perf_counter()
        build_root(folder, args.count)
        print(f"built {args.count} samples in {time.perf_counter() - t0:.1f} s "
              f"(images {IMAGE_HW[1]}x{IMAGE_HW[0]} JPEG, labels {LABEL_HW[1]}x{LABEL_HW[0]} PNG)")
        # one untimed pass warms the page cache, so every timed pass reads from memory alike
        check.check_pssl_root(os.path.join(folder, "pssl"), os.path.join(folder, "imagenet"),
                              workers=max(args.workers), progress=False)
        for workers in args.workers:
            report = check.check_pssl_root(os.path.join(folder, "pssl"),
                                           os.path.join(folder, "imagenet"),
                                           workers=workers, progress=False)
            assert report.ok, report.problems[:5]
            rows.append({"workers": workers, "seconds": report.seconds,
                         "rate": report.samples / report.seconds})
    base = rows[0]["rate"]
    print(f"{'workers':>8} {'seconds':>8} {'samples/s':>10} {'vs first':>9}")
    for row in rows:
        print(f"{row['workers']:>8} {row['seconds']:>8.2f} {row['rate']:>10.0f} "
              f"{row['rate'] / base:>8.2f}x")
    print(f"CPU cores: {os.cpu_count()}")
    return rows


if __name__ == "__main__":
    main()
