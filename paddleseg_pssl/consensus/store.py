"""The PSSL store: the only writer of PSSL labels (arXiv 2207.03335, Section 3).

It writes the layout of :mod:`paddleseg_pssl.pssl_format`, safely under many processes and
restarts::

    pssl_root/
    |-- train/<class>/<image>.png      uint8 deciles 0..9 (Eq. 2)
    |-- train/<class>/<image>.npy      float16 consensus S (Eq. 1), only with keep_float
    |-- model_maps/<class>/<image>.npz raw per-model maps (float32, keyed by model name),
    |                                  only with keep_model_maps (for evaluation)
    |-- train.txt  synsets.txt  manifest.json  failures.txt      written by merge() on rank 0
    |-- pssl_settings.json             settings fingerprint, written before the first label
    `-- .pssl_work/                    in-flight state, removed by a successful merge()
        |-- settings.json              the settings digest every rank checks at start-up
        |-- train.rank<r>.settings.json    the same, beside rank r's done-list (fingerprint.py)
        |-- train.rank<r>.txt          labels rank r finished (appended, flushed, fsynced)
        |-- failures.rank<r>.txt       "<image relpath>\\t<reason>" lines of rank r
        `-- rank<r>.done.json          rank r finished its slice (with its counts)

Safety rules:

* every file is written to a hidden temporary name in its final folder, then ``os.replace``d,
  so a killed run never leaves a truncated label; the temporary files a kill leaves are removed
  by the merge (everywhere) and at rank 0's start (at the top of the root);
* a label is appended to its rank's done-list only after its files are in place; a label counts
  as done (and is skipped on resume) when it is listed *and* its PNG exists;
* ``merge`` unions ``train.txt`` with every rank's list, keeps labels whose PNG exists,
  unions ``failures.txt`` with every rank's failures minus images labelled since, and
  writes ``train.txt`` and ``failures.txt`` sorted, so the result depends neither on the number
  of processes nor on restarts;
* a run into an output made with other settings (models, weights, explainer, seed, resolution)
  is refused (:class:`StoreSettingsError`) instead of mixing labels, before it makes anything.
"""
import glob
import json
import os
import time
from typing import Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple

import numpy as np

from paddleseg_pssl import pssl_format
from paddleseg_pssl.consensus.atomic_files import (TMP_MARK, AppendLog, atomic_write_bytes,
                                                   atomic_write_text, clean_field, encode_npy,
                                                   encode_npz, read_lines)
from paddleseg_pssl.errors import UserError

WORK_DIR = ".pssl_work"
SETTINGS_FILE = "settings.json"


class StoreSettingsError(UserError, RuntimeError):
    """The output folder holds labels made with different settings."""


class RanksTimeoutError(UserError, TimeoutError):
    """Rank 0 waited longer than ``merge_timeout_s`` for the other ranks."""


# ---------------------------------------------------------------------------------------------
# The store
# ---------------------------------------------------------------------------------------------

