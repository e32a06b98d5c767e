"""Any ImageNet-layout folder as in-memory, aspect-bucketed training batches (miniature demo).

Class ids come from ``<root>/synsets.txt``, else the sorted folder names. Each image is resized
to short side ``input_size`` keeping its aspect, and images of one size are batched together,
so nothing is cropped or squashed. Tensors are NCHW float32 RGB in [0, 1] normalised with
``MEAN`` / ``STD`` (PaddleSeg's default ``Normalize``).
"""
import os
import pathlib
from typing import Dict, List, Sequence, Tuple, Union

import cv2
import numpy as np
import paddle

from paddleseg_pssl import pssl_format
from paddleseg_pssl.constants import IMAGE_EXTENSIONS, UINT8_MAX

MEAN: Tuple[float, float, float] = (0.5, 0.5, 0.5)
STD: Tuple[float, float, float] = (0.5, 0.5, 0.5)
DEFAULT_INPUT_SIZE: int = 64
#: Long sides of aspect buckets are rounded to this multiple (the nets' total stride).
BUCKET_MULTIPLE: int = 16
#: Long sides are at most this many times the short side.
MAX_ASPECT: int = 2
#: Pixels by which ``augment`` shifts a batch at most (reflect padding).
SHIFT_PX: int = 4

#: {(h, w): (uint8 RGB images (N, h, w, 3), int64 class ids (N,))}
Buckets = Dict[Tuple[int, int], Tuple[np.ndarray, np.ndarray]]


def folder_class_names(data_root: Union[str, os.PathLike], split: str = "train") -> List[str]:
    """Class names in id order: ``<root>/synsets.txt`` if present, else the sorted class
    folders of ``<root>/<split>``."""
    root = pathlib.Path(data_root)
    synsets = root / pssl_format.SYNSETS_FILE
    if synsets.is_file():
        return pssl_format.read_class_list(synsets).ids
    split_dir = root / split
    if not split_dir.is_dir():
        raise ValueError(f"data_root {str(root)!r} has neither {pssl_format.SYNSETS_FILE} nor a "
                         f"{split!r} folder; expected <root>/<split>/<class>/<image> "
                         "(ImageNet layout)")
    names = sorted(p.name for p in split_dir.iterdir() if p.is_dir())
    if not names:
        raise ValueError(f"data_root {str(root)!r}: no classes found")
    return names


def bucket_size(height: int, width: int, input_size: int,
                multiple: int = BUCKET_MULTIPLE) -> Tuple[int, int]:
    """(h, w) of an image resized to short side `input_size`, long side rounded to `multiple`."""
    scale = input_size / min(height, width)
    long_side = max(height, width) * scale
    long_side = min(max(int(round(long_side / multiple)) * multiple, input_size),
                    MAX_ASPECT * input_size)
    return (input_size, long_side) if height <= width else (long_side, input_size)


def load_image_folder(data_root: Union[str, os.PathLike], split: str,
                      class_names: Sequence[str], input_size: int = DEFAULT_INPUT_SIZE
                      ) -> Buckets:
    """Decode every image of ``<root>/<split>/<class>/`` into aspect buckets, sorted by size."""
    split_dir = pathlib.Path(data_root) / split
    if not split_dir.is_dir():
        raise ValueError(f"split folder {str(split_dir)!r} does not exist; expected "
                         "<data_root>/<split>/<class>/<image>")
    buckets: Dict[Tuple[int, int], Tuple[List[np.ndarray], List[int]]] = {}
    for class_id, name in enumerate(class_names):
        class_dir = split_dir / name
        if not class_dir.is_dir():
            continue
        for path in sorted(class_dir.iterdir()):
            if path.suffix.lower() not in IMAGE_EXTENSIONS:
                continue
            bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if bgr is None:
                raise ValueError(f"image {str(path)!r} could not be decoded")
            size = bucket_size(bgr.shape[0], bgr.shape[1], input_size)
            if bgr.shape[:2] != size:
                bgr = cv2.resize(bgr, (size[1], size[0]), interpolation=cv2.INTER_AREA)
            images, labels = buckets.setdefault(size, ([], []))
            images.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            labels.append(class_id)
    if not buckets:
        raise ValueError(f"split folder {str(split_dir)!r} holds no images of the classes "
                         f"{list(class_names)[:5]}...")
    return {size: (np.stack(imgs), np.int64(labels))
            for size, (imgs, labels) in sorted(buckets.items())}


def to_tensor(images: np.ndarray) -> paddle.Tensor:
    """uint8 RGB (N, H, W, 3) -> normalised float32 (N, 3, H, W)."""
    x = images.astype(np.float32) / UINT8_MAX
    x = (x - np.float32(MEAN)) / np.float32(STD)
    return paddle.to_tensor(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def augment(rng: np.random.Generator, images: np.ndarray, pad: int = SHIFT_PX) -> np.ndarray:
    """Class-preserving augmentation of a same-size batch: flips, 90-degree turns (whole batch,
    so the batch keeps one size), channel permutations (colour is not a class cue), shifts."""
    n, h, w, _ = images.shape
    out = images.copy()
    flip_h = rng.random(n) < 0.5
    out[flip_h] = out[flip_h, :, ::-1]
    flip_v = rng.random(n) < 0.5
    out[flip_v] = out[flip_v, ::-1]
    for i in range(n):
        out[i] = out[i][..., rng.permutation(3)]
    padded = np.pad(out, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect")
    dy, dx = rng.integers(0, 2 * pad + 1, 2)
    out = padded[:, dy:dy + h, dx:dx + w]
    k = int(rng.integers(4))
    return np.ascontiguousarray(np.rot90(out, k, axes=(1, 2)))


def batches(rng: np.random.Generator, buckets: Buckets, batch_size: int,
            shuffle: bool) -> List[Tuple[np.ndarray, np.ndarray]]:
    """(images, labels) batches, each from one bucket; bucket-internal and batch order shuffled."""
    out = []
    for images, labels in buckets.values():
        order = rng.permutation(len(labels)) if shuffle else np.arange(len(labels))
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            if shuffle and len(idx) < 2:  # BatchNorm needs 2 samples
                continue
            out.append((images[idx], labels[idx]))
    if shuffle:
        out = [out[i] for i in rng.permutation(len(out))]
    return out


def subsample(buckets: Buckets, max_images: int, seed: int) -> Buckets:
    """The first `max_images` images of a seeded shuffle, kept in their buckets."""
    sizes = [s for s, (_, labels) in buckets.items() for _ in labels]
    index = [i for _, (_, labels) in buckets.items() for i in range(len(labels))]
    keep = np.random.default_rng(seed).permutation(len(sizes))[:max_images]
    out = {}
    for size in buckets:
        idx = sorted(index[k] for k in keep if sizes[k] == size)
        if idx:
            images, labels = buckets[size]
            out[size] = (images[idx], labels[idx])
    return out
