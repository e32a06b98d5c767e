"""Benchmark (not a test): PSSLDataset and WeightedCrossEntropyLoss against PaddleSeg's built-ins.

PSSL, arXiv 2207.03335. Everything runs on one CPU process over a synthetic tree built in a
temporary directory (ImageNet-sized JPEGs, 375 x 500), so numbers compare designs, not disks:

* Label storage, bytes per label: our decile PNG at explanation resolution (short side 224),
  the release's binary ``*_eiseg.npz`` at image resolution (as PaddleSeg's built-in class
  needs it, since it does not resize), and a float16 consensus map (``.npy``, short side 224)
  from which deciles would be computed at load time.
* Samples/s of ``__getitem__`` with the transforms of PaddleSeg's configs/pssl/*.yml (resize
  to 256, scale 0.5-2, crop 256, flip, distort, normalise), and label-only reads/s.
* One training step on logits of 2 x 1001 x 64 x 64 (forward + backward of the loss only):
  ``WeightedCrossEntropyLoss`` against ``CrossEntropyLoss`` with the 1001-number weight list.

Ratios come from one run. Usage::

    python benchmarks/bench_dataset_and_loss.py [--images 32] [--repeats 10] [--json out.json]
"""
import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time

import cv2
import numpy as np
import paddle

import paddleseg_pssl  # noqa: F401  (registration, compatibility fixes)
import paddleseg.datasets.pssl as builtin_pssl
import paddleseg.transforms as T
from paddleseg.models.losses import CrossEntropyLoss

from paddleseg_pssl import pssl_format
from paddleseg_pssl.consensus import label_maths
from paddleseg_pssl.constants import (DEFAULT_BACKGROUND_WEIGHT,
                                      IMAGENET_NUM_CLASSES, TOP_DECILE,
                                      segmentation_num_classes)
from paddleseg_pssl.datasets import PSSLDataset
from paddleseg_pssl.losses import WeightedCrossEntropyLoss

IMAGE_SIZE = (375, 500)          # (height, width), a typical ImageNet training image
LABEL_SIZE = (224, 298)          # explanation resolution: short side 224, aspect kept
FLOAT_MAP_SUFFIX = ".npy"
#: ImageNet-1k + background, and the label value both losses skip for that many outputs.
PSSL_NUM_CLASSES = segmentation_num_classes(IMAGENET_NUM_CLASSES)
PSSL_IGNORE_INDEX = pssl_format.ignore_index_for(PSSL_NUM_CLASSES)


def synsets():
    return [f"n{i:08d}" for i in range(IMAGENET_NUM_CLASSES)]


