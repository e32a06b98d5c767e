"""The miniature downstream segmentation set, in PaddleSeg's generic ``Dataset`` format.

It plays the part of the paper's small downstream sets (arXiv 2207.03335, Table 3; CamVid has
367 training images) whose classes only partly overlap ImageNet's: few scenes of several
occluding objects, of shape families the classifiers know and new ones, over the same cluttered
backgrounds. PaddleSeg reads it as ``type: Dataset``, ``dataset_root: root``, ``train_path:
root/train.txt``, ``val_path: root/val.txt``, ``num_classes: summary['num_classes']``::

    root/
    |-- train.txt, val.txt   "images/<name>.jpg labels/<name>.png", one sample per line
    |-- labels.txt           class names in class-index order ("background" first)
    |-- summary.json         written last: settings, class names, counts, pixel frequencies
    |-- images/<split>_<index:04d>.jpg   RGB JPEG, quality 95
    `-- labels/<split>_<index:04d>.png   uint8 class index, 0 = background, no ignore pixels

A pixel's label is the class of the front-most object whose true mask (coverage >= 0.5) covers
it; every object keeps at least half of its own area visible.
"""
import os
import pathlib
from typing import Any, Dict, List, Sequence, Tuple, Union

import numpy as np
from tqdm import tqdm

from paddleseg_pssl.constants import IGNORE_INDEX
from paddleseg_pssl.miniature import outlines, shapes
from paddleseg_pssl.miniature.classification_set import (
    FORMAT_VERSION, ImageSize, build_atomically, image_rng, normalise_sizes, write_image)

#: Classes of the downstream set: five the classifiers know, three they never saw.
DEFAULT_KNOWN_CLASSES: Tuple[str, ...] = ("star", "ring", "triangle", "cross", "heart")
DEFAULT_NEW_CLASSES: Tuple[str, ...] = outlines.NEW_FAMILIES
BACKGROUND_NAME: str = "background"
DEFAULT_IMAGE_SIZE: Tuple[int, int] = (96, 96)
#: Area of one object (before occlusion), as a fraction of the image.
DEFAULT_OBJECT_AREA: Tuple[float, float] = (0.04, 0.16)
_SPLIT_IDS = {"train": 10, "val": 11}


def draw_scene(rng: np.random.Generator, families: Sequence[str], height: int, width: int,
               objects: Tuple[int, int] = (2, 4),
               object_area: Tuple[float, float] = DEFAULT_OBJECT_AREA
               ) -> Tuple[np.ndarray, np.ndarray]:
    """One scene: (uint8 RGB (H, W, 3), uint8 label (H, W), 0 = background, i + 1 = families[i])."""
    image = shapes.background(rng, height, width)
    image = shapes.add_distractors(rng, image, int(rng.integers(3, 8)))
    image = shapes.random_lines(rng, image, int(rng.integers(2, 8)))
    label = np.zeros((height, width), np.uint8)
    count = int(rng.integers(objects[0], objects[1] + 1))
    for _ in range(count):
        class_index = int(rng.integers(len(families)))
        for _attempt in range(20):
            alpha, _ = outlines.place_object(rng, families[class_index], height, width,
                                              object_area)
            mask = alpha >= 0.5
            # the new object may not hide more than half of an earlier one
            ok = all(np.count_nonzero((label == c) & ~mask) >= 0.5 * np.count_nonzero(label == c)
                     for c in np.unique(label[mask]) if c != 0)
            if ok:
                break
        else:
            continue
        layer = shapes.object_layer(rng, height, width, image, alpha)
        image = shapes.composite(image, layer, alpha)
        label[mask] = class_index + 1
    return shapes.finish(rng, image), label


def _write_split(tmp: pathlib.Path, split: str, count: int, families: Sequence[str],
                 seed: int, sizes: Sequence[Tuple[int, int]], objects: Tuple[int, int],
                 area: Tuple[float, float], bar) -> np.ndarray:
    """Draw and write `count` scenes of one split and its ``<split>.txt``; returns the pixel
    count of every class (background first)."""
    pixels = np.zeros(len(families) + 1, np.int64)
    lines: List[str] = []
    for index in range(count):
        rng = image_rng(seed, _SPLIT_IDS[split], index)
        h, w = sizes[int(rng.integers(len(sizes)))]
        rgb, label = draw_scene(rng, families, h, w, objects, area)
        stem = f"{split}_{index:04d}"
        write_image(tmp / "images" / f"{stem}.jpg", rgb)
        write_image(tmp / "labels" / f"{stem}.png", label)
        lines.append(f"images/{stem}.jpg labels/{stem}.png\n")
        pixels += np.bincount(label.ravel(), minlength=len(pixels))[:len(pixels)]
        bar.update()
    with open(tmp / f"{split}.txt", "w", encoding="utf-8") as f:
        f.writelines(lines)
    return pixels


def make_segmentation_set(root: Union[str, os.PathLike], seed: int = 0, train_images: int = 80,
                          val_images: int = 50, image_size: ImageSize = DEFAULT_IMAGE_SIZE,
                          known_classes: Sequence[str] = DEFAULT_KNOWN_CLASSES,
                          new_classes: Sequence[str] = DEFAULT_NEW_CLASSES,
                          objects_per_image: Tuple[int, int] = (2, 4),
                          object_area: Tuple[float, float] = DEFAULT_OBJECT_AREA,
                          progress: bool = True) -> Dict[str, Any]:
    """Write (or reuse) the segmentation set at ``root`` (module doc), each scene drawn from
    (seed, split, index) alone. ``new_classes`` are never seen by the classifiers;
    ``object_area`` is before occlusion. Returns the summary."""
    families = list(known_classes) + list(new_classes)
    unknown = [f for f in families if f not in outlines.FAMILIES]
    if unknown or len(set(families)) != len(families) or not families:
        raise ValueError(f"known_classes + new_classes {families!r}: expected distinct names "
                         f"from {sorted(outlines.FAMILIES)}")
    if train_images < 1 or val_images < 1:
        raise ValueError(f"train_images {train_images} / val_images {val_images}: expected >= 1")
    sizes = normalise_sizes(image_size)
    names = [BACKGROUND_NAME] + families
    settings = {"format_version": FORMAT_VERSION, "seed": seed, "train_images": train_images,
                "val_images": val_images, "image_sizes": [list(s) for s in sizes],
                "classes": families, "objects_per_image": list(objects_per_image),
                "object_area": list(object_area)}

    def build(tmp: pathlib.Path) -> Dict[str, Any]:
        (tmp / "images").mkdir()
        (tmp / "labels").mkdir()
        with open(tmp / "labels.txt", "w", encoding="utf-8") as f:
            f.write("".join(f"{n}\n" for n in names))
        pixels = np.zeros(len(names), np.int64)
        with tqdm(total=train_images + val_images, desc="segmentation set",
                  disable=not progress, leave=False) as bar:
            for split, count in (("train", train_images), ("val", val_images)):
                pixels += _write_split(tmp, split, count, families, seed, sizes,
                                       tuple(objects_per_image), tuple(object_area), bar)
        return {
            "kind": "segmentation", "num_classes": len(names), "class_names": names,
            "known_classes": list(known_classes), "new_classes": list(new_classes),
            "counts": {"train": train_images, "val": val_images},
            "image_sizes": [list(s) for s in sizes], "ignore_index": IGNORE_INDEX,
            "pixel_fraction": {n: round(float(p) / float(pixels.sum()), 4)
                               for n, p in zip(names, pixels)},
        }

    return build_atomically(root, settings, build)
