"""Ground-truth masks for scoring PSSL labels (Li et al., arXiv 2207.03335).

Scoring a label needs, for its image, a foreground mask (pixels of the image's class) and a
validity mask (annotated pixels). Three on-disk encodings are read:

``binary``
    single-channel PNG, 0 = background and either 1 or 255 = foreground. A mask holding
    0, 1 *and* 255 is read VOC-style: 1 = foreground, 255 = ignore.
``class_index``
    single-channel (or palette) PNG of class ids; a pixel is foreground when it equals the
    image's class id (its index in the PSSL ``synsets.txt``, plus an optional offset for
    masks whose class 0 is background), and ignored when it equals ``ignore_value``.
``imagenet_s``
    ImageNet-S (Gao et al., arXiv 2106.03149, github.com/LUSSeg/ImageNet-S) RGB PNGs:
    class id = R + 256 * G; 0 = "other category" (background), 1000 = ignored;
    ids 1..919 number the ImageNet-S categories in *sorted* WordNet-id order. Without a
    category list every annotated object (id not 0, not 1000) is foreground; with one
    (``imagenet_s_class_ids``) only the image's own class is.

Masks are matched to labels by the image path (:func:`mask_relpath_candidates`) and resized
with nearest-neighbour to the label size.
"""
import os
import pathlib
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Tuple

import numpy as np
from PIL import Image

from paddleseg_pssl.constants import IGNORE_INDEX
from paddleseg_pssl.errors import PSSLConfigError
from paddleseg_pssl.pssl_format import join_relpath

MASK_FORMATS: Tuple[str, ...] = ("binary", "class_index", "imagenet_s")

#: ImageNet-S encoding (README of github.com/LUSSeg/ImageNet-S, "Q&A").
IMAGENET_S_BACKGROUND_ID: int = 0
IMAGENET_S_IGNORE_ID: int = 1000
IMAGENET_S_G_FACTOR: int = 256

#: ImageNet-S-919 merges these ImageNet classes into another one (key merged into value).
IMAGENET_S_919_MERGES: Dict[str, str] = {
    "n04356056": "n04355933", "n04493381": "n02808440", "n03642806": "n03832673",
    "n04008634": "n03773504", "n03887697": "n15075141"}

#: Default ignore value of class-index masks (PaddleSeg's convention).
DEFAULT_CLASS_INDEX_IGNORE: int = IGNORE_INDEX

#: A uint8 mask's white: the object in 0/255 binary masks, ignored in VOC-style 0/1/255 ones.
MASK_WHITE: int = 255

DEFAULT_MASK_EXTENSION = ".png"


