"""Workers that die with their launcher (``kill -9``, a lost ssh session) instead of labelling on
into a folder nobody merges: Linux ``prctl(PR_SET_PDEATHSIG)``, else a thread polling the parent."""
import ctypes
import ctypes.util
import os
import signal
import sys
import threading

#: ``prctl`` option: signal to receive when the parent dies (linux/prctl.h).
PR_SET_PDEATHSIG = 1
#: Seconds between two looks at the parent pid (watchdog fallback).
WATCHDOG_POLL_S = 1.0


def _set_pdeathsig(sig: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int) -> None:
    while True:
        threading.Event().wait(WATCHDOG_POLL_S)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGTERM)
            return


def exit_with_parent() -> None:
    """Terminate this process (SIGTERM) when its parent process dies."""
    parent = os.getppid()
    if not _set_pdeathsig(signal.SIGTERM):
        threading.Thread(target=_watch_parent, args=(parent,), name="pssl-parent-watch",
                         daemon=True).start()
    if os.getppid() != parent:  # the parent died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)