class PSSLStore:
    """Writes the labels of one rank, and (on rank 0) merges every rank's lists.

    Args:
        root: The PSSL root (output folder).
        rank: This process's rank.
        world_size: Number of processes writing into ``root``.
        keep_float: Also write the float16 consensus beside each label.
        keep_model_maps: Also write the raw per-model maps (``model_maps/``).
        png_compression: zlib level of the label PNGs (0..9).
        fsync: fsync every done-list line (and label file) so a power loss cannot lose them.
    """

    def __init__(self, root: str, *, rank: int = 0, world_size: int = 1,
                 keep_float: bool = False, keep_model_maps: bool = False,
                 png_compression: int = 9, fsync: bool = True):
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
        self._fail_log = AppendLog(self.rank_failures_path(self.rank), fsync=self.fsync)

    # ---- paths ------------------------------------------------------------------------------

    def path(self, rel: str) -> str:
        return pssl_format.join_relpath(self.root, rel)

    def label_path(self, label_rel: str) -> str:
        return self.path(label_rel)

    def rank_list_path(self, rank: int) -> str:
        return os.path.join(self.work_dir, f"train.rank{rank}.txt")

    def rank_failures_path(self, rank: int) -> str:
        return os.path.join(self.work_dir, f"failures.rank{rank}.txt")

    def rank_marker_path(self, rank: int) -> str:
        return os.path.join(self.work_dir, f"rank{rank}.done.json")

    # ---- resume -----------------------------------------------------------------------------

    def _listed_labels(self) -> Dict[str, str]:
        """label relpath -> image relpath for every label of train.txt and every rank list."""
        entries: Dict[str, str] = {}
        for line in self._published_and_rank_lines(pssl_format.TRAIN_LIST_FILE, "train"):
            try:
                label_rel, image_rel = pssl_format.parse_list_line(line)
            except ValueError:
                continue
            entries.setdefault(label_rel, image_rel)
        return entries

    def _published_and_rank_lines(self, published_file: str, rank_prefix: str) -> Iterator[str]:
        """Lines of ``<root>/<published_file>``, then of each ``<work>/<rank_prefix>.rank*.txt``."""
        sources = [os.path.join(self.root, published_file)]
        sources += sorted(glob.glob(os.path.join(self.work_dir, f"{rank_prefix}.rank*.txt")))
        for path in sources:
            yield from read_lines(path)

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

    # ---- writing ----------------------------------------------------------------------------

    def write(self, label_rel: str, image_rel: str, deciles: np.ndarray, *,
              consensus: Optional[np.ndarray] = None,
              model_maps: Optional[Mapping[str, np.ndarray]] = None) -> None:
        """Write one label (and its optional extras), then list it as done.

        Args:
            label_rel: ``train/<class>/<image>.png``.
            image_rel: The image path relative to the image root.
            deciles: HxW uint8 in 0..9.
            consensus: HxW float consensus, written as float16 when ``keep_float``.
            model_maps: name -> raw map, written when ``keep_model_maps``.
        """
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
        atomic_write_bytes(self.label_path(label_rel), png, fsync=self.fsync)
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

    # ---- rank completion --------------------------------------------------------------------

    def clear_rank_marker(self) -> None:
        try:
            os.remove(self.rank_marker_path(self.rank))
        except FileNotFoundError:
            pass

    def mark_rank_done(self, info: Mapping) -> None:
        """Tell rank 0 this rank finished its slice (``info``: world_size, digests, counts)."""
        self.close()
        atomic_write_text(self.rank_marker_path(self.rank),
                          json.dumps(dict(info, rank=self.rank), indent=2, sort_keys=True),
                          fsync=self.fsync)

    def read_rank_marker(self, rank: int) -> Optional[dict]:
        path = self.rank_marker_path(rank)
        try:
            with open(path, "r", encoding="utf-8") as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def wait_for_ranks(self, expected: Mapping[int, Mapping], *, poll_s: float = 2.0,
                       timeout_s: Optional[float] = None,
                       on_wait: Optional[Callable[[List[int]], None]] = None,
                       report_every_s: float = 60.0) -> Dict[int, dict]:
        """Wait until every rank of ``expected`` wrote a marker matching its expected fields.

        Args:
            expected: rank -> fields its marker must hold (world size, settings and slice
                digests), so a marker left by another run or another sharding never counts.
            timeout_s: Give up after this many seconds (None: wait for ever; the launcher
                stops every rank when one crashes).
            on_wait: Called with the ranks still missing, every ``report_every_s`` seconds.

        Returns:
            rank -> marker.

        Raises:
            TimeoutError: naming the ranks that did not finish.
        """
        start = last_report = time.monotonic()
        while True:
            markers, missing = {}, []
            for rank, fields in sorted(expected.items()):
                marker = self.read_rank_marker(rank)
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

    # ---- merge (rank 0) ---------------------------------------------------------------------

    def recorded_failures(self) -> Dict[str, str]:
        """image relpath -> reason of every failure recorded so far (published or in flight)."""
        return self._read_failures()

    def _read_failures(self) -> Dict[str, str]:
        """image relpath -> reason: the published failures.txt, updated by every rank's list."""
        failures: Dict[str, str] = {}
        for line in self._published_and_rank_lines(pssl_format.FAILURES_FILE, "failures"):
            image_rel, _, reason = line.partition(pssl_format.LIST_COLUMN_SEPARATOR)
            failures[image_rel] = reason
        return failures

    def remove_stale_tmp(self, *, top_only: bool = False) -> None:
        """Remove the temporary files of writes a kill cut short (``.<name>.tmp.<pid>``).

        Everywhere under the root once every rank has finished (the merge); with ``top_only``,
        those at the top of the root, which only rank 0's merge and holders of the folder lock
        (the fingerprint) write: rank 0 removes them at start-up, under that lock.
        """
        for folder, _, files in os.walk(self.root):
            for name in files:
                if name.startswith(".") and TMP_MARK in name:
                    try:
                        os.remove(os.path.join(folder, name))
                    except OSError:
                        pass
            if top_only:
                return

    def merge(self, classes: Iterable[str], manifest: Mapping) -> Dict[str, int]:
        """Publish the run: ``train.txt``, ``failures.txt``, ``synsets.txt``, ``manifest.json``.

        Call once, on one process, after every rank finished. Clears the in-flight state.

        Args:
            classes: The class list, in class-id order.
            manifest: Everything to record; ``counts.labels`` and ``counts.failures`` are
                filled in here.

        Returns:
            {"labels": n, "failures": n}.
        """
        self.close()
        entries = self._listed_labels()
        labels = sorted(set(entries).intersection(self.existing_labels()))
        done_images = {entries[k] for k in labels}
        failures = {k: v for k, v in self._read_failures().items() if k not in done_images}
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
            full["counts"]["failure_fraction"] = round(
                len(failures) / full["counts"]["images"], 6)
        atomic_write_text(os.path.join(self.root, pssl_format.MANIFEST_FILE),
                          json.dumps(full, indent=2, sort_keys=True) + "\n", fsync=True)
        self.remove_stale_tmp()
        for path in glob.glob(os.path.join(self.work_dir, "*")):
            os.remove(path)
        try:
            os.rmdir(self.work_dir)
        except OSError:
            pass
        return counts


def read_failures(root: str) -> List[Tuple[str, str]]:
    """(image relpath, reason) pairs of a merged ``failures.txt``."""
    out = []
    for line in read_lines(os.path.join(root, pssl_format.FAILURES_FILE)):
        image_rel, _, reason = line.partition(pssl_format.LIST_COLUMN_SEPARATOR)
        out.append((image_rel, reason))
    return out
