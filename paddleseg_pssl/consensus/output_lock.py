"""The output folder of a PSSL generation run: made writable up front, and locked per rank.

Two runs into one folder would label everything twice; :class:`RankLock` holds an advisory
``fcntl`` lock on ``.pssl_work/rank<r>.lock`` for the whole run, so a second process of the
same rank is refused with a line naming the holder (pid, host, start time). The kernel drops
the lock when its holder exits, even on ``kill -9``, so a stale lock never blocks a resume.
"""
import datetime
import errno
import fcntl
import json
import os
import socket
import tempfile
from typing import Optional

from paddleseg_pssl.consensus.config import ConfigError
from paddleseg_pssl.errors import PSSLConfigError

LOCK_NAME = "rank{rank}.lock"

_WHY = {errno.EACCES: "is not writable (permission denied)",
        errno.EPERM: "is not writable (operation not permitted)",
        errno.EROFS: "is on a read-only file system",
        errno.ENOTDIR: "lies under a regular file, not a folder",
        errno.EEXIST: "exists and is not a folder",
        errno.ENOSPC: "is on a full disk"}


def ensure_output_dir(path: str, key: str = "output") -> None:
    """Make ``path`` (and its parents) and prove it writable with a temporary file.

    Raises:
        ConfigError: naming ``key``, the path and why (not writable, under a file, ...).
    """
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        why = _WHY.get(exc.errno, f"cannot be used ({exc.strerror or exc})")
        bad = exc.filename or path
        raise ConfigError(key, f"{bad!r} {why}; choose another output folder or fix its "
                               "permissions") from None


class OutputBusyError(PSSLConfigError):
    """Another live process holds this rank's lock of the output folder."""


def _holder_text(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        info = json.loads(os.read(fd, 4096).decode("utf-8") or "{}")
        return (f"pid {info.get('pid')} on {info.get('host')} since {info.get('started')}")
    except (OSError, ValueError):
        return "an unknown process"


class RankLock:
    """An exclusive advisory lock of one rank of one output folder, held until :meth:`release`.

    Args:
        work_dir: The output's ``.pssl_work`` folder.
        rank: The rank this process runs.
    """

    def __init__(self, work_dir: str, rank: int):
        self.path = os.path.join(work_dir, LOCK_NAME.format(rank=rank))
        self.rank = rank
        self._fd: Optional[int] = None

    def acquire(self) -> "RankLock":
        """Take the lock, or raise :class:`OutputBusyError` naming the holder."""
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _holder_text(fd)
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            raise OutputBusyError(
                f"output folder {os.path.dirname(os.path.dirname(self.path))!r} is in use by "
                f"another run (rank {self.rank}: {holder}); wait for it or stop it, or write "
                "to another output folder") from None
        info = {"pid": os.getpid(), "host": socket.gethostname(),
                "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(info).encode("utf-8"))
        self._fd = fd
        return self

    def release(self) -> None:
        """Drop the lock (closing the descriptor releases it)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "RankLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
