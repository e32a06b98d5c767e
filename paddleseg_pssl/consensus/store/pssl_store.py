"""The PSSL store: the only writer of PSSL labels and of the in-flight state under ``.pssl_work/``
(docs/generation_safety.md). A label counts as done when listed *and* its PNG exists;
:meth:`PSSLStore.merge` writes the lists sorted, so the result depends neither on the process
count nor on restarts."""
import contextlib
import dataclasses
import glob
import json
import os
import time
from typing import Callable, Dict, Iterable, Iterator, List, Mapping, Optional

import numpy as np

from paddleseg_pssl import pssl_format
from paddleseg_pssl.consensus.store.atomic_files import (TMP_MARK, AppendLog, atomic_write_bytes,
                                                         atomic_write_text, clean_field, encode_npy,
                                                         encode_npz, read_json, read_lines)
from paddleseg_pssl.errors import UserError

WORK_DIR = ".pssl_work"
SETTINGS_FILE = "settings.json"
MAX_PNG_COMPRESSION: int = 9  # zlib's largest level


@dataclasses.dataclass(frozen=True)
class StoreConfig:
    """``store:``: what the PSSL store writes beside each label, and how safely."""

    keep_float: bool = False
    keep_model_maps: bool = False
    png_compression: int = MAX_PNG_COMPRESSION
    fsync: bool = True


class StoreSettingsError(UserError, RuntimeError):
    """The output folder holds labels made with different settings."""


class RanksTimeoutError(UserError, TimeoutError):
    """Rank 0 waited longer than ``merge_timeout_s`` for the other ranks."""


