"""The miniature classification set: ImageNet's folder layout, shapes as classes, true masks aside.

Unlike ImageNet, every image has a true object mask, so the pseudo labels can be scored. Each
image holds one object of a shape family (the class) at a random scale (10-60 % of the image
area), position, rotation, aspect, colour and texture over a cluttered background with
class-independent distractors (``shapes``). The same seed writes the same bytes::

    root/
    |-- synsets.txt                 class folder names, sorted; line i = class id i
    |-- train_list.txt, val_list.txt   "<split>/<class>/<name>.jpg <class id>" (PaddleClas style)
    |-- summary.json                written last: settings, counts, area statistics
    |-- train/<class>/<class>_<index:04d>.jpg     RGB JPEG, quality 95
    |-- val/<class>/<class>_<index:04d>.jpg       held-out images, for classifier accuracy
    `-- masks/{train,val}/<class>/<class>_<index:04d>.png   uint8, 0 = background, 255 = object

The masks are for evaluation only: nothing in the PSSL pipeline may read them.
"""
import json
import os
import pathlib
import shutil
import time
from typing import Any, Callable, Dict, List, Sequence, Tuple, Union

import cv2
import numpy as np
from tqdm import tqdm

from paddleseg_pssl import pssl_format
from paddleseg_pssl.constants import UINT8_MAX
from paddleseg_pssl.miniature import outlines, shapes

#: Bumped whenever the drawing changes, so a stale set is not silently reused.
FORMAT_VERSION: int = 1
SUMMARY_FILE: str = "summary.json"
MASK_DIR: str = "masks"
MASK_FOREGROUND: int = UINT8_MAX
JPEG_QUALITY: int = 95
#: Image sizes (height, width) drawn from per image: square, landscape and portrait.
DEFAULT_IMAGE_SIZES: Tuple[Tuple[int, int], ...] = ((64, 64), (64, 80), (80, 64))
#: Visible area of the main object, as a fraction of the image.
DEFAULT_AREA_RANGE: Tuple[float, float] = (0.10, 0.60)
_SPLIT_IDS = {"train": 0, "val": 1}

ImageSize = Union[int, Tuple[int, int], Sequence[Tuple[int, int]]]


def normalise_sizes(image_size: ImageSize) -> List[Tuple[int, int]]:
    """An int, an (h, w) pair or a list of (h, w) pairs, as a list of (h, w) pairs."""
    if isinstance(image_size, int):
        sizes = [(image_size, image_size)]
    elif len(image_size) == 2 and all(isinstance(v, int) for v in image_size):
        sizes = [tuple(image_size)]
    else:
        sizes = [tuple(int(v) for v in s) for s in image_size]
    for h, w in sizes:
        if h < 16 or w < 16:
            raise ValueError(f"image_size {image_size!r} has a side below 16 pixels; "
                             "expected sizes like 64 or (64, 80)")
    return sizes


def image_rng(seed: int, *keys: int) -> np.random.Generator:
    """The generator of one image: depends only on the seed and the image's own keys."""
    return np.random.default_rng([seed, *keys])


def draw_classification_image(rng: np.random.Generator, family: str, height: int, width: int,
                              area_range: Tuple[float, float] = DEFAULT_AREA_RANGE
                              ) -> Tuple[np.ndarray, np.ndarray, float]:
    """One image of `family`: (uint8 RGB (H, W, 3), bool mask (H, W), visible area fraction)."""
    image = shapes.background(rng, height, width)
    image = shapes.add_distractors(rng, image, int(rng.integers(1, 4)), max_area_fraction=0.02)
    image = shapes.random_lines(rng, image, int(rng.integers(1, 4)))
    alpha, fraction = outlines.place_object(rng, family, height, width, area_range)
    layer = shapes.object_layer(rng, height, width, image, alpha)
    image = shapes.composite(image, layer, alpha)
    return shapes.finish(rng, image), alpha >= 0.5, fraction


def write_image(path: pathlib.Path, image: np.ndarray) -> None:
    """Write uint8 RGB (H, W, 3) or single-channel (H, W) as JPEG (quality 95) or PNG, by suffix."""
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    jpeg = path.suffix.lower() in (".jpg", ".jpeg")
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if jpeg else []
    if not cv2.imwrite(str(path), image.astype(np.uint8), params):
        raise OSError(f"could not write image {str(path)!r}")


