"""Minimal on-disk layouts of the downstream datasets the fine-tuning configs name.

Each writer makes two tiny image/label pairs in the folder structure PaddleSeg's dataset
class (or ours, for CamVid) reads, so a config's datasets can be built without the data.
"""
import pathlib
from typing import Callable, Dict

import cv2
import numpy as np

IMAGE_HW = (24, 32)
SAMPLES = ("a", "b")


def _pair(image_path: pathlib.Path, label_path: pathlib.Path, num_classes: int) -> None:
    rng = np.random.default_rng(len(str(image_path)))
    for path in (image_path, label_path):
        path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(image_path), rng.integers(0, 256, (*IMAGE_HW, 3), dtype=np.uint8))
    cv2.imwrite(str(label_path), rng.integers(0, num_classes, IMAGE_HW, dtype=np.uint8))


def camvid(root: pathlib.Path) -> None:
    for split in ("train", "val", "test"):
        for name in SAMPLES:
            _pair(root / split / f"{name}.png", root / f"{split}annot" / f"{name}.png", 11)


def voc(root: pathlib.Path) -> None:
    voc2012 = root / "VOC2012"
    sets = voc2012 / "ImageSets" / "Segmentation"
    sets.mkdir(parents=True)
    for list_name in ("train.txt", "val.txt", "aug.txt"):
        (sets / list_name).write_text("\n".join(SAMPLES) + "\n")
    for name in SAMPLES:
        _pair(voc2012 / "JPEGImages" / f"{name}.jpg",
              voc2012 / "SegmentationClass" / f"{name}.png", 21)
        _pair(voc2012 / "JPEGImages" / f"{name}.jpg",
              voc2012 / "SegmentationClassAug" / f"{name}.png", 21)


def pascal_context(root: pathlib.Path) -> None:
    sets = root / "ImageSets" / "Segmentation"
    sets.mkdir(parents=True)
    for list_name in ("train_context.txt", "val_context.txt"):
        (sets / list_name).write_text("\n".join(SAMPLES) + "\n")
    for name in SAMPLES:
        _pair(root / "JPEGImages" / f"{name}.jpg", root / "Context" / f"{name}.png", 60)


def ade20k(root: pathlib.Path) -> None:
    for split in ("training", "validation"):
        for name in SAMPLES:
            _pair(root / "images" / split / f"{name}.jpg",
                  root / "annotations" / split / f"{name}.png", 150)


def cityscapes(root: pathlib.Path) -> None:
    for split in ("train", "val"):
        for name in SAMPLES:
            _pair(root / "leftImg8bit" / split / "city" / f"city_{name}_leftImg8bit.png",
                  root / "gtFine" / split / "city" / f"city_{name}_gtFine_labelTrainIds.png", 19)


#: Finetune folder name -> writer of a fake tree for it.
WRITERS: Dict[str, Callable[[pathlib.Path], None]] = {
    "camvid": camvid, "voc_aug": voc, "pascal_context": pascal_context, "ade20k": ade20k,
    "cityscapes": cityscapes,
}
