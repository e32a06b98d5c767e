"""Read-only access to a PSSL folder (:mod:`paddleseg_pssl.pssl_format`) for the analyses:
labels, the sample list, class names, and the extras the generator keeps on request
(``keep_float``: ``train/<class>/<image>.npy`` float16 consensus; ``keep_model_maps``:
``model_maps/<class>/<image>.npz`` raw per-model maps keyed by model name).
"""
import json
import os
import pathlib
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from paddleseg_pssl import pssl_format as fmt
from paddleseg_pssl.consensus import label_maths
from paddleseg_pssl.consensus.store import pssl_store as store
from paddleseg_pssl.constants import TOP_DECILE
from paddleseg_pssl.errors import PSSLConfigError


def require_dir(path: str, arg_name: str) -> pathlib.Path:
    """``path`` as a Path, or PSSLConfigError naming ``arg_name`` when it is not a directory."""
    p = pathlib.Path(path)
    if not p.is_dir():
        raise PSSLConfigError(f"{arg_name} {str(path)!r} is not a directory")
    return p


def read_sample_list(pssl_root: str) -> List[Tuple[str, str]]:
    """(label relpath, image relpath) of every line of ``<pssl_root>/train.txt``."""
    path = require_dir(pssl_root, "pssl_root") / fmt.TRAIN_LIST_FILE
    if not path.is_file():
        raise PSSLConfigError(f"{str(path)!r} not found: expected a PSSL folder with "
                              f"{fmt.TRAIN_LIST_FILE}, {fmt.SYNSETS_FILE} and "
                              f"{fmt.LABEL_SPLIT_DIR}/<class>/*{fmt.LABEL_SUFFIX} "
                              "(written by tools/generate_pssl.py)")
    return fmt.read_train_list(path)


def read_class_names(synsets_file: str, names_file: Optional[str] = None
                     ) -> Tuple[List[str], List[str]]:
    """(ids, display names) from a synsets file, one ``<id> [<name words>]`` a line: names are
    the ids, or the first comma-separated synonym (``n01440764 tench, Tinca tinca`` -> tench);
    ``names_file`` overrides them (:func:`paddleseg_pssl.pssl_format.read_names`)."""
    classes = fmt.read_class_list(synsets_file)
    names = fmt.read_names(names_file, classes.ids) if names_file else classes.names
    return classes.ids, names


def read_synsets(pssl_root: str) -> List[str]:
    """Class folder names of a PSSL folder, in class-id order."""
    require_dir(pssl_root, "pssl_root")
    return fmt.read_class_list(fmt.find_class_list(pssl_root)).ids


def read_decile_label(path: str) -> np.ndarray:
    """An HxW uint8 decile map (values 0..9) from a label file: a PSSL ``.png`` as stored, a
    binary release ``*_eiseg.npz`` as 9 (object) and 0, only its top decile meaningful."""
    if fmt.is_release_label(path):
        return np.where(fmt.read_release_npz(path) == 1, TOP_DECILE, 0).astype(np.uint8)
    return fmt.read_decile_png(path)


def _model_maps_path(pssl_root: str, label_rel: str) -> Optional[str]:
    if not label_rel.endswith(fmt.LABEL_SUFFIX):
        return None  # release labels never have kept maps
    return fmt.join_relpath(pssl_root, fmt.model_maps_relpath(label_rel))


def _read_model_maps(path: str) -> Dict[str, np.ndarray]:
    """Model name -> float32 raw map of a kept ``.npz``."""
    try:
        with np.load(path) as npz:
            return {name: np.asarray(npz[name], dtype=np.float32) for name in npz.files}
    except (OSError, ValueError) as exc:
        raise PSSLConfigError(f"cannot read per-model maps {path!r} (expected an npz of "
                              f"float maps keyed by model name): {exc}") from exc