def build_atomically(root: Union[str, os.PathLike], settings: Dict[str, Any],
                     build: Callable[[pathlib.Path], Dict[str, Any]]) -> Dict[str, Any]:
    """Build a data folder once, or reuse a complete one with the same settings.

    `build` fills a temporary sibling folder and returns the summary, written last before the
    rename to `root`, so `root` only ever exists complete. Other settings are an error.
    """
    root = pathlib.Path(root)
    summary_path = root / SUMMARY_FILE
    if root.exists():
        if summary_path.is_file():
            with open(summary_path, encoding="utf-8") as f:
                summary = json.load(f)
            if summary.get("settings") == settings:
                summary["reused"] = True
                summary["root"] = str(root)
                return summary
            raise ValueError(
                f"root {str(root)!r} holds a set built with other settings "
                f"({summary.get('settings')} != {settings}); delete it or choose another root")
        if any(root.iterdir()):
            raise ValueError(f"root {str(root)!r} exists, is not empty and has no "
                             f"{SUMMARY_FILE}; delete it or choose another root")
        root.rmdir()
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = root.parent / f".{root.name}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        start = time.perf_counter()
        summary = build(tmp)
        summary["settings"] = settings
        summary["seconds"] = round(time.perf_counter() - start, 2)
        with open(tmp / SUMMARY_FILE, "w", encoding="utf-8") as f:
            json.dump({k: v for k, v in summary.items() if k != "seconds"}, f, indent=1,
                      sort_keys=True)
        os.replace(tmp, root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    summary["root"] = str(root)
    summary["reused"] = False
    return summary


def class_names_for(num_classes: int) -> List[str]:
    """The first `num_classes` classification shape families, sorted (= class-id order)."""
    pool = outlines.CLASSIFICATION_FAMILIES
    if not 2 <= num_classes <= len(pool):
        raise ValueError(f"num_classes {num_classes} is out of range; expected 2..{len(pool)} "
                         f"(the shape families {pool})")
    return sorted(pool[:num_classes])


def _write_split(tmp: pathlib.Path, split: str, count: int, names: Sequence[str], seed: int,
                 sizes: Sequence[Tuple[int, int]], area_range: Tuple[float, float],
                 bar) -> List[float]:
    """Draw and write `count` images (and true masks) per class of one split, and its
    ``<split>_list.txt``; returns the area fractions of the true masks."""
    lines, areas = [], []
    for class_id, name in enumerate(names):
        (tmp / split / name).mkdir(parents=True)
        (tmp / MASK_DIR / split / name).mkdir(parents=True)
        family_id = outlines.CLASSIFICATION_FAMILIES.index(name)
        for index in range(count):
            rng = image_rng(seed, _SPLIT_IDS[split], family_id, index)
            h, w = sizes[int(rng.integers(len(sizes)))]
            rgb, mask, fraction = draw_classification_image(rng, name, h, w, area_range)
            stem = f"{name}_{index:04d}"
            write_image(tmp / split / name / f"{stem}.jpg", rgb)
            write_image(tmp / MASK_DIR / split / name / f"{stem}.png",
                        mask.astype(np.uint8) * MASK_FOREGROUND)
            lines.append(f"{split}/{name}/{stem}.jpg {class_id}\n")
            areas.append(fraction)
            bar.update()
    with open(tmp / f"{split}_list.txt", "w", encoding="utf-8") as f:
        f.writelines(lines)
    return areas


def make_classification_set(root: Union[str, os.PathLike], num_classes: int = 10,
                            images_per_class: int = 150, val_per_class: int = 20, seed: int = 0,
                            image_size: ImageSize = DEFAULT_IMAGE_SIZES,
                            area_range: Tuple[float, float] = DEFAULT_AREA_RANGE,
                            progress: bool = True) -> Dict[str, Any]:
    """Write (or reuse) the classification set at ``root`` (module doc): ``num_classes`` shape
    families (2..12), each image drawn from (seed, split, class, index) alone; no val split
    when ``val_per_class`` is 0. Returns the summary."""
    if images_per_class < 1 or val_per_class < 0:
        raise ValueError(f"images_per_class {images_per_class} / val_per_class {val_per_class}:"
                         " expected >= 1 / >= 0")
    lo, hi = float(area_range[0]), float(area_range[1])
    if not 0.0 < lo < hi <= 1.0:
        raise ValueError(f"area_range {area_range!r}: expected 0 < low < high <= 1")
    names = class_names_for(num_classes)
    sizes = normalise_sizes(image_size)
    settings = {"format_version": FORMAT_VERSION, "num_classes": num_classes,
                "images_per_class": images_per_class, "val_per_class": val_per_class,
                "seed": seed, "image_sizes": [list(s) for s in sizes], "area_range": [lo, hi]}
    counts = {"train": images_per_class, "val": val_per_class}

    def build(tmp: pathlib.Path) -> Dict[str, Any]:
        pssl_format.write_class_list(tmp / pssl_format.SYNSETS_FILE, names)
        areas: List[float] = []
        total = num_classes * (images_per_class + val_per_class)
        with tqdm(total=total, desc="classification set", disable=not progress,
                  leave=False) as bar:
            for split, count in counts.items():
                if count:
                    areas += _write_split(tmp, split, count, names, seed, sizes, (lo, hi), bar)
        all_areas = np.float64(areas)
        return {
            "kind": "classification", "class_names": names, "num_classes": num_classes,
            "counts": {s: c * num_classes for s, c in counts.items()},
            "image_sizes": [list(s) for s in sizes],
            "mask_encoding": f"single-channel PNG, 0 = background, {MASK_FOREGROUND} = object",
            "area_fraction": {"min": float(all_areas.min()), "mean": float(all_areas.mean()),
                              "max": float(all_areas.max())},
        }

    return build_atomically(root, settings, build)
