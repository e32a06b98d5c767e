"""File names, suffixes and relative paths of a PSSL folder; list paths are '/'-separated on
every system, and :func:`join_relpath` alone turns them into on-disk paths."""
import os
import pathlib
from typing import Optional, Union

TRAIN_LIST_FILE = "train.txt"
SYNSETS_FILE = "synsets.txt"
MANIFEST_FILE = "manifest.json"
FAILURES_FILE = "failures.txt"
LABEL_SPLIT_DIR = "train"
LABEL_SUFFIX = ".png"
LIST_COLUMN_SEPARATOR = "\t"
#: Characters no file name in a list file may hold (they separate columns and lines).
FORBIDDEN_NAME_CHARS = "\t\n\r"

#: The official release format (PaddleSeg's built-in PSSLDataset), still readable.
RELEASE_SYNSETS_FILE = "imagenet_lsvrc_2015_synsets.txt"
RELEASE_LABEL_SUFFIX = "_eiseg.npz"

#: ``keep_float``: the float16 consensus S (Eq. 1) beside its label, ``train/<class>/<image>.npy``.
CONSENSUS_SUFFIX = ".npy"
#: ``keep_model_maps``: raw per-model score maps (float32, before min-max, each at its model's
#: input resolution), one ``.npz`` per image keyed by model name, under this folder.
MODEL_MAPS_DIR = "model_maps"
MODEL_MAPS_SUFFIX = ".npz"


def join_relpath(root: Union[str, os.PathLike], rel: str) -> str:
    """The on-disk path of the '/'-separated relative path ``rel`` under ``root``."""
    return os.path.join(root, *rel.split("/"))


def label_relpath(class_name: str, image_name: str) -> str:
    """Label path (relative to pssl_root) of image ``image_name`` of ``class_name``."""
    return f"{LABEL_SPLIT_DIR}/{class_name}/{image_name}{LABEL_SUFFIX}"


def is_release_label(label_path: str) -> bool:
    """Whether a label path is of the official release format (``*_eiseg.npz``)."""
    return label_path.endswith(RELEASE_LABEL_SUFFIX)


def is_label_path(text: str) -> bool:
    """Whether ``text`` ends like a label of either format."""
    return text.endswith(LABEL_SUFFIX) or is_release_label(text)


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


def _label_stem(label_rel: str) -> str:
    if not label_rel.endswith(LABEL_SUFFIX):
        raise ValueError(f"label path {label_rel!r} does not end in {LABEL_SUFFIX!r}")
    return label_rel[: -len(LABEL_SUFFIX)]


def consensus_relpath(label_rel: str) -> str:
    """Path (relative to pssl_root) of the float16 consensus kept beside ``label_rel``."""
    return _label_stem(label_rel) + CONSENSUS_SUFFIX


def model_maps_relpath(label_rel: str) -> str:
    """Path (relative to pssl_root) of the per-model maps of ``label_rel``."""
    stem = _label_stem(label_rel)
    prefix = LABEL_SPLIT_DIR + "/"
    if stem.startswith(prefix):
        stem = stem[len(prefix):]
    return f"{MODEL_MAPS_DIR}/{stem}{MODEL_MAPS_SUFFIX}"
