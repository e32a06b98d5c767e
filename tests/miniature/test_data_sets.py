"""The miniature data sets: deterministic bytes, layout, class coverage, mask areas."""
import hashlib
import pathlib

import cv2
import numpy as np
import pytest

from paddleseg_pssl.miniature.classification_set import (
    DEFAULT_AREA_RANGE, MASK_FOREGROUND, make_classification_set)
from paddleseg_pssl.miniature.segmentation_set import make_segmentation_set


def _digest(root: pathlib.Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def cls_root(tmp_path_factory) -> pathlib.Path:
    root = tmp_path_factory.mktemp("cls") / "set"
    make_classification_set(root, num_classes=10, images_per_class=3, val_per_class=1, seed=3,
                            progress=False)
    return root


def test_classification_set_is_deterministic(cls_root, tmp_path):
    again = tmp_path / "again"
    make_classification_set(again, num_classes=10, images_per_class=3, val_per_class=1, seed=3,
                            progress=False)
    assert _digest(again) == _digest(cls_root)
    other = tmp_path / "other"
    make_classification_set(other, num_classes=10, images_per_class=3, val_per_class=1, seed=4,
                            progress=False)
    assert _digest(other) != _digest(cls_root)


def test_classification_layout_and_coverage(cls_root):
    names = (cls_root / "synsets.txt").read_text().split()
    assert len(names) == 10 and names == sorted(names) and len(set(names)) == 10
    for split, count in (("train", 3), ("val", 1)):
        assert sorted(p.name for p in (cls_root / split).iterdir()) == names
        lines = (cls_root / f"{split}_list.txt").read_text().splitlines()
        assert len(lines) == 10 * count
        for line in lines:
            rel, class_id = line.split()
            assert (cls_root / rel).is_file()
            assert pathlib.PurePosixPath(rel).parent.name == names[int(class_id)]
        for name in names:
            images = sorted((cls_root / split / name).glob("*.jpg"))
            masks = sorted((cls_root / "masks" / split / name).glob("*.png"))
            assert len(images) == count
            assert [p.stem for p in masks] == [p.stem for p in images]


def test_masks_are_binary_and_within_area_range(cls_root):
    lo, hi = DEFAULT_AREA_RANGE
    for mask_path in (cls_root / "masks").rglob("*.png"):
        mask = cv2.imread(str(mask_path), cv2.IMREAD_UNCHANGED)
        image_path = (cls_root / mask_path.relative_to(cls_root / "masks")).with_suffix(".jpg")
        image = cv2.imread(str(image_path))
        assert mask.ndim == 2 and mask.shape == image.shape[:2]
        assert set(np.unique(mask)) <= {0, MASK_FOREGROUND}
        assert lo <= float((mask > 127).mean()) <= hi


def test_reuse_and_conflicting_settings(cls_root):
    summary = make_classification_set(cls_root, num_classes=10, images_per_class=3,
                                      val_per_class=1, seed=3, progress=False)
    assert summary["reused"] and summary["num_classes"] == 10
    with pytest.raises(ValueError, match="other settings"):
        make_classification_set(cls_root, num_classes=10, images_per_class=4, val_per_class=1,
                                seed=3, progress=False)


def test_segmentation_set_layout_and_paddleseg_dataset(tmp_path):
    root = tmp_path / "seg"
    summary = make_segmentation_set(root, seed=1, train_images=4, val_images=2, progress=False)
    assert summary["num_classes"] == len(summary["class_names"]) == 9
    assert summary["class_names"][0] == "background"
    assert set(summary["new_classes"]).isdisjoint(
        make_classification_set(tmp_path / "c", num_classes=10, images_per_class=1,
                                val_per_class=0, progress=False)["class_names"])
    again = tmp_path / "seg2"
    make_segmentation_set(again, seed=1, train_images=4, val_images=2, progress=False)
    assert _digest(again) == _digest(root)
    for split, count in (("train", 4), ("val", 2)):
        lines = (root / f"{split}.txt").read_text().splitlines()
        assert len(lines) == count
        for line in lines:
            image_rel, label_rel = line.split()
            assert image_rel.startswith("images/") and label_rel.startswith("labels/")
            label = cv2.imread(str(root / label_rel), cv2.IMREAD_UNCHANGED)
            assert label.dtype == np.uint8 and label.ndim == 2
            assert label.max() < summary["num_classes"] and len(np.unique(label)) >= 2

    import paddleseg.transforms as T
    from paddleseg.datasets import Dataset

    dataset = Dataset(transforms=[T.Normalize()], dataset_root=str(root),
                      num_classes=summary["num_classes"], mode="train",
                      train_path=str(root / "train.txt"))
    sample = dataset[0]
    assert sample["img"].shape == (3, 96, 96) and sample["label"].shape[-2:] == (96, 96)