def consensus_like(rng, shape):
    """A smooth score map with one blob, like a consensus explanation (values in [0, 1])."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    cy, cx = rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w
    score = np.exp(-(((yy - cy) / (0.25 * h)) ** 2 + ((xx - cx) / (0.25 * w)) ** 2))
    return (score + 0.05 * rng.random(shape)).astype(np.float32)


def build_trees(root, count, seed=0):
    """One image set, three label sets: decile PNG, release npz, float16 npy."""
    rng = np.random.default_rng(seed)
    names = synsets()
    imagenet = os.path.join(root, "imagenet")
    trees = {k: os.path.join(root, k) for k in ("png", "npz", "npy")}
    lines = {k: [] for k in trees}
    for i in range(count):
        class_name = names[i % 7]
        image_name = f"{class_name}_{i}.JPEG"
        image_rel = f"train/{class_name}/{image_name}"
        os.makedirs(os.path.join(imagenet, "train", class_name), exist_ok=True)
        image = rng.integers(0, 256, size=(*IMAGE_SIZE, 3), dtype=np.uint8)
        image = cv2.GaussianBlur(image, (0, 0), 3)         # JPEG-typical sizes, not noise
        cv2.imwrite(os.path.join(imagenet, image_rel), image, [cv2.IMWRITE_JPEG_QUALITY, 90])

        score = consensus_like(rng, LABEL_SIZE)
        deciles = label_maths.deciles(score)
        full_res = cv2.resize(deciles, IMAGE_SIZE[::-1], interpolation=cv2.INTER_NEAREST)
        outputs = {
            "png": (pssl_format.label_relpath(class_name, image_name),
                    lambda p: cv2.imwrite(p, deciles)),
            "npz": (image_rel + pssl_format.RELEASE_LABEL_SUFFIX,
                    lambda p: np.savez_compressed(p, (full_res == TOP_DECILE).astype(np.uint8))),
            "npy": (image_rel + FLOAT_MAP_SUFFIX,
                    lambda p: np.save(p, score.astype(np.float16))),
        }
        for kind, (rel, write) in outputs.items():
            path = os.path.join(trees[kind], rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            write(path)
            lines[kind].append(rel)
    for kind, tree in trees.items():
        with open(os.path.join(tree, "train.txt"), "w") as f:
            f.write("\n".join(lines[kind]) + "\n")
        synsets_file = pssl_format.RELEASE_SYNSETS_FILE if kind == "npz" \
            else pssl_format.SYNSETS_FILE
        with open(os.path.join(tree, synsets_file), "w") as f:
            f.write("\n".join(names) + "\n")
    return imagenet, trees, lines


class FloatMapDataset(PSSLDataset):
    """The float16 alternative: store S (Eq. 1), compute deciles (Eq. 2) at every read."""

    def _read_list(self, skip_missing, verify_files):
        with open(os.path.join(self.pssl_root, "train.txt")) as f:
            for line in f:
                rel = line.strip()
                image_rel = rel[:-len(FLOAT_MAP_SUFFIX)]
                self.file_list.append([os.path.join(self.imagenet_root, image_rel),
                                       os.path.join(self.pssl_root, rel)])
                self.class_ids.append(self.class_id_dict[pssl_format.class_name_of_label(rel)])

    def read_label(self, label_path, class_id):
        lut = self._decile_lut.copy()
        lut[self._fg_mask] = class_id
        return lut[deciles_of(np.load(label_path).astype(np.float32))]


def builtin_label(path, class_id=0):
    """What PaddleSeg's built-in __getitem__ does to a label before the transforms."""
    binary = np.load(path)["arr_0"]
    label = np.zeros_like(binary, dtype=np.int64) + IMAGENET_NUM_CLASSES
    label[binary == 1] = class_id
    return label


def pssl_transforms():
    """The augmentation of PaddleSeg's configs/pssl/*.yml."""
    return [T.ResizeByShort(short_size=256), T.ResizeStepScaling(0.5, 2.0, 0),
            T.RandomPaddingCrop(crop_size=(256, 256), label_padding_value=PSSL_IGNORE_INDEX),
            T.RandomHorizontalFlip(), T.RandomDistort(0.2, 0.5, 0.2, 0.5, 0.2, 0.5),
            T.Normalize()]


def samples_per_second(dataset, passes=2):
    """Best-of-``passes`` rate of full ``__getitem__`` calls over the whole dataset."""
    rates = []
    for p in range(passes + 1):                # first pass warms the page cache
        random.seed(p)
        np.random.seed(p)
        start = time.perf_counter()
        for i in range(len(dataset)):
            dataset[i]
        if p:
            rates.append(len(dataset) / (time.perf_counter() - start))
    return max(rates)


def label_reads_per_second(read, paths, passes=3):
    rates = []
    for _ in range(passes):
        start = time.perf_counter()
        for path in paths:
            read(path)
        rates.append(len(paths) / (time.perf_counter() - start))
    return max(rates)


def bench_datasets(count):
    results = {}
    with tempfile.TemporaryDirectory(prefix="pssl_bench_") as root:
        imagenet, trees, lines = build_trees(root, count)
        for kind, tree in trees.items():
            sizes = [os.path.getsize(os.path.join(tree, rel)) for rel in lines[kind]]
            results[f"bytes_per_label_{kind}"] = statistics.mean(sizes)

        ours_png = PSSLDataset(pssl_transforms(), imagenet, trees["png"])
        ours_npz = PSSLDataset(pssl_transforms(), imagenet, trees["npz"])
        builtin = builtin_pssl.PSSLDataset(pssl_transforms(), imagenet, trees["npz"])
        floats = FloatMapDataset(pssl_transforms(), imagenet, trees["npy"])
        for name, ds in (("ours_png", ours_png), ("ours_npz", ours_npz),
                         ("builtin_npz", builtin), ("ours_float16_npy", floats)):
            results[f"samples_per_s_{name}"] = samples_per_second(ds)

        label_paths = {k: [os.path.join(trees[k], rel) for rel in lines[k]] for k in trees}
        results["label_reads_per_s_ours_png"] = label_reads_per_second(
            lambda p: ours_png.read_label(p, 0), label_paths["png"])
        results["label_reads_per_s_ours_npz"] = label_reads_per_second(
            lambda p: ours_npz.read_label(p, 0), label_paths["npz"])
        results["label_reads_per_s_builtin_npz"] = label_reads_per_second(
            builtin_label, label_paths["npz"])
        results["label_reads_per_s_float16_npy"] = label_reads_per_second(
            lambda p: floats.read_label(p, 0), label_paths["npy"])
    return results


