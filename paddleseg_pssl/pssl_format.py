"""The on-disk PSSL label format: the one contract between the generator and the dataset.

Layout written by ``tools/generate_pssl.py`` and read by ``PSSLDataset``::

    pssl_root/
    |-- train.txt          one sample per line: "<label relpath> [<image relpath>]"
    |-- synsets.txt        class names (folder names), one per line, in class-id order
    |-- manifest.json      provenance: settings, models + weight checksums, versions, counts
    |-- failures.txt       images that could not be labelled: "<image relpath>\t<reason>"
    |-- train/<class>/<image file name>.png
    |                      single-channel uint8 PNG of deciles 0..9 (Eq. 2) at explanation
    |                      resolution (short side 224 by default, aspect kept)
    |-- train/<class>/<image file name>.npy     optional (keep_float): float16 consensus (Eq. 1)
    `-- model_maps/<class>/<image file name>.npz
                           optional (keep_model_maps): raw per-model maps, float32, by model name

The label path mirrors the image path under the image root with ``.png`` appended
(``train/n01440764/n01440764_10026.JPEG.png`` labels
``<image_root>/train/n01440764/n01440764_10026.JPEG``), as PaddleSeg's built-in
``*.JPEG_eiseg.npz`` release does, so the image path is derived from the label path.
When images do not live under ``<image_root>/train/<class>/`` (a list-file input), the
image path relative to the image root is given as a second, tab-separated column.
The class of a sample is always the name of its label's parent folder.

Names: a file name may hold any character but a tab, a newline or a carriage return (the
list files are line- and tab-separated); a class name may hold no whitespace at all (class
lists are whitespace-tokenised, as ImageNet's ``LOC_synset_mapping.txt``). A line whose
paths hold spaces always has both columns, tab-separated, so it reads back unambiguously;
lines without a tab are read as before (one label path, or PaddleSeg-style
"<label> <image>" columns separated by whitespace).
"""
import json
import os
import pathlib
from typing import Any, Dict, Mapping, Optional, Tuple

from paddleseg_pssl.constants import IGNORE_INDEX

TRAIN_LIST_FILE = "train.txt"
SYNSETS_FILE = "synsets.txt"
MANIFEST_FILE = "manifest.json"
FAILURES_FILE = "failures.txt"
LABEL_SPLIT_DIR = "train"
LABEL_SUFFIX = ".png"
LIST_COLUMN_SEPARATOR = "\t"
#: Characters no file name in a list file may hold (they separate columns and lines).
FORBIDDEN_NAME_CHARS = "\t\n\r"
#: A label may differ from its image's aspect by this many label pixels (rounding of one side).
ASPECT_TOLERANCE_PX = 1.0

#: The official release format (PaddleSeg's built-in PSSLDataset), still readable.
RELEASE_SYNSETS_FILE = "imagenet_lsvrc_2015_synsets.txt"
RELEASE_LABEL_SUFFIX = "_eiseg.npz"


def label_relpath(class_name: str, image_name: str) -> str:
    """Label path (relative to pssl_root, '/'-separated) of image ``image_name`` of ``class_name``."""
    return f"{LABEL_SPLIT_DIR}/{class_name}/{image_name}{LABEL_SUFFIX}"


def image_relpath_from_label(label_rel: str) -> str:
    """The image path (relative to the image root) a label path stands for, by the naming rule."""
    for suffix in (LABEL_SUFFIX, RELEASE_LABEL_SUFFIX):
        if label_rel.endswith(suffix):
            return label_rel[: -len(suffix)]
    raise ValueError(
        f"label path {label_rel!r} ends neither in {LABEL_SUFFIX!r} nor {RELEASE_LABEL_SUFFIX!r}")


def class_name_of_label(label_rel: str) -> str:
    """The class a label belongs to: the name of its parent folder."""
    return pathlib.PurePosixPath(label_rel).parent.name


def file_name_problem(name: str) -> Optional[str]:
    """Why a file name cannot go into the list files, or None when it can."""
    bad = sorted({repr(c) for c in name if c in FORBIDDEN_NAME_CHARS})
    if bad:
        return (f"file name {name!r} holds {', '.join(bad)}, which the tab- and line-separated "
                f"{TRAIN_LIST_FILE} cannot hold; rename the file")
    return None


def class_name_problem(name: str) -> Optional[str]:
    """Why a class (folder) name cannot be a class, or None when it can."""
    if not name or any(c.isspace() for c in name):
        return (f"class folder name {name!r} holds whitespace, which class lists "
                f"({SYNSETS_FILE}, synsets files) cannot hold; rename the folder")
    return None


def _has_space(text: str) -> bool:
    return any(c.isspace() for c in text)


