"""Crash-safe files of the PSSL store: every file is written to a hidden temporary name beside it
and ``os.replace``d; append-only logs flush (and fsync) every line and their readers drop a last
line cut by a kill; npy and npz encoders give reproducible bytes."""
import contextlib
import io
import json
import os
import re
import zipfile
from typing import Any, List, Mapping

import numpy as np

#: Marks a temporary file: ``.<name>.tmp.<pid>`` beside its final name.
TMP_MARK = ".tmp."
#: Fixed timestamp of every npz member (zip's earliest), for reproducible bytes.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def tmp_name(path: str) -> str:
    """The hidden temporary name of ``path`` in its own folder (one per process)."""
    folder, name = os.path.split(path)
    return os.path.join(folder, f".{name}{TMP_MARK}{os.getpid()}")


def atomic_write_bytes(path: str, data: bytes, *, fsync: bool = False) -> None:
    """Write ``data`` to ``path`` through a temporary name in the same folder and
    ``os.replace``, so readers (and a later resume) see the old file or the complete new one."""
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    tmp = tmp_name(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def atomic_write_text(path: str, text: str, *, fsync: bool = False) -> None:
    """:func:`atomic_write_bytes` of UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"), fsync=fsync)


def encode_npy(arr: np.ndarray) -> bytes:
    """``.npy`` bytes of ``arr`` (no pickles)."""
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(arr), allow_pickle=False)
    return buf.getvalue()


def encode_npz(arrays: Mapping[str, np.ndarray]) -> bytes:
    """A compressed ``.npz`` (readable by ``np.load``) with fixed timestamps, so it is
    byte-reproducible, unlike ``np.savez_compressed``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(arrays):
            info = zipfile.ZipInfo(f"{key}.npy", date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, encode_npy(np.asarray(arrays[key])))
    return buf.getvalue()


def clean_field(text: str) -> str:
    """One line, no tabs: reasons and paths go into tab-separated text files."""
    return re.sub(r"[\t\r\n]+", " ", str(text)).strip()


def read_json(path: str) -> Any:
    """The JSON value in ``path``, or None when the file is missing or unreadable."""
    try:
        with open(path, "r", encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def read_lines(path: str) -> List[str]:
    """Complete lines of a text file (a last line without newline, cut by a kill, is dropped)."""
    if not os.path.isfile(path):
        return []
    with open(path, "r", encoding="utf-8", errors="replace") as f:
        text = f.read()
    lines = text.split("\n")
    return [ln for ln in lines[:-1] if ln.strip()]


class AppendLog:
    """An append-only text file whose every line is flushed (and fsynced) when written."""

    def __init__(self, path: str, fsync: bool = True):
        self.path = path
        self.fsync = fsync
        self._f = None

    def append(self, line: str) -> None:
        if self._f is None:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            needs_newline = False
            if os.path.isfile(self.path) and os.path.getsize(self.path) > 0:
                with open(self.path, "rb") as f:
                    f.seek(-1, os.SEEK_END)
                    needs_newline = f.read(1) != b"\n"
            self._f = open(self.path, "a", encoding="utf-8")
            if needs_newline:  # a line cut by a kill: end it, it is dropped on reading
                self._f.write("\n")
        self._f.write(line + "\n")
        self._f.flush()
        if self.fsync:
            os.fsync(self._f.fileno())

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None
