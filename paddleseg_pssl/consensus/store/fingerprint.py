"""The settings fingerprint of a PSSL output folder: labels of one folder share one set of settings.

The digest of everything that shapes a label (see ``startup.prepare``) is recorded in several
places, so losing or truncating one file does not lose it::

    pssl_root/manifest.json                        written by the merge
    pssl_root/pssl_settings.json                   written before the first label, kept
    pssl_root/.pssl_work/settings.json             in-flight copy (read by the analysis tools)
    pssl_root/.pssl_work/train.rank<r>.settings.json   beside each rank's done-list

A run is refused when any readable record names another digest, or when labels are present and
no record is readable (they may come from other settings) unless the user adopts them
(``adopt_existing``, kept in the records and the manifest as ``adopted_existing``).
"""
import contextlib
import fcntl
import glob
import hashlib
import json
import os
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple, Union

from paddleseg_pssl import pssl_format
from paddleseg_pssl.consensus.store.atomic_files import atomic_write_text, read_json
from paddleseg_pssl.consensus.store.manifest import ADOPTED_KEY, timestamp
from paddleseg_pssl.consensus.store.pssl_store import SETTINGS_FILE, PSSLStore, StoreSettingsError
from paddleseg_pssl.constants import DECILE_COUNT

#: The persistent fingerprint at the PSSL root (survives the merge, unlike ``.pssl_work``).
FINGERPRINT_FILE = "pssl_settings.json"
#: Suffix of the copy beside each rank's done-list.
RANK_FINGERPRINT_SUFFIX = ".settings.json"
#: Explainer settings that change speed, not labels: a resumed run may change them.
THROUGHPUT_ONLY_KEYS = ("batch_size",)


def json_digest(obj: Any) -> str:
    """SHA-256 of ``obj`` as sorted JSON (the identity of settings, classes and slices)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def label_settings(settings: Mapping) -> Dict[str, Any]:
    """What of the recorded ``settings`` shapes a label, every explainer default resolved (image
    and weights paths, ``limit``, store, failure and throughput settings may change)."""
    return {
        "classes_sha256": settings.get("classes_sha256"), "seed": settings.get("seed"),
        "resolution": settings.get("resolution"),
        "explainer": {k: v for k, v in (settings.get("explainer") or {}).items()
                      if k not in THROUGHPUT_ONLY_KEYS},
        # device noise and float16 differ between device kinds: part of what made a label
        "device": settings.get("device"),
        "consensus": settings.get("consensus"),
        "ensemble": [{k: v for k, v in model.items() if k != "weights"}
                     for model in settings.get("ensemble") or []],
        "label": {"decile_count": DECILE_COUNT}}


def settings_digest(settings: Mapping) -> str:
    """The digest of :func:`label_settings`: outputs share it when their labels agree."""
    return json_digest(label_settings(settings))


def rank_fingerprint_path(store: PSSLStore, rank: Union[int, str]) -> str:
    """The fingerprint copy beside rank ``rank``'s done-list (``'*'``: a glob of all ranks)."""
    return os.path.splitext(store.rank_list_path(rank))[0] + RANK_FINGERPRINT_SUFFIX


def record_paths(store: PSSLStore) -> List[str]:
    """Every file that may hold the fingerprint, most authoritative first."""
    paths = [os.path.join(store.root, pssl_format.MANIFEST_FILE),
             os.path.join(store.root, FINGERPRINT_FILE),
             os.path.join(store.work_dir, SETTINGS_FILE)]
    return paths + sorted(glob.glob(rank_fingerprint_path(store, "*")))


def read_record(path: str) -> Optional[dict]:
    """A fingerprint record, or None when the file is missing, truncated or holds no digest."""
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("settings_digest"), str):
        return None
    return data


@contextlib.contextmanager
def folder_lock(root: str) -> Iterator[None]:
    """Hold an exclusive advisory lock of the folder ``root`` (waits for other holders)."""
    fd = os.open(root, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _labels_present(store: PSSLStore) -> bool:
    """Whether any label or done-list line exists (stops at the first one found)."""
    for folder, _, files in os.walk(store.path(pssl_format.LABEL_SPLIT_DIR)):
        if any(n.endswith(pssl_format.LABEL_SUFFIX) and not n.startswith(".") for n in files):
            return True
    return any(os.path.isfile(p) and os.path.getsize(p) > 0
               for p in store.list_files(pssl_format.TRAIN_LIST_FILE, "train"))


def _changed_keys(old: Mapping, new: Mapping) -> List[str]:
    """The settings that shape a label and differ (never one a run may change)."""
    old, new = label_settings(old), label_settings(new)
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


def _conflict(store: PSSLStore, digest: str) -> Tuple[List[str], Optional[Tuple[str, dict]]]:
    """(readable record paths, the first record naming another digest or None)."""
    readable, other = [], None
    for path in record_paths(store):
        record = read_record(path)
        if record is None:
            continue
        readable.append(path)
        if other is None and record["settings_digest"] != digest:
            other = (path, record)
    return readable, other


def adoption(store: PSSLStore) -> Optional[dict]:
    """When and how many labels were adopted without a fingerprint (``adopt_existing``), as
    the first record holding it says; None when nothing was adopted."""
    for path in record_paths(store):
        adopted = (read_record(path) or {}).get(ADOPTED_KEY)
        if adopted is not None:
            return adopted
    return None


def refuse_other_settings(store: PSSLStore, digest: str, settings: Mapping, *,
                          adopt_existing: bool = False) -> bool:
    """Refuse (:class:`StoreSettingsError`) an output made with other settings, reading only;
    returns whether labels without any readable record are there to adopt."""
    readable, other = _conflict(store, digest)
    if other is not None:
        path, record = other
        changed = _changed_keys(record.get("settings") or {}, settings)
        raise StoreSettingsError(
            f"output {store.root!r} holds labels made with other settings ({path}: "
            f"changed {changed or 'model weights'}); write to a new output folder, or "
            f"delete that one to start over")
    unrecorded = not readable and _labels_present(store)
    if unrecorded and not adopt_existing:
        raise StoreSettingsError(
            f"output {store.root!r} holds labels but no readable settings fingerprint "
            f"({pssl_format.MANIFEST_FILE}, {FINGERPRINT_FILE} and .pssl_work/ records are "
            "missing or unreadable), so they may come from other settings; pass "
            "adopt_existing=True to keep them as made with these settings, or write to a new "
            "output folder", ["adopt_existing=True"])
    return unrecorded


def guard(store: PSSLStore, digest: str, settings: Mapping, *,
          adopt_existing: bool = False) -> None:
    """Under the folder lock (two runs starting at once cannot both record theirs), refuse an
    output made with other settings (:func:`refuse_other_settings`), then record ours."""
    with folder_lock(store.root):
        adopted = refuse_other_settings(store, digest, settings, adopt_existing=adopt_existing)
        record = {"settings_digest": digest, "settings": settings}
        if adopted:
            record[ADOPTED_KEY] = {"at": timestamp(), "labels": len(store.existing_labels())}
        text = json.dumps(record, indent=2, sort_keys=True) + "\n"
        for path in (os.path.join(store.root, FINGERPRINT_FILE),
                     os.path.join(store.work_dir, SETTINGS_FILE),
                     rank_fingerprint_path(store, store.rank)):
            if read_record(path) is None:
                atomic_write_text(path, text, fsync=store.fsync)
