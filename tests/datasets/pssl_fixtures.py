"""Tiny PSSL trees (both label formats) built in a temporary directory."""
import os
import pathlib
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np

from paddleseg_pssl import pssl_format

CLASSES = ["n01440764", "n01443537", "n01484850"]


def imagenet_like_synsets(count: int = 1000) -> List[str]:
    """``count`` distinct folder names in WordNet-id style, the fixture classes first."""
    return CLASSES + [f"n9{i:07d}" for i in range(count - len(CLASSES))]


def write_image(path: pathlib.Path, height: int, width: int, seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    # PNG payload under a .JPEG name: OpenCV decodes by content, and pixels stay exact.
    ok, buf = cv2.imencode(".png", image)
    assert ok
    path.write_bytes(buf.tobytes())


def write_decile_png(path: pathlib.Path, deciles: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), deciles)


def write_release_npz(path: pathlib.Path, binary: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(str(path), binary)


def build_tree(root: pathlib.Path,
               labels: Dict[str, np.ndarray],
               image_size=(8, 12),
               release: bool = False,
               synsets: Optional[Sequence[str]] = None,
               extra_lines: Sequence[str] = ()) -> Dict[str, str]:
    """Images under ``root/imagenet`` and labels under ``root/pssl``.

    Args:
        labels: image name (``<class>_<n>.JPEG``) -> label map (deciles 0..9, or 0/1 for
            ``release``), at any resolution.
        image_size: (height, width) of every image.
        release: write the official ``*_eiseg.npz`` format instead of decile PNGs.
        synsets: class names; default ``CLASSES``.
        extra_lines: appended verbatim to train.txt.
    Returns:
        dict with ``imagenet_root`` and ``pssl_root``.
    """
    imagenet_root = root / "imagenet"
    pssl_root = root / "pssl"
    pssl_root.mkdir(parents=True, exist_ok=True)
    lines = []
    for i, (name, label) in enumerate(sorted(labels.items())):
        class_name = name.split("_")[0]
        write_image(imagenet_root / "train" / class_name / name, *image_size, seed=i)
        if release:
            rel = f"train/{class_name}/{name}{pssl_format.RELEASE_LABEL_SUFFIX}"
            write_release_npz(pssl_root / rel, label)
        else:
            rel = pssl_format.label_relpath(class_name, name)
            write_decile_png(pssl_root / rel, label)
        lines.append(rel)
    lines.extend(extra_lines)
    (pssl_root / pssl_format.TRAIN_LIST_FILE).write_text("\n".join(lines) + "\n")
    synsets_name = pssl_format.RELEASE_SYNSETS_FILE if release else pssl_format.SYNSETS_FILE
    (pssl_root / synsets_name).write_text("\n".join(synsets or CLASSES) + "\n")
    return {"imagenet_root": os.fspath(imagenet_root), "pssl_root": os.fspath(pssl_root)}