class MaskFormatError(PSSLConfigError):
    """A mask file does not hold what its declared format expects; the fix names the
    ``mask_format`` option."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ["mask_format"])


@dataclass
class MaskSpec:
    """How to read ground-truth masks (formats: module docstring).

    ``class_ids``: class name -> its pixel value (``class_index``, :func:`class_index_ids`) or
    its ImageNet-S id (optional, :func:`imagenet_s_class_ids`); ``ignore_value``: the
    ``class_index`` value of unannotated pixels; ``binary_ignore``: a ``binary`` value always
    unannotated, every other non-zero one object (None: the module docstring's value-set rule).
    """
    mask_format: str
    class_ids: Optional[Mapping[str, int]] = None
    ignore_value: Optional[int] = DEFAULT_CLASS_INDEX_IGNORE
    binary_ignore: Optional[int] = None

    def __post_init__(self) -> None:
        if self.mask_format not in MASK_FORMATS:
            raise ValueError(f"mask_format must be one of {MASK_FORMATS}, got {self.mask_format!r}")
        if self.mask_format == "class_index" and self.class_ids is None:
            raise ValueError("mask_format 'class_index' needs class_ids (class name -> pixel "
                             "value), e.g. class_index_ids(synsets)")


def class_index_ids(class_names: List[str], offset: int = 0) -> Dict[str, int]:
    """Class name -> pixel value for class-index masks: position in ``class_names`` + ``offset``
    (1 for masks whose value 0 is background)."""
    return {name: i + offset for i, name in enumerate(class_names)}


def imagenet_s_class_ids(categories_file: str) -> Dict[str, int]:
    """WordNet id -> ImageNet-S id: its 1-based position in the *sorted* ids of a category list
    (``ImageNetS_categories_im{50,300,919}.txt``); classes ImageNet-S-919 merges take the id of
    the class they are merged into."""
    path = pathlib.Path(categories_file)
    if not path.is_file():
        raise PSSLConfigError(f"ImageNet-S category list {str(path)!r} is not a file; expected "
                              "ImageNetS_categories_im{50,300,919}.txt (one WordNet id a line)")
    with open(path, encoding="utf-8") as f:
        wnids = [line.split()[0] for line in f if line.strip()]
    if not wnids:
        raise PSSLConfigError(f"ImageNet-S category list {str(path)!r} is empty; expected one "
                              "WordNet id per line")
    ids = {wnid: i + 1 for i, wnid in enumerate(sorted(set(wnids)))}
    for merged, into in IMAGENET_S_919_MERGES.items():
        if into in ids and merged not in ids:
            ids[merged] = ids[into]
    return ids


def _single_channel(arr: np.ndarray, what: str) -> np.ndarray:
    if arr.ndim == 2:
        return arr
    if arr.ndim == 3 and arr.shape[2] in (3, 4):
        rgb = arr[..., :3]
        if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2]):
            return rgb[..., 0]
        raise MaskFormatError(f"{what} masks must be single-channel (or grey RGB), got a colour "
                              f"image of shape {arr.shape}; ImageNet-S masks need "
                              "mask_format imagenet_s")
    raise MaskFormatError(f"{what} masks must be HxW, got shape {arr.shape}")


def decode_binary(arr: np.ndarray, ignore: Optional[int] = None
                  ) -> Tuple[np.ndarray, np.ndarray]:
    """(foreground, valid) boolean HxW maps of a binary mask (see module docstring); with
    ``ignore``, pixels of that value are unannotated and every other non-zero one is object."""
    arr = _single_channel(np.asarray(arr), "binary")
    values = set(np.unique(arr).tolist())
    if ignore is not None:
        if ignore == 0:
            raise MaskFormatError("the binary ignore value cannot be 0, the background value")
        if len(values - {0, ignore}) > 1:
            raise MaskFormatError(f"binary masks with ignore value {ignore} hold 0, one object "
                                  f"value and {ignore}, got values {sorted(values)[:8]}")
        valid = arr != ignore
        return (arr != 0) & valid, valid
    if values <= {0, 1}:
        return arr == 1, np.ones(arr.shape, dtype=bool)
    if values <= {0, MASK_WHITE}:
        return arr == MASK_WHITE, np.ones(arr.shape, dtype=bool)
    if values <= {0, 1, MASK_WHITE}:
        return arr == 1, arr != MASK_WHITE
    shown = sorted(values)[:8]
    raise MaskFormatError(f"binary masks hold 0/1 or 0/255 (or 0/1 with 255 = ignore), got "
                          f"values {shown}{'...' if len(values) > 8 else ''}; "
                          "class-id masks need mask_format class_index")


def decode_class_index(arr: np.ndarray, class_id: int,
                       ignore_value: Optional[int] = DEFAULT_CLASS_INDEX_IGNORE
                       ) -> Tuple[np.ndarray, np.ndarray]:
    """(foreground, valid): pixels equal to ``class_id``, pixels not equal to ``ignore_value``."""
    arr = _single_channel(np.asarray(arr), "class_index")
    if not np.issubdtype(arr.dtype, np.integer):
        raise MaskFormatError(f"class_index masks hold integer class ids, got dtype {arr.dtype}")
    valid = np.ones(arr.shape, dtype=bool) if ignore_value is None else arr != ignore_value
    return (arr == class_id) & valid, valid


def imagenet_s_ids(arr: np.ndarray) -> np.ndarray:
    """ImageNet-S class ids (R + 256 * G) of an HxWx3 (or x4) RGB mask, int32 HxW."""
    arr = np.asarray(arr)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise MaskFormatError(f"ImageNet-S masks are RGB PNGs (class id = R + 256*G), got shape "
                              f"{arr.shape}; single-channel masks need mask_format binary "
                              "or class_index")
    return arr[..., 0].astype(np.int32) + IMAGENET_S_G_FACTOR * arr[..., 1].astype(np.int32)


def decode_imagenet_s(arr: np.ndarray, class_id: Optional[int] = None
                      ) -> Tuple[np.ndarray, np.ndarray]:
    """(foreground, valid) of an HxWx3 ImageNet-S mask; ``class_id``: the image's ImageNet-S id
    (None: every annotated object is foreground)."""
    ids = imagenet_s_ids(arr)
    valid = ids != IMAGENET_S_IGNORE_ID
    fg = (ids != IMAGENET_S_BACKGROUND_ID) & valid if class_id is None else ids == class_id
    return fg, valid


def decode_mask(arr: np.ndarray, spec: MaskSpec, class_name: str
                ) -> Tuple[np.ndarray, np.ndarray]:
    """Decode a mask array of any supported format for an image of class ``class_name``."""
    if spec.mask_format == "binary":
        return decode_binary(arr, spec.binary_ignore)
    if spec.mask_format == "class_index":
        if class_name not in spec.class_ids:
            raise KeyError(f"class {class_name!r} has no class id in the class-index mapping")
        return decode_class_index(arr, spec.class_ids[class_name], spec.ignore_value)
    class_id = None
    if spec.class_ids is not None:
        if class_name not in spec.class_ids:
            raise KeyError(f"class {class_name!r} is not an ImageNet-S category of the given "
                           "category list")
        class_id = spec.class_ids[class_name]
    return decode_imagenet_s(arr, class_id)


def resize_nearest(mask: np.ndarray, out_hw: Tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of a boolean HxW mask to ``out_hw`` = (height, width)."""
    mask = np.asarray(mask, dtype=bool)
    h, w = int(out_hw[0]), int(out_hw[1])
    if mask.shape == (h, w):
        return mask
    img = Image.fromarray(mask.astype(np.uint8) * MASK_WHITE)
    return np.asarray(img.resize((w, h), Image.NEAREST)) > MASK_WHITE // 2


def load_mask(path: str, spec: MaskSpec, class_name: str,
              out_hw: Optional[Tuple[int, int]] = None) -> Tuple[np.ndarray, np.ndarray]:
    """(foreground, valid) boolean HxW maps of one mask file, resized to ``out_hw`` if given;
    MaskFormatError naming the file when it is unreadable or not ``spec.mask_format``."""
    try:
        with Image.open(path) as img:
            arr = np.asarray(img)  # palette PNGs stay indices, RGB stays RGB
    except (OSError, ValueError) as exc:
        raise MaskFormatError(f"cannot read mask {path!r}: {exc}") from exc
    try:
        fg, valid = decode_mask(arr, spec, class_name)
    except (MaskFormatError, KeyError) as exc:
        detail = exc.args[0] if exc.args else exc
        raise MaskFormatError(f"mask {path!r} ({spec.mask_format} format): {detail}") from exc
    if out_hw is not None:
        fg, valid = resize_nearest(fg, out_hw), resize_nearest(valid, out_hw)
    return fg, valid


def mask_relpath_candidates(image_rel: str, mask_ext: str = DEFAULT_MASK_EXTENSION,
                            mask_suffix: str = "", split_dir: str = "train") -> List[str]:
    """Relative mask paths tried, in order, for the image at ``image_rel``: for
    ``train/<class>/<stem>.JPEG``, ``train/<class>/<stem>.png``, ``train/<class>/<stem>.JPEG.png``
    (as the labels), then both without the split folder (ImageNet-S's layout), ``<class>/...``.
    ``mask_suffix`` goes before ``mask_ext`` (``_mask`` finds ``<stem>_mask.png``).
    """
    posix = pathlib.PurePosixPath(image_rel)
    bases = [str(posix)]
    if split_dir and posix.parts and posix.parts[0] == split_dir and len(posix.parts) > 1:
        bases.append(str(pathlib.PurePosixPath(*posix.parts[1:])))
    out: List[str] = []
    for base in bases:
        stem = os.path.splitext(base)[0]
        for cand in (stem + mask_suffix + mask_ext, base + mask_suffix + mask_ext):
            if cand not in out:
                out.append(cand)
    return out


def find_mask(mask_root: str, image_rel: str, mask_ext: str = DEFAULT_MASK_EXTENSION,
              mask_suffix: str = "", split_dir: str = "train") -> Optional[str]:
    """The first existing candidate mask file (:func:`mask_relpath_candidates`), or None."""
    for rel in mask_relpath_candidates(image_rel, mask_ext, mask_suffix, split_dir):
        path = join_relpath(mask_root, rel)
        if os.path.isfile(path):
            return path
    return None
