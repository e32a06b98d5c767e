"""A background thread that finishes labels (label maths, writing, failure records) while the next
image is explained. Jobs run in submission order, so the done-list follows the image order; the
bounded queue makes the main thread wait for a slow disk instead of holding every explanation."""
from __future__ import annotations

import queue
import threading
from typing import Callable, Optional

#: Finished explanations waiting for the writer at most (each holds its maps in memory).
WRITER_QUEUE_DEPTH: int = 4

_STOP = object()


class LabelWriter:
    """Runs zero-argument jobs in one background thread, in order. A job that raises stops the
    writer; the error is raised again in the submitting thread by the next :meth:`put` or by
    :meth:`close` (jobs handle per-image errors themselves)."""

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