class PSSLStore:
    """Writes the labels of one rank, and (on rank 0) merges every rank's lists."""

    def __init__(self, root: str, *, rank: int = 0, world_size: int = 1,
                 keep_float: bool = StoreConfig.keep_float,
                 keep_model_maps: bool = StoreConfig.keep_model_maps,
                 png_compression: int = StoreConfig.png_compression,
                 fsync: bool = StoreConfig.fsync):
        self.root = os.path.abspath(root)
        self.rank = int(rank)
        self.world_size = int(world_size)
        self.keep_float = bool(keep_float)
        self.keep_model_maps = bool(keep_model_maps)
        self.png_compression = int(png_compression)
        self.fsync = bool(fsync)
        self.work_dir = os.path.join(self.root, WORK_DIR)
        self._done: Optional[set] = None
        self._list_log = AppendLog(self.rank_list_path(self.rank), fsync=self.fsync)
        self._fail_log = AppendLog(os.path.join(self.work_dir, f"failures.rank{self.rank}.txt"),
                                   fsync=self.fsync)

    def path(self, rel: str) -> str:
        return pssl_format.join_relpath(self.root, rel)

    def rank_list_path(self, rank: int) -> str:
        return os.path.join(self.work_dir, f"train.rank{rank}.txt")

    def rank_marker_path(self, rank: int) -> str:
        return os.path.join(self.work_dir, f"rank{rank}.done.json")

    def list_files(self, published_file: str, rank_prefix: str) -> List[str]:
        """``<root>/<published_file>``, then each ``<work>/<rank_prefix>.rank*.txt``."""
        return [os.path.join(self.root, published_file)] + sorted(
            glob.glob(os.path.join(self.work_dir, f"{rank_prefix}.rank*.txt")))

    def _lines(self, published_file: str, rank_prefix: str) -> Iterator[str]:
        for path in self.list_files(published_file, rank_prefix):
            yield from read_lines(path)

    def _listed_labels(self) -> Dict[str, str]:
        """label relpath -> image relpath for every label of train.txt and every rank list."""
        entries: Dict[str, str] = {}
        for line in self._lines(pssl_format.TRAIN_LIST_FILE, "train"):
            try:
                label_rel, image_rel = pssl_format.parse_list_line(line)
            except ValueError:
                continue
            entries.setdefault(label_rel, image_rel)
        return entries

    def existing_labels(self) -> set:
        """Relpaths of every label PNG on disk, by one directory scan (no stat per label, which
        matters on network filesystems with a million labels)."""
        found = set()
        top = self.path(pssl_format.LABEL_SPLIT_DIR)
        for folder, _, files in os.walk(top):
            rel_folder = os.path.relpath(folder, self.root).replace(os.sep, "/")
            for name in files:
                if name.endswith(pssl_format.LABEL_SUFFIX) and not name.startswith("."):
                    found.add(f"{rel_folder}/{name}")
        return found

    def load_done(self) -> int:
        """Read what earlier runs finished (listed and on disk); returns how many."""
        listed = self._listed_labels()
        self._done = set(listed).intersection(self.existing_labels()) if listed else set()
        return len(self._done)

    def is_done(self, label_rel: str) -> bool:
        """A label is done when it is listed as finished and its PNG exists (as of
        :meth:`load_done`, or written by this store since)."""
        if self._done is None:
            self.load_done()
        return label_rel in self._done

    def write(self, label_rel: str, image_rel: str, deciles: np.ndarray, *,
              consensus: Optional[np.ndarray] = None,
              model_maps: Optional[Mapping[str, np.ndarray]] = None) -> None:
        """Write one label (and its optional extras), then list it as done."""
        try:
            png = pssl_format.encode_decile_png(np.asarray(deciles), self.png_compression)
        except ValueError as exc:
            raise ValueError(f"deciles of {label_rel!r}: {exc}") from None
        if self.keep_float and consensus is not None:
            atomic_write_bytes(self.path(pssl_format.consensus_relpath(label_rel)),
                               encode_npy(np.asarray(consensus, dtype=np.float16)))
        if self.keep_model_maps and model_maps is not None:
            atomic_write_bytes(self.path(pssl_format.model_maps_relpath(label_rel)),
                               encode_npz({k: np.asarray(v, dtype=np.float32)
                                           for k, v in model_maps.items()}))
        atomic_write_bytes(self.path(label_rel), png, fsync=self.fsync)
        self._list_log.append(pssl_format.format_list_line(label_rel, image_rel))
        if self._done is not None:
            self._done.add(label_rel)

    def record_failure(self, image_rel: str, reason: str) -> None:
        """Record that ``image_rel`` could not be labelled, and why."""
        self._fail_log.append(f"{clean_field(image_rel)}{pssl_format.LIST_COLUMN_SEPARATOR}"
                              f"{clean_field(reason) or 'unknown error'}")

    def close(self) -> None:
        self._list_log.close()
        self._fail_log.close()

    def clear_rank_marker(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.rank_marker_path(self.rank))

    def mark_rank_done(self, info: Mapping) -> None:
        """Tell rank 0 this rank finished its slice (``info``: world_size, digests, counts)."""
        self.close()
        atomic_write_text(self.rank_marker_path(self.rank),
                          json.dumps(dict(info, rank=self.rank), indent=2, sort_keys=True),
                          fsync=self.fsync)

    def wait_for_ranks(self, expected: Mapping[int, Mapping], *, poll_s: float = 2.0,
                       timeout_s: Optional[float] = None,
                       on_wait: Optional[Callable[[List[int]], None]] = None,
                       report_every_s: float = 60.0) -> Dict[int, dict]:
        """Wait until every rank of ``expected`` wrote a marker matching its expected fields;
        returns rank -> marker, or raises :class:`RanksTimeoutError` naming the missing ranks."""
        start = last_report = time.monotonic()
        while True:
            markers, missing = {}, []
            for rank, fields in sorted(expected.items()):
                marker = read_json(self.rank_marker_path(rank))
                if marker is not None and all(marker.get(k) == v for k, v in fields.items()):
                    markers[rank] = marker
                else:
                    missing.append(rank)
            if not missing:
                return markers
            now = time.monotonic()
            if timeout_s is not None and now - start > timeout_s:
                raise RanksTimeoutError(
                    f"ranks {missing} did not finish within {timeout_s:.0f} s (no matching "
                    f"marker in {self.work_dir}); the labels are kept: once those ranks have "
                    f"finished, rerun with merge_only=True to merge (or rerun them to resume)",
                    ["merge_only=True"])
            if on_wait is not None and now - last_report >= report_every_s:
                on_wait(missing)
                last_report = now
            time.sleep(poll_s)

    def recorded_failures(self) -> Dict[str, str]:
        """image relpath -> reason: the published failures.txt, updated by every rank's list."""
        failures: Dict[str, str] = {}
        for line in self._lines(pssl_format.FAILURES_FILE, "failures"):
            image_rel, _, reason = line.partition(pssl_format.LIST_COLUMN_SEPARATOR)
            failures[image_rel] = reason
        return failures

    def remove_stale_tmp(self, *, top_only: bool = False) -> None:
        """Remove the temporary files of writes a kill cut short (``.<name>.tmp.<pid>``) under
        the root; with ``top_only``, at its top only, which only rank 0's merge and holders of
        the folder lock write (rank 0 removes them at start-up, under that lock)."""
        for folder, _, files in os.walk(self.root):
            for name in files:
                if name.startswith(".") and TMP_MARK in name:
                    with contextlib.suppress(OSError):
                        os.remove(os.path.join(folder, name))
            if top_only:
                return

    def merge(self, classes: Iterable[str], manifest: Mapping) -> Dict[str, int]:
        """Publish the run (``train.txt``, ``failures.txt``, ``synsets.txt``, ``manifest.json``)
        and clear the in-flight state, once, after every rank finished; returns the counts."""
        self.close()
        entries = self._listed_labels()
        labels = sorted(set(entries).intersection(self.existing_labels()))
        done_images = {entries[k] for k in labels}
        failures = {k: v for k, v in self.recorded_failures().items() if k not in done_images}
        atomic_write_text(os.path.join(self.root, pssl_format.TRAIN_LIST_FILE),
                          pssl_format.format_train_list((k, entries[k]) for k in labels),
                          fsync=True)
        atomic_write_text(os.path.join(self.root, pssl_format.FAILURES_FILE), "".join(
            f"{k}{pssl_format.LIST_COLUMN_SEPARATOR}{failures[k]}\n" for k in sorted(failures)),
            fsync=True)
        atomic_write_text(os.path.join(self.root, pssl_format.SYNSETS_FILE),
                          pssl_format.format_class_list(classes), fsync=True)
        counts = {"labels": len(labels), "failures": len(failures)}
        full = dict(manifest)
        full["counts"] = dict(full.get("counts", {}), **counts)
        if full["counts"].get("images"):
            full["counts"]["failure_fraction"] = round(len(failures) / full["counts"]["images"], 6)
        atomic_write_text(os.path.join(self.root, pssl_format.MANIFEST_FILE),
                          json.dumps(full, indent=2, sort_keys=True) + "\n", fsync=True)
        self.remove_stale_tmp()
        for path in glob.glob(os.path.join(self.work_dir, "*")):
            os.remove(path)
        with contextlib.suppress(OSError):
            os.rmdir(self.work_dir)
        return counts