def kept_model_names(pssl_root: str, samples: Sequence[Tuple[str, str]]) -> List[str]:
    """Names of the models whose raw maps were kept (``keep_model_maps``), in stored order,
    from the first sample that has them; [] when the generator did not keep them."""
    if not (pathlib.Path(pssl_root) / fmt.MODEL_MAPS_DIR).is_dir():
        return []
    for label_rel, _ in samples:
        path = _model_maps_path(pssl_root, label_rel)
        if path is not None and os.path.isfile(path):
            return list(_read_model_maps(path))
    return []


def consensus_settings(pssl_root: str) -> Dict[str, object]:
    """How the labels of ``pssl_root`` prepared each model's map before Eq. 1: its manifest's
    ``settings.consensus`` (``normalisation``, ``smoothing``), label maths' defaults for what
    it does not record (releases, older folders)."""
    defaults = {"normalisation": label_maths.DEFAULT_NORMALISATION,
                "smoothing": label_maths.NO_SMOOTHING}
    path = os.path.join(pssl_root, fmt.MANIFEST_FILE)
    if not os.path.isfile(path):
        # a run in progress has no manifest yet; its settings are in the work folder
        path = os.path.join(pssl_root, store.WORK_DIR, store.SETTINGS_FILE)
    if not os.path.isfile(path):
        return defaults
    try:
        with open(path, "r", encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, ValueError) as exc:
        raise PSSLConfigError(f"cannot read {path!r} (expected the generator's JSON "
                              f"manifest): {exc}") from exc
    settings = manifest.get("settings", {}) if isinstance(manifest, dict) else {}
    recorded = settings.get("consensus", {}) if isinstance(settings, dict) else {}
    out = {key: recorded.get(key, value) for key, value in defaults.items()}
    if out["normalisation"] not in label_maths.NORMALISATIONS or isinstance(
            out["smoothing"], bool) or not isinstance(out["smoothing"], (int, float)):
        raise PSSLConfigError(f"{path!r} records consensus settings {recorded!r} that this "
                              f"version cannot reproduce (normalisations: "
                              f"{list(label_maths.NORMALISATIONS)})")
    return out


def load_model_maps(pssl_root: str, label_rel: str, out_hw: Tuple[int, int],
                    normalisation: Optional[str] = None, smoothing: Optional[float] = None
                    ) -> Optional[Dict[str, np.ndarray]]:
    """Model name -> each kept model's HxW map for one label, as the generator used it (None
    when not kept): the raw stored maps prepared (``normalisation``, ``smoothing``; None: as
    recorded, :func:`consensus_settings`) and resized to ``out_hw`` as the label maths does
    before Eq. 1, so their deciles are what that model alone would give."""
    if normalisation is None or smoothing is None:
        recorded = consensus_settings(pssl_root)
        normalisation = recorded["normalisation"] if normalisation is None else normalisation
        smoothing = recorded["smoothing"] if smoothing is None else smoothing
    path = _model_maps_path(pssl_root, label_rel)
    if path is None or not os.path.isfile(path):
        return None
    out = {}
    for name, arr in _read_model_maps(path).items():
        if arr.ndim != 2:
            raise PSSLConfigError(f"per-model map {name!r} in {path!r} must be HxW, got shape "
                                  f"{arr.shape}")
        out[name] = label_maths.resize_map(
            label_maths.prepare_model_map(arr, normalisation, smoothing), out_hw)
    return out


def load_consensus_map(pssl_root: str, label_rel: str) -> Optional[np.ndarray]:
    """The kept float consensus (``keep_float``) of one label as float32 HxW, or None."""
    if not label_rel.endswith(fmt.LABEL_SUFFIX):
        return None
    path = fmt.join_relpath(pssl_root, fmt.consensus_relpath(label_rel))
    if not os.path.isfile(path):
        return None
    try:
        arr = np.load(path)
    except (OSError, ValueError) as exc:
        raise PSSLConfigError(f"cannot read float consensus {path!r} (expected a float16 "
                              f".npy): {exc}") from exc
    if arr.ndim != 2:
        raise PSSLConfigError(f"float consensus {path!r} must be HxW, got shape {arr.shape}")
    return arr.astype(np.float32)
