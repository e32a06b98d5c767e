"""``PSSLDataset``: ImageNet images with PSSL pseudo labels (arXiv 2207.03335: an image's top
decile of the consensus explanation takes its class, other pixels the background class).

It replaces PaddleSeg's built-in ``PSSLDataset`` in ``manager.DATASETS``, keeping its config keys
and release format, and adds the decile PNGs of :mod:`paddleseg_pssl.pssl_format`, configurable
decile->label mapping, labels resized to the image, and validation.
"""
import os
import warnings
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from paddleseg.cvlibs import manager
from paddleseg.datasets import Dataset
from paddleseg.transforms import Compose
import paddleseg.transforms.functional as F
from paddleseg.utils import logger

from paddleseg_pssl import pssl_format, subsets
from paddleseg_pssl.constants import (
    DECILE_COUNT, DEFAULT_FOREGROUND_DECILES, DEFAULT_IGNORE_DECILES, IGNORE_INDEX,
    IMAGENET_NUM_CLASSES, TOP_DECILE, UINT8_MAX, background_class_id, segmentation_num_classes)
from paddleseg_pssl.errors import PSSLConfigError, PSSLSampleError

#: How many offending paths, lines or names an error message lists before "...".
MAX_LISTED = 5
#: With ``skip_bad_samples``, how many samples in a row may be skipped before the data are
#: taken as broken and training stops.
MAX_SKIPPED_IN_A_ROW = 10


def _listed(items: Sequence, limit: int = MAX_LISTED) -> str:
    shown = ", ".join(str(item) for item in items[:limit])
    return shown + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")


def _decile_set(name: str, values: Optional[Iterable[int]]) -> Tuple[int, ...]:
    values = tuple(values or ())
    bad = [v for v in values if isinstance(v, bool) or not isinstance(v, (int, np.integer))
           or not 0 <= v <= TOP_DECILE]
    if bad:
        raise PSSLConfigError(
            f"{name} must hold decile values 0..{TOP_DECILE}, got {list(values)!r}")
    return tuple(sorted(set(int(v) for v in values)))


