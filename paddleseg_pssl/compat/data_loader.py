"""Fix for ``paddle.io.DataLoader``: a sample that raises hangs or hides in the loader.

Paddle 3.3's loader reads batches in a thread that feeds a C++ blocking queue. Two failures:

* **Hang** (``num_workers=0``): an exception from the dataset ends that thread without closing
  the queue, so the training loop waits for the next batch forever (a bad sample made
  PaddleSeg's ``core.train`` hang, issue 23 of this project).
* **Lost error** (any ``num_workers``): once the thread kills the queue, the loop gets
  ``SystemError: Blocking queue is killed because the data reader raises an exception``; the
  dataset's error is only printed by the dying thread (Paddle #31371, #32104).

The replacements subclass Paddle's two iterator classes: the reader thread keeps its error and
kills the queue, and ``__next__`` raises that error in the consumer's thread.
"""
import threading
from typing import Optional

import paddle
from paddle.io.dataloader import dataloader_iter

from paddleseg_pssl.compat.patching import Fix, original

#: The iterator classes ``paddle.io.DataLoader.__iter__`` builds (looked up in its module).
SINGLE_PROCESS_ITER = "paddle.io.reader:_DataLoaderIterSingleProcess"
MULTI_PROCESS_ITER = "paddle.io.reader:_DataLoaderIterMultiProcess"

#: Paddle issues reporting the hidden error (the hang has no upstream report we know of).
UPSTREAM = "Paddle #31371, #32104 (no PaddleSeg report)"

#: Bound on how long the probe waits for the stock reader thread to end (it ends at once).
PROBE_THREAD_WAIT_S = 10.0


class _ReaderErrorsReachTheLoop:
    """Mixin for Paddle's iterators: the reader thread's error ends the loop as itself."""

    #: The exception that ended the reader thread, if one did.
    reader_error: Optional[BaseException] = None

    def _thread_loop(self, *args, **kwargs) -> None:
        try:
            super()._thread_loop(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - handed to the consumer by __next__
            self.reader_error = error
            self._exit_thread_unexpectedly()  # kills the queue: the waiting reader wakes up

    def __next__(self):
        try:
            return super().__next__()
        except StopIteration:
            raise
        except Exception:
            if self.reader_error is None:
                raise
            raise self.reader_error from None


def _reporting(iterator_class: type) -> type:
    """A subclass of Paddle's ``iterator_class`` whose reader errors reach the loop."""
    return type(iterator_class.__name__, (_ReaderErrorsReachTheLoop, iterator_class),
                {"__module__": __name__, "__doc__": _ReaderErrorsReachTheLoop.__doc__})


class ProbeSampleError(RuntimeError):
    """Raised by the probe's one-sample dataset."""


class _FailingDataset(paddle.io.Dataset):
    def __getitem__(self, index: int):
        raise ProbeSampleError(f"probe sample {index}")

    def __len__(self) -> int:
        return 1


def probe_reader_error(iterator_class: type) -> bool:
    """True when a dataset error hangs or hides in a ``num_workers=0`` loader of this class.

    The reader thread of a stock iterator dies at once on the error; hung when it left the
    queue open (the probe does not wait on it then), hidden when the loop then raises
    anything but the dataset's error. The thread's own traceback print is silenced.
    """
    loader = paddle.io.DataLoader(_FailingDataset(), batch_size=1, num_workers=0)
    previous_hook = threading.excepthook
    threading.excepthook = lambda hook_args: None if hook_args.exc_type is ProbeSampleError \
        else previous_hook(hook_args)
    try:
        iterator = iterator_class(loader)
        iterator._thread.join(PROBE_THREAD_WAIT_S)
        if not iterator._thread_done_event.is_set():
            iterator._exit_thread_unexpectedly()  # release the queue before leaving it
            return True
        try:
            next(iterator)
        except ProbeSampleError:
            return False
        except Exception:  # noqa: BLE001 - anything else hides the dataset's error
            return True
        return True
    finally:
        threading.excepthook = previous_hook


def _reader_error_lost() -> bool:
    """The probe on the stock single-process class; the multi-process one reads batches
    through the same blocking queue, which reports a kill the same way."""
    return probe_reader_error(original(SINGLE_PROCESS_ITER))


SINGLE_PROCESS_FIX = Fix(
    name="io.DataLoader:reader-error-ends-loop(workers=0)", upstream=UPSTREAM,
    is_needed=_reader_error_lost,
    patches={SINGLE_PROCESS_ITER: _reporting(dataloader_iter._DataLoaderIterSingleProcess)})
MULTI_PROCESS_FIX = Fix(
    name="io.DataLoader:reader-error-ends-loop(workers>0)", upstream=UPSTREAM,
    is_needed=_reader_error_lost,
    patches={MULTI_PROCESS_ITER: _reporting(dataloader_iter._DataLoaderIterMultiProcess)})
