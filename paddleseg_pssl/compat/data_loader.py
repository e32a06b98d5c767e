"""Fix for ``paddle.io.DataLoader``: a sample that raises hangs or hides in the loader.

Paddle 3.3's reader thread feeds a C++ blocking queue. With ``num_workers=0`` a dataset error
ends the thread without closing the queue (the loop waits forever); with any ``num_workers``
the loop gets ``SystemError: Blocking queue is killed ...`` and the error is only printed
(Paddle #31371, #32104). The replacement iterators keep the reader's error, kill the queue and
raise that error from ``__next__``.
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
    """True when a dataset error hangs (queue left open) or hides (the loop raises anything
    else) in a ``num_workers=0`` loader of this class; the thread's traceback print is silenced."""
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
    """The probe on the stock single-process class (the multi-process one shares its queue)."""
    return probe_reader_error(original(SINGLE_PROCESS_ITER))


SINGLE_PROCESS_FIX = Fix(
    name="io.DataLoader:reader-error-ends-loop(workers=0)", upstream=UPSTREAM,
    is_needed=_reader_error_lost,
    patches={SINGLE_PROCESS_ITER: _reporting(dataloader_iter._DataLoaderIterSingleProcess)})
MULTI_PROCESS_FIX = Fix(
    name="io.DataLoader:reader-error-ends-loop(workers>0)", upstream=UPSTREAM,
    is_needed=_reader_error_lost,
    patches={MULTI_PROCESS_ITER: _reporting(dataloader_iter._DataLoaderIterMultiProcess)})