def replace_component(registry: manager.ComponentManager, component: type) -> type:
    """Register ``component`` in ``registry``, replacing any entry of its name with one debug line
    saying which class replaced which (PaddleSeg's own would warn generically)."""
    name = component.__name__
    previous = registry.components_dict.get(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        registry.add_component(component)
    if previous is not None and previous is not component:
        logger.debug(f"paddleseg_pssl: manager.{registry.name.upper()}[{name!r}] is now "
                     f"{component.__module__}.{component.__qualname__} "
                     f"(replacing {previous.__module__}.{previous.__qualname__})")
    return component


class PSSLDataset(Dataset):
    """ImageNet training images paired with PSSL pseudo segmentation labels.

    Labels are decile PNGs (``train.txt``, ``synsets.txt``) or the official release
    (``*.JPEG_eiseg.npz``, ``imagenet_lsvrc_2015_synsets.txt``), chosen per file by suffix;
    ``synsets.txt`` wins when both synsets files exist. With K classes in the synsets file,
    background is K and the model has K + 1 outputs (the class attributes are ImageNet-1k's;
    ``label_space_for_config`` reads the data). ``foreground_deciles`` (default [9]) take the
    image's class, ``ignore_deciles`` (the paper's ablation: [8]) ``ignore_index``, the rest the
    background. Labels are resized (nearest) to their image. A sample that cannot be loaded (a
    label of another aspect, for one) raises ``PSSLSampleError``, which stops training unless
    ``skip_bad_samples`` (logged and replaced; ``MAX_SKIPPED_IN_A_ROW`` + 1 in a row still
    stop). Construction refuses malformed lines, unknown classes and missing files (dropped
    with ``skip_missing``). ``subset``: a class-balanced sample count or fraction
    (``paddleseg_pssl.subsets``), chosen by ``subset_seed``. ``mode`` is only ``'train'``;
    ``edge`` adds the class-edge map; ``verify_files`` checks every listed file exists.
    """
    NUM_CLASSES = segmentation_num_classes(IMAGENET_NUM_CLASSES)
    IGNORE_INDEX = pssl_format.ignore_index_for(NUM_CLASSES)
    IMG_CHANNELS = 3
    ignore_index = IGNORE_INDEX

    def __init__(self, transforms: list, imagenet_root: str, pssl_root: str, mode: str = "train",
                 edge: bool = False,
                 foreground_deciles: Iterable[int] = DEFAULT_FOREGROUND_DECILES,
                 ignore_deciles: Iterable[int] = DEFAULT_IGNORE_DECILES,
                 skip_missing: bool = False, verify_files: bool = True,
                 subset: Optional[subsets.SubsetSize] = None, subset_seed: int = 0,
                 skip_bad_samples: bool = False) -> None:
        # Not Dataset.__init__: it reads a two-column list under one root.
        if str(mode).lower() != "train":
            raise PSSLConfigError(f"mode must be 'train' (PSSL labels exist for training images "
                                  f"only), got {mode!r}")
        if transforms is None:
            raise PSSLConfigError("transforms is None; expected a list of PaddleSeg transforms")
        for name, root in (("imagenet_root", imagenet_root), ("pssl_root", pssl_root)):
            if root is None or not os.path.isdir(root):
                raise PSSLConfigError(f"{name} {root!r} is not a directory")
        self.transforms = Compose(transforms, img_channels=self.IMG_CHANNELS)
        self.mode = "train"
        self.edge = edge
        self.skip_bad_samples = bool(skip_bad_samples)
        self.img_channels = self.IMG_CHANNELS
        self.imagenet_root = imagenet_root
        self.pssl_root = pssl_root
        self.dataset_root = pssl_root

        self._set_deciles(foreground_deciles, ignore_deciles)
        self._set_label_space(pssl_root)
        self._align_label_padding()
        # The generator's resolution, so its capped labels of extreme-aspect strips fit.
        self.label_resolution = pssl_format.read_label_resolution(pssl_root)

        self.file_list: List[List[str]] = []
        self.class_ids: List[int] = []
        self._read_list(skip_missing, verify_files)
        if subset is not None:
            self._keep_subset(subsets.parse_size(subset, "train_dataset.subset"), subset_seed)
        if any(pssl_format.is_release_label(lbl) for _, lbl in self.file_list) \
                and (self.foreground_deciles != (TOP_DECILE,) or self.ignore_deciles):
            raise PSSLConfigError(
                "binary release labels (*_eiseg.npz) only separate the top decile from the rest; "
                f"foreground_deciles={list(self.foreground_deciles)} and "
                f"ignore_deciles={list(self.ignore_deciles)} need decile PNG labels")

        # Decile -> label value, one table lookup per pixel.
        self._decile_lut = np.full(DECILE_COUNT, self.background_id, dtype=self.label_dtype)
        self._decile_lut[list(self.ignore_deciles)] = self.ignore_index
        self._fg_mask = np.zeros(DECILE_COUNT, dtype=bool)
        self._fg_mask[list(self.foreground_deciles)] = True

    def _set_deciles(self, foreground_deciles: Iterable[int],
                     ignore_deciles: Iterable[int]) -> None:
        """Validate and keep which deciles take the image's class and which are ignored."""
        self.foreground_deciles = _decile_set("foreground_deciles", foreground_deciles)
        self.ignore_deciles = _decile_set("ignore_deciles", ignore_deciles)
        if not self.foreground_deciles:
            raise PSSLConfigError("foreground_deciles is empty; expected at least one decile "
                                  f"(the paper uses [{TOP_DECILE}])")
        both = sorted(set(self.foreground_deciles) & set(self.ignore_deciles))
        if both:
            raise PSSLConfigError(
                f"deciles {both} are in both foreground_deciles and ignore_deciles")

    def _set_label_space(self, pssl_root: str) -> None:
        """Class names, ids, background id, ignore index and label dtype, from the synsets."""
        self.synsets_path, self.class_names = self._read_synsets(pssl_root)
        self.class_id_dict: Dict[str, int] = {n: i for i, n in enumerate(self.class_names)}
        num_object_classes = len(self.class_names)
        self.background_id = background_class_id(num_object_classes)
        self.num_classes = segmentation_num_classes(num_object_classes)
        self.ignore_index = pssl_format.ignore_index_for(self.num_classes)
        self.label_dtype = np.uint8 if max(self.num_classes, self.ignore_index) <= UINT8_MAX \
            else np.int32
        if (self.num_classes, self.ignore_index) != (self.NUM_CLASSES, self.IGNORE_INDEX):
            logger.info(
                f"PSSLDataset: {num_object_classes} classes in {self.synsets_path}: num_classes "
                f"{self.num_classes}, ignore_index {self.ignore_index} (read from the data, "
                f"not from the ImageNet-1k class attributes {self.NUM_CLASSES}/"
                f"{self.IGNORE_INDEX})")

    @classmethod
    def label_space_for_config(cls, dataset_cfg: dict) -> Tuple[int, int]:
        """(num_classes, ignore_index) of the data a ``train_dataset`` config points at: the hook
        the builder sizes the model and losses by ((1001, 1001) for ImageNet-1k)."""
        pssl_root = dataset_cfg.get("pssl_root")
        if pssl_root is None or not os.path.isdir(pssl_root):
            raise PSSLConfigError(f"train_dataset.pssl_root {pssl_root!r} is not a directory")
        _, names = cls._read_synsets(pssl_root)
        num_classes = segmentation_num_classes(len(names))
        return num_classes, pssl_format.ignore_index_for(num_classes)

    def _align_label_padding(self) -> None:
        """Make every transform pad labels with ``ignore_index``: PaddleSeg's default 255 is a
        class id past 255 classes, so it is switched (logged); any other value is an error."""
        for op in self.transforms.transforms:
            changed = []
            for attr in ("label_padding_value", "ignore_index"):
                value = getattr(op, attr, None)
                if not isinstance(value, (int, np.integer)) or value == self.ignore_index:
                    continue
                if value != IGNORE_INDEX:
                    raise PSSLConfigError(
                        f"{type(op).__name__}.{attr} is {value}, but this dataset's ignore_index "
                        f"is {self.ignore_index}; set {attr}: {self.ignore_index} or leave it "
                        "unset")
                setattr(op, attr, self.ignore_index)
                changed.append(attr)
            if "label_padding_value" in changed:
                logger.info(f"PSSLDataset: {type(op).__name__}.label_padding_value "
                            f"{IGNORE_INDEX} -> {self.ignore_index} (the ignore index; "
                            f"{IGNORE_INDEX} is a class id with {self.num_classes} classes)")

    @staticmethod
    def _read_synsets(pssl_root: str) -> Tuple[str, List[str]]:
        path = pssl_format.find_class_list(pssl_root)
        return path, pssl_format.read_class_list(path).ids

    def _read_list(self, skip_missing: bool, verify_files: bool) -> None:
        list_path = os.path.join(self.pssl_root, pssl_format.TRAIN_LIST_FILE)
        if not os.path.isfile(list_path):
            raise PSSLConfigError(
                f"pssl_root {self.pssl_root!r} has no {pssl_format.TRAIN_LIST_FILE!r} "
                "(one label path per line)")
        malformed: List[str] = []
        unknown: Dict[str, int] = {}
        missing: List[str] = []
        missing_samples = 0
        for line_no, entry in pssl_format.iter_train_list(list_path):
            if isinstance(entry, ValueError):
                malformed.append(f"line {line_no}: {entry}")
                continue
            label_rel, image_rel = entry
            class_name = pssl_format.class_name_of_label(label_rel)
            if class_name not in self.class_id_dict:
                unknown[class_name] = unknown.get(class_name, 0) + 1
                continue
            image_path = pssl_format.join_relpath(self.imagenet_root, image_rel)
            label_path = pssl_format.join_relpath(self.pssl_root, label_rel)
            if verify_files:
                absent = [p for p in (image_path, label_path) if not os.path.isfile(p)]
                if absent:
                    missing.extend(absent)
                    missing_samples += 1
                    continue
            self.file_list.append([image_path, label_path])
            self.class_ids.append(self.class_id_dict[class_name])
        if malformed:
            raise PSSLConfigError(
                f"{list_path}: {len(malformed)} malformed lines, expected "
                f"'<label relpath>[<tab><image relpath>]' with a label ending in "
                f"{pssl_format.LABEL_SUFFIX!r} or {pssl_format.RELEASE_LABEL_SUFFIX!r}: "
                f"{_listed(malformed)}")
        if unknown:
            names = [f"{n!r} ({c} samples)" for n, c in sorted(unknown.items())]
            raise PSSLConfigError(f"{list_path}: {len(unknown)} class folders are absent from "
                                  f"{self.synsets_path}: {_listed(names)}")
        if missing:
            message = (f"{list_path}: {missing_samples} samples have missing files "
                       f"({len(missing)} paths): {_listed(missing)}")
            if not skip_missing:
                raise PSSLConfigError(message + "; set skip_missing: true to drop them")
            logger.warning(message + "; skipped (skip_missing)")
        if not self.file_list:
            raise PSSLConfigError(f"{list_path}: no usable samples")

    def _keep_subset(self, spec: subsets.SubsetSpec, seed: int) -> None:
        """Keep a class-balanced subset of the samples, with one log line recording it."""
        total = len(self.file_list)
        keep = subsets.balanced_indices(self.class_ids, spec, seed, key="train_dataset.subset")
        self.file_list = [self.file_list[i] for i in keep]
        self.class_ids = [self.class_ids[i] for i in keep]
        counts = subsets.per_class_counts(self.class_ids).values()
        logger.info(f"PSSLDataset: class-balanced subset ({spec.describe()}, seed {seed}): "
                    f"{len(keep)} of {total} samples, {len(counts)} classes, "
                    f"{min(counts)}-{max(counts)} per class")

    def read_label(self, label_path: str, class_id: int) -> np.ndarray:
        """The label of one file at its stored resolution: (H, W) of ``label_dtype``."""
        try:
            if pssl_format.is_release_label(label_path):
                values = pssl_format.read_release_npz(label_path)
                lut = np.array([self.background_id, class_id], dtype=self.label_dtype)
            else:
                values = pssl_format.read_decile_png(label_path)
                lut = self._decile_lut.copy()
                lut[self._fg_mask] = class_id
        except pssl_format.PSSLFormatError as e:
            raise PSSLSampleError(str(e)) from e
        return lut.take(values)

    def __getitem__(self, idx: int) -> dict:
        """One training sample, as ``paddleseg.datasets.Dataset`` returns it (with
        ``skip_bad_samples``, the first of it and the next ones that loads)."""
        if not self.skip_bad_samples:
            return self.load_sample(idx)
        for skipped in range(MAX_SKIPPED_IN_A_ROW + 1):
            index = (idx + skipped) % len(self)
            try:
                return self.load_sample(index)
            except PSSLSampleError as e:
                logger.warning(f"PSSLDataset: skipped sample {index} (skip_bad_samples): {e}")
        raise PSSLSampleError(f"sample {idx} and the {MAX_SKIPPED_IN_A_ROW} after it cannot be "
                              "loaded (skip_bad_samples): the data look broken; "
                              "tools/check_pssl.py lists every bad sample")

    def load_sample(self, idx: int) -> dict:
        """Sample ``idx``; :class:`PSSLSampleError` names its files when it cannot be loaded."""
        image_path, label_path = self.file_list[idx]
        try:
            image = pssl_format.read_training_image(image_path)
        except pssl_format.PSSLFormatError as e:
            raise PSSLSampleError(str(e)) from e
        # PaddleSeg's --repeats multiplies file_list alone: class_ids repeat with period len.
        label = self.read_label(label_path, self.class_ids[idx % len(self.class_ids)])
        height, width = image.shape[:2]
        if label.shape != (height, width):
            if not pssl_format.label_fits_image(label.shape, (height, width),
                                                self.label_resolution):
                raise PSSLSampleError(
                    f"label {label_path}: size {label.shape[1]}x{label.shape[0]} does not keep "
                    f"the aspect of image {image_path} ({width}x{height}); it belongs to "
                    "another image -- regenerate it (tools/check_pssl.py lists every such label)")
            label = cv2.resize(label, (width, height), interpolation=cv2.INTER_NEAREST)
        data = {"img": image.astype("float32"), "label": label,
                "trans_info": [], "gt_fields": ["label"]}
        try:
            data = self.transforms(data)
        except Exception as e:
            raise PSSLSampleError(f"transforms failed on sample {idx} (image {image_path}, "
                                  f"label {label_path}): {type(e).__name__}: {e}") from e
        if self.edge:
            data["edge"] = F.mask_to_binary_edge(data["label"], radius=2,
                                                 num_classes=self.num_classes)
        return data

    def __len__(self) -> int:
        return len(self.file_list)


replace_component(manager.DATASETS, PSSLDataset)