def bench_loss(repeats, shape=(2, PSSL_NUM_CLASSES, 64, 64)):
    paddle.seed(0)
    n, c, h, w = shape
    rng = np.random.default_rng(0)
    label = np.full((n, h, w), c - 1, dtype=np.int64)             # background ...
    fg = rng.random((n, h, w)) < 0.1                               # ... 10% foreground (D9)
    label[fg] = rng.integers(0, c - 1, size=int(fg.sum()))
    label[:, :4] = PSSL_IGNORE_INDEX                               # a padded strip
    label = paddle.to_tensor(label)
    logit0 = paddle.randn(shape)
    weight_list = [1.0] * (c - 1) + [DEFAULT_BACKGROUND_WEIGHT]
    reference = CrossEntropyLoss(weight=weight_list, ignore_index=PSSL_IGNORE_INDEX)
    losses = {"weighted_ce": WeightedCrossEntropyLoss(), "paddleseg_ce_1001_weights": reference}
    results, values = {}, {}
    for name, loss_fn in losses.items():
        times = []
        for r in range(repeats + 2):
            logit = logit0.clone()
            logit.stop_gradient = False
            start = time.perf_counter()
            loss = loss_fn(logit, label)
            loss.backward()
            _ = float(loss), logit.grad.numpy().sum()
            if r >= 2:
                times.append(time.perf_counter() - start)
        results[f"step_ms_{name}"] = 1000 * statistics.median(times)
        values[name] = float(loss)
    results["loss_abs_diff"] = abs(values["weighted_ce"] - values["paddleseg_ce_1001_weights"])
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=32, help="images in the synthetic tree")
    parser.add_argument("--repeats", type=int, default=10, help="timed loss steps")
    parser.add_argument("--json", help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)
    paddle.set_device("cpu")
    r = bench_datasets(args.images)
    r.update(bench_loss(args.repeats))

    print(f"\n## PSSLDataset ({args.images} images of {IMAGE_SIZE[1]}x{IMAGE_SIZE[0]}, "
          "transforms of configs/pssl, one process)\n")
    print("| label storage | bytes/label | label reads/s | samples/s |")
    print("|---|---:|---:|---:|")
    rows = [("ours: decile PNG, 224 short side", "png", "ours_png", "ours_png"),
            ("ours: release npz", "npz", "ours_npz", "ours_npz"),
            ("PaddleSeg built-in: release npz", "npz", "builtin_npz", "builtin_npz"),
            ("float16 .npy map, deciles at load", "npy", "float16_npy", "ours_float16_npy")]
    for title, kind, reads, samples in rows:
        print(f"| {title} | {r['bytes_per_label_' + kind]:,.0f} | "
              f"{r['label_reads_per_s_' + reads]:,.0f} | {r['samples_per_s_' + samples]:.1f} |")
    base = r["samples_per_s_builtin_npz"]
    print(f"\nsamples/s vs built-in: ours PNG x{r['samples_per_s_ours_png'] / base:.2f}, "
          f"ours npz x{r['samples_per_s_ours_npz'] / base:.2f}, "
          f"float16 x{r['samples_per_s_ours_float16_npy'] / base:.2f}; "
          f"bytes/label: npz/PNG x{r['bytes_per_label_npz'] / r['bytes_per_label_png']:.2f}, "
          f"float16/PNG x{r['bytes_per_label_npy'] / r['bytes_per_label_png']:.2f}")
    print("\n## One loss step, logits 2x1001x64x64 (forward + backward, median of "
          f"{args.repeats})\n")
    print(f"| loss | ms |\n|---|---:|\n"
          f"| WeightedCrossEntropyLoss | {r['step_ms_weighted_ce']:.1f} |\n"
          f"| CrossEntropyLoss(weight=[1001 numbers]) | "
          f"{r['step_ms_paddleseg_ce_1001_weights']:.1f} |")
    print(f"\nspeed-up x{r['step_ms_paddleseg_ce_1001_weights'] / r['step_ms_weighted_ce']:.2f}; "
          f"|loss difference| {r['loss_abs_diff']:.2e}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(r, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