def format_list_line(label_rel: str, image_rel: Optional[str] = None) -> str:
    """One train.txt line; the image column is written only when the naming rule cannot derive
    it or a path holds whitespace (then both columns, tab-separated, read back unambiguously).

    Raises:
        ValueError: a path holds a tab, newline or carriage return.
    """
    for path in (label_rel, image_rel or ""):
        problem = file_name_problem(path)
        if problem:
            raise ValueError(problem)
    derived = image_relpath_from_label(label_rel)
    if image_rel is None:
        image_rel = derived
    if image_rel == derived and not _has_space(label_rel):
        return label_rel
    return f"{label_rel}{LIST_COLUMN_SEPARATOR}{image_rel}"


def _is_label_path(text: str) -> bool:
    return text.endswith(LABEL_SUFFIX) or text.endswith(RELEASE_LABEL_SUFFIX)


def parse_list_line(line: str) -> Tuple[str, str]:
    """(label relpath, image relpath) of one train.txt line; ValueError when malformed."""
    text = line.rstrip("\r\n")
    if LIST_COLUMN_SEPARATOR in text:
        fields = text.split(LIST_COLUMN_SEPARATOR)
        if len(fields) == 2 and all(fields):
            return fields[0], fields[1]
        raise ValueError(f"expected '<label><tab><image>', got {len(fields)} tab-separated "
                         f"fields: {text!r}")
    fields = text.split()
    if len(fields) == 1:
        return fields[0], image_relpath_from_label(fields[0])
    if len(fields) == 2 and _is_label_path(fields[0]):
        return fields[0], fields[1]
    if fields and _is_label_path(text):  # one label path holding spaces
        return text, image_relpath_from_label(text)
    raise ValueError(f"expected '<label> [<image>]', got {len(fields)} fields: {text.strip()!r}")


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
    up to rounding, or exactly the generator's size for that image under ``resolution`` (its
    extreme-aspect cap compresses the aspect of very long strips)."""
    if aspect_matches(label_hw, image_hw):
        return True
    if resolution is None:
        return False
    from paddleseg_pssl.consensus.preprocess import explanation_size

    try:
        expected = explanation_size(int(image_hw[0]), int(image_hw[1]),
                                    int(resolution["short_side"]),
                                    resolution.get("max_long_side"))
    except (ValueError, KeyError, TypeError):
        return False
    return tuple(label_hw) == tuple(expected)


def ignore_index_for(num_classes: int) -> int:
    """The label value the loss and metrics skip, for a model with ``num_classes`` outputs.

    ``IGNORE_INDEX`` (255, PaddleSeg's convention) while it is not a class id, i.e. for
    ``num_classes <= 255``; otherwise ``num_classes`` itself, the first id no class uses.
    For ImageNet-1k (classes 0..999, background 1000, 1001 outputs) that is 1001, the value
    PaddleSeg's built-in ``PSSLDataset`` and its configs (``label_padding_value: 1001``) use.
    Training labels are int64, so no uint8 limit applies; a fixed 255 would silently drop
    ImageNet class 255 from training.
    """
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    return IGNORE_INDEX if num_classes <= IGNORE_INDEX else num_classes


# ---- optional research outputs of the generator (additive; PSSLDataset ignores them) ----------

#: ``keep_float``: the float16 consensus S (Eq. 1) beside its label, ``train/<class>/<image>.npy``.
CONSENSUS_SUFFIX = ".npy"
#: ``keep_model_maps``: raw per-model score maps (float32, before min-max, each at its model's
#: input resolution), one ``.npz`` per image keyed by model name, under this folder.
MODEL_MAPS_DIR = "model_maps"
MODEL_MAPS_SUFFIX = ".npz"


def _label_stem(label_rel: str) -> str:
    if not label_rel.endswith(LABEL_SUFFIX):
        raise ValueError(f"label path {label_rel!r} does not end in {LABEL_SUFFIX!r}")
    return label_rel[: -len(LABEL_SUFFIX)]


def consensus_relpath(label_rel: str) -> str:
    """Path (relative to pssl_root) of the float16 consensus kept beside ``label_rel``."""
    return _label_stem(label_rel) + CONSENSUS_SUFFIX


def model_maps_relpath(label_rel: str) -> str:
    """Path (relative to pssl_root) of the per-model maps of ``label_rel``:
    ``model_maps/<class>/<image file name>.npz``."""
    stem = _label_stem(label_rel)
    prefix = LABEL_SPLIT_DIR + "/"
    if stem.startswith(prefix):
        stem = stem[len(prefix):]
    return f"{MODEL_MAPS_DIR}/{stem}{MODEL_MAPS_SUFFIX}"
