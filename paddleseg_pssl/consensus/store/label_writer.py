"""A background thread that finishes labels (label maths, PNG writing, failure records) so that
they do not stall the explanations of the next image (PSSL generation, arXiv 2207.03335, Sec. 3).

Jobs run one at a time in submission order, so the store is written by this thread only and
the done-list order follows the image order. The queue is bounded: a slow disk makes the main
thread wait instead of holding every explanation in memory. Labels are written atomically by
the store as before; jobs still queued when a run is interrupted are dropped, and their images
(not on the done-list) are labelled again on resume.
"""
from __future__ import annotations

import queue
import threading
from typing import Callable, Optional

#: Finished explanations waiting for the writer at most (each holds its maps in memory).
WRITER_QUEUE_DEPTH: int = 4

_STOP = object()


class LabelWriter:
    """Runs zero-argument jobs in one background thread, in order.

    A job that raises stops the writer; the error is raised again in the submitting thread by
    the next :meth:`put` or by :meth:`close`. Jobs handle per-image errors themselves.
    """

    def __init__(self, depth: int = WRITER_QUEUE_DEPTH):
        self._queue: "queue.Queue" = queue.Queue(maxsize=max(1, int(depth)))
        self._error: Optional[BaseException] = None
        self._drop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="pssl-writer", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is _STOP:
                return
            if self._error is not None or self._drop.is_set():
                continue  # stopped: drain without running
            try:
                job()
            except BaseException as exc:  # noqa: BLE001 - handed to the submitting thread
                self._error = exc

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def put(self, job: Callable[[], None]) -> None:
        """Queue ``job`` (waits while the queue is full)."""
        self._raise_error()
        self._queue.put(job)

    def close(self, drain: bool = True) -> None:
        """Run the queued jobs (``drain``) or drop them, stop the thread, raise a job's error."""
        if not drain:
            self._drop.set()
        self._queue.put(_STOP)
        self._thread.join()
        if drain:
            self._raise_error()
