"""Image decoding and model inputs for PSSL generation (arXiv 2207.03335, Section 3), as
training reads the image (EXIF orientation applied; explanation size of
:mod:`paddleseg_pssl.pssl_format.label_size`)."""
from __future__ import annotations

import os
from typing import Optional

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from paddleseg_pssl.constants import IMAGENET_INPUT_SIZE, UINT8_MAX
from paddleseg_pssl.errors import PSSLConfigError
from paddleseg_pssl.pssl_format.label_size import explanation_size


class ImageReadError(PSSLConfigError):
    """An image cannot be decoded; the runner records ``path`` and ``reason`` as a failure."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


def load_rgb(path: "str | os.PathLike") -> np.ndarray:
    """Decode an image file into (H, W, 3) uint8 RGB, EXIF orientation applied, as generation,
    training and the drawing tools see it; :class:`ImageReadError` for a file that is missing,
    empty, truncated, not an image or over-large."""
    path = os.fspath(path)
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise ImageReadError(path, f"cannot stat file ({exc.strerror or exc})") from None
    if size == 0:
        raise ImageReadError(path, "zero-byte file")
    try:
        with open(path, "rb") as f, Image.open(f) as img:
            img.load()  # decode now: truncated data fails here, not later
            img = ImageOps.exif_transpose(img)
            if img.mode in ("I;16", "I;16B", "I;16L", "I"):
                # 16/32-bit grey: scale to 8 bits instead of clipping at 255
                arr = np.asarray(img, dtype=np.float64)
                peak = arr.max() if arr.size and arr.max() > UINT8_MAX else float(UINT8_MAX)
                img = Image.fromarray(np.clip(arr * (UINT8_MAX / peak), 0,
                                              UINT8_MAX).astype(np.uint8))
            rgb = np.asarray(img.convert("RGB"), dtype=np.uint8)
    except UnidentifiedImageError:
        raise ImageReadError(path, "not an image file PIL can identify") from None
    except Image.DecompressionBombError as exc:
        raise ImageReadError(path, f"image too large ({exc})") from None
    except (OSError, SyntaxError, ValueError) as exc:  # truncated / corrupt data
        raise ImageReadError(path, f"corrupt or truncated image ({exc})") from None
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] < 1 or rgb.shape[1] < 1:
        raise ImageReadError(path, f"decoded to an unusable shape {rgb.shape}")
    return np.ascontiguousarray(rgb)


def resize_short_side(img: np.ndarray, short_side: int = IMAGENET_INPUT_SIZE,
                      max_long_side: Optional[int] = None) -> np.ndarray:
    """Resize to :func:`explanation_size` (short side ``short_side``, aspect kept, no crop)."""
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"img must be (H, W, 3), got shape {img.shape}")
    h, w = img.shape[:2]
    new_h, new_w = explanation_size(h, w, short_side, max_long_side)
    if (new_h, new_w) == (h, w):
        return img
    shrink = new_h * new_w < h * w
    return cv2.resize(img, (new_w, new_h),
                      interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def to_model_input(img_uint8: np.ndarray, spec) -> np.ndarray:
    """An (H, W, 3) uint8 image normalised for one classifier: (1, 3, H, W) float32,
    ``(x / 255 - mean) / std``; H = W = ``spec.input_size`` when ``spec.resize == 'square'``."""
    if img_uint8.ndim != 3 or img_uint8.shape[2] != 3:
        raise ValueError(f"img_uint8 must be (H, W, 3), got shape {img_uint8.shape}")
    img = img_uint8
    if spec.resize == "square":
        side = int(spec.input_size)
        if img.shape[:2] != (side, side):
            shrink = img.shape[0] * img.shape[1] > side * side
            img = cv2.resize(img, (side, side),
                             interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    elif spec.resize != "keep_aspect":
        raise ValueError(f"spec.resize must be 'keep_aspect' or 'square', got {spec.resize!r}")
    x = img.astype(np.float32) * np.float32(1.0 / UINT8_MAX)
    x -= np.asarray(spec.mean, dtype=np.float32)
    x /= np.asarray(spec.std, dtype=np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])
