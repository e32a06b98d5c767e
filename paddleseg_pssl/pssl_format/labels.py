"""Label files, and the rules tying a label to its image and to the loss: the decile PNG
(single-channel uint8, deciles 0..9, Eq. 2 of arXiv 2207.03335) and the release
``*_eiseg.npz`` (``arr_0`` a 0/1 map, 1 = the top decile)."""
import json
import os
from typing import Any, Dict, Mapping, Optional, Tuple

import cv2
import numpy as np

from paddleseg_pssl.constants import IGNORE_INDEX, TOP_DECILE
from paddleseg_pssl.pssl_format.errors import PSSLFormatError
from paddleseg_pssl.pssl_format.label_size import explanation_size
from paddleseg_pssl.pssl_format.layout import MANIFEST_FILE

#: zlib level of the decile PNGs (smallest files; the bytes are deterministic per OpenCV build).
DEFAULT_PNG_COMPRESSION = 9
#: The key of the map inside a release npz, and its largest value.
RELEASE_LABEL_KEY = "arr_0"
RELEASE_TOP_VALUE = 1
#: A label may differ from its image's aspect by this many label pixels (rounding of one side).
ASPECT_TOLERANCE_PX = 1.0
#: Bad values quoted in an error at most.
MAX_QUOTED_VALUES = 10


def encode_decile_png(deciles: np.ndarray,
                        compression: int = DEFAULT_PNG_COMPRESSION) -> bytes:
    """PNG bytes of an (H, W) uint8 map of deciles 0..9 (ValueError otherwise)."""
    arr = np.ascontiguousarray(deciles)
    if arr.dtype != np.uint8 or arr.ndim != 2 or (arr.size and arr.max() > TOP_DECILE):
        raise ValueError(f"a decile label must be a 2-D uint8 map in 0..{TOP_DECILE}, got "
                         f"{arr.dtype} {arr.shape}")
    ok, buf = cv2.imencode(".png", arr, [cv2.IMWRITE_PNG_COMPRESSION, int(compression)])
    if not ok:
        raise RuntimeError(f"OpenCV could not encode a {arr.shape} label as PNG")
    return buf.tobytes()


def _checked(values: np.ndarray, top: int, path: str) -> np.ndarray:
    """``values`` as uint8 when it is an (H, W) integer map of 0..top."""
    if values.ndim != 2 or values.size == 0:
        raise PSSLFormatError(f"label {path}: shape {values.shape}; expected a single-channel "
                              "(H, W) map", path)
    if values.dtype == bool:
        values = values.view(np.uint8)
    if not np.issubdtype(values.dtype, np.integer):
        raise PSSLFormatError(f"label {path}: dtype {values.dtype}; expected integers "
                              f"0..{top}", path)
    if values.max() > top or (values.dtype.kind == "i" and values.min() < 0):
        bad = np.unique(values[(values < 0) | (values > top)])
        raise PSSLFormatError(f"label {path}: values {bad[:MAX_QUOTED_VALUES].tolist()}; "
                              f"expected 0..{top}", path)
    return values.astype(np.uint8, copy=False)


def read_decile_png(path: str) -> np.ndarray:
    """The (H, W) uint8 deciles 0..9 of a PSSL label PNG."""
    values = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if values is None:
        raise PSSLFormatError(f"label {path}: cannot be read as an image; expected a "
                              f"single-channel uint8 PNG of deciles 0..{TOP_DECILE}", path)
    return _checked(values, TOP_DECILE, path)


def read_release_npz(path: str) -> np.ndarray:
    """The (H, W) uint8 0/1 map of an official release label (``*_eiseg.npz``)."""
    try:
        with np.load(path) as npz:
            values = npz[RELEASE_LABEL_KEY]
    except Exception as e:  # zip, pickle or key errors all mean: not a release label
        raise PSSLFormatError(f"label {path}: cannot read key {RELEASE_LABEL_KEY!r} of the npz "
                              f"({type(e).__name__}: {e}); expected a 0/1 map", path) from e
    return _checked(values, RELEASE_TOP_VALUE, path)


def aspect_matches(label_hw: Tuple[int, int], image_hw: Tuple[int, int]) -> bool:
    """Whether a label of (H, W) ``label_hw`` keeps the aspect of its image, up to the rounding
    of one side (:data:`ASPECT_TOLERANCE_PX` label pixels)."""
    (lh, lw), (ih, iw) = label_hw, image_hw
    if min(lh, lw, ih, iw) < 1:
        return False
    return min(abs(lw - lh * iw / ih), abs(lh - lw * ih / iw)) <= ASPECT_TOLERANCE_PX


def read_label_resolution(pssl_root: str) -> Optional[Dict[str, Any]]:
    """The generator's ``resolution`` settings recorded in ``manifest.json``, or None."""
    try:
        with open(os.path.join(pssl_root, MANIFEST_FILE), encoding="utf-8") as f:
            resolution = json.load(f)["settings"]["resolution"]
        return {"short_side": int(resolution["short_side"]),
                "max_long_side": resolution.get("max_long_side")}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def label_fits_image(label_hw: Tuple[int, int], image_hw: Tuple[int, int],
                     resolution: Optional[Mapping[str, Any]] = None) -> bool:
    """Whether a label of size ``label_hw`` belongs to an image of size ``image_hw``: same aspect
    up to rounding, or exactly the generator's (capped) size for it under ``resolution``."""
    return aspect_matches(label_hw, image_hw) or \
        tuple(label_hw) == generated_label_size(image_hw, resolution)


def generated_label_size(image_hw: Tuple[int, int], resolution: Optional[Mapping[str, Any]]
                         ) -> Optional[Tuple[int, int]]:
    """(H, W) the generator gives the label of an image of ``image_hw`` under ``resolution``
    (as :func:`read_label_resolution` returns it); None without a usable resolution."""
    if resolution is None:
        return None
    try:
        return explanation_size(int(image_hw[0]), int(image_hw[1]),
                                int(resolution["short_side"]), resolution.get("max_long_side"))
    except (ValueError, KeyError, TypeError):
        return None


def ignore_index_for(num_classes: int) -> int:
    """The label value the loss and metrics skip for ``num_classes`` outputs: 255 while it is
    not a class id, else ``num_classes`` (1001 for ImageNet-1k, as PaddleSeg's ``PSSLDataset``)."""
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    return IGNORE_INDEX if num_classes <= IGNORE_INDEX else num_classes
