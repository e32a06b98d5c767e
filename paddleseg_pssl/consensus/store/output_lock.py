"""The output folder of a PSSL generation run: made writable up front, and locked per rank
(``fcntl`` on ``.pssl_work/rank<r>.lock``, plus a shared ``world<w>.lock`` refusing a run sharded
another way). The kernel drops the locks when their holder exits, even on ``kill -9``."""
import errno
import fcntl
import glob
import json
import os
import socket
import tempfile
from typing import List, Optional

from paddleseg_pssl.consensus.run.generate_config import ConfigError
from paddleseg_pssl.consensus.store.manifest import timestamp
from paddleseg_pssl.errors import PSSLConfigError

LOCK_NAME = "rank{rank}.lock"
WORLD_LOCK_NAME = "world{world_size}.lock"
# Held for a moment while a rank checks the other sharding's locks, so two ranks of one run
# never see each other's brief check as a live run.
GATE_LOCK_NAME = "lock_gate.lock"
_BUSY_ERRNOS = (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES)

_WHY = {errno.EACCES: "is not writable (permission denied)",
        errno.EPERM: "is not writable (operation not permitted)",
        errno.EROFS: "is on a read-only file system",
        errno.ENOTDIR: "lies under a regular file, not a folder",
        errno.EEXIST: "exists and is not a folder",
        errno.ENOSPC: "is on a full disk"}


def ensure_output_dir(path: str) -> None:
    """Make ``path`` (and its parents) and prove it writable with a temporary file, or raise a
    ConfigError naming ``output``, the path and why (not writable, under a file, ...)."""
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:  # the first folder of the path that cannot be made
        raise _unusable(exc.filename or path, exc) from None
    try:
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:  # names the probe file: the folder is what the user can fix
        raise _unusable(path, exc) from None


def _unusable(path: str, exc: OSError) -> ConfigError:
    why = _WHY.get(exc.errno, f"cannot be used ({exc.strerror or exc})")
    return ConfigError("output", f"{path!r} {why}; choose another output folder or fix its "
                                 "permissions")


class OutputBusyError(PSSLConfigError):
    """Another live process holds this rank's lock of the output folder."""


def _holder_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            info = json.loads(f.read() or "{}")
        return f"pid {info.get('pid')} on {info.get('host')} since {info.get('started')}"
    except (OSError, ValueError):
        return "an unknown process"


class RankLock:
    """Exclusive advisory lock of one rank of one output folder, held until :meth:`release`."""

    def __init__(self, work_dir: str, rank: int, world_size: int = 1):
        self.work_dir = work_dir
        self.path = os.path.join(work_dir, LOCK_NAME.format(rank=rank))
        self.rank = rank
        self.world_size = world_size
        self._fds: List[int] = []

    def _busy(self, what: str, holder: str) -> OutputBusyError:
        return OutputBusyError(
            f"output folder {os.path.dirname(self.work_dir)!r} is in use by another run "
            f"({what}: {holder}); wait for it or stop it, or write to another output folder")

    def acquire(self) -> "RankLock":
        """Take the rank and world-size locks; :class:`OutputBusyError` names a holder."""
        os.makedirs(self.work_dir, exist_ok=True)
        try:
            fd = self._lock(self.path, fcntl.LOCK_EX)
            if fd is None:
                raise self._busy(f"rank {self.rank}", _holder_text(self.path))
            _write_holder(fd)
            self._lock_world_size()
        except BaseException:
            self.release()
            raise
        return self

    def _lock(self, path: str, mode: int) -> Optional[int]:
        """Lock ``path`` without waiting; keep and return its descriptor, None if held elsewhere."""
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in _BUSY_ERRNOS:
                return None
            raise
        self._fds.append(fd)
        return fd

    def _lock_world_size(self) -> None:
        """Share this run's world-size lock; refuse if a run of another world size is live."""
        gate = os.open(os.path.join(self.work_dir, GATE_LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(gate, fcntl.LOCK_EX)
            own = os.path.join(self.work_dir, WORLD_LOCK_NAME.format(world_size=self.world_size))
            if self._lock(own, fcntl.LOCK_SH) is None:
                raise self._busy("sharded differently", "another world size")
            for other in sorted(glob.glob(os.path.join(
                    glob.escape(self.work_dir), WORLD_LOCK_NAME.format(world_size="*")))):
                if os.path.abspath(other) == os.path.abspath(own):
                    continue
                probe = os.open(other, os.O_RDWR)
                try:
                    fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError as exc:
                    if exc.errno not in _BUSY_ERRNOS:
                        raise
                    raise self._busy(f"a run with {os.path.basename(other)[:-len('.lock')]}",
                                     f"this one has world size {self.world_size}") from None
                finally:
                    os.close(probe)
        finally:
            os.close(gate)

    def release(self) -> None:
        """Drop the locks (closing the descriptors releases them)."""
        while self._fds:
            os.close(self._fds.pop())

    def __enter__(self) -> "RankLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _write_holder(fd: int) -> None:
    """Record who holds the lock (pid, host, start) for the message a refused run prints."""
    info = json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                       "started": timestamp()}).encode("utf-8")
    os.pwrite(fd, info, 0)  # a full disk fails here and keeps the previous holder's record
    os.ftruncate(fd, len(info))
