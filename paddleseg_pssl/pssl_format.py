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
"""
import pathlib
from typing import Optional, Tuple

from paddleseg_pssl.constants import IGNORE_INDEX

TRAIN_LIST_FILE = "train.txt"
SYNSETS_FILE = "synsets.txt"
MANIFEST_FILE = "manifest.json"
FAILURES_FILE = "failures.txt"
LABEL_SPLIT_DIR = "train"
LABEL_SUFFIX = ".png"
LIST_COLUMN_SEPARATOR = "\t"

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


def format_list_line(label_rel: str, image_rel: Optional[str] = None) -> str:
    """One train.txt line; the image column is written only when the naming rule cannot derive it."""
    if image_rel is None or image_rel == image_relpath_from_label(label_rel):
        return label_rel
    return f"{label_rel}{LIST_COLUMN_SEPARATOR}{image_rel}"


def parse_list_line(line: str) -> Tuple[str, str]:
    """(label relpath, image relpath) of one train.txt line; ValueError when malformed."""
    fields = line.strip().split(LIST_COLUMN_SEPARATOR) if LIST_COLUMN_SEPARATOR in line \
        else line.split()
    if len(fields) == 1:
        return fields[0], image_relpath_from_label(fields[0])
    if len(fields) == 2:
        return fields[0], fields[1]
    raise ValueError(f"expected '<label> [<image>]', got {len(fields)} fields: {line.strip()!r}")


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
