"""A training sample that cannot be loaded ends training with one line naming its files.

:class:`GuardedSamples` turns any exception of a sample into a :class:`SampleLoadError`; the
loader fix (:mod:`paddleseg_pssl.compat.data_loader`) raises it in the training loop.
"""
from typing import Any, List, Sequence

import paddle

from paddleseg_pssl.errors import PSSLRunStopped

#: Errors of this package already say what failed; others are prefixed with their type.
OWN_PACKAGE = __name__.split(".")[0]


def _one_line(text: str) -> str:
    return " ".join(text.split())


class SampleLoadError(PSSLRunStopped):
    """A training sample could not be loaded; the message names its files and the reason.

    One argument only: Paddle re-creates it from a worker's formatted traceback, from which
    :meth:`_own_line` takes the message back.
    """

    def __init__(self, message: str) -> None:
        super().__init__(self._own_line(message))

    @classmethod
    def _own_line(cls, message: str) -> str:
        """``message``, or the line of this error in a worker's traceback report."""
        lines = message.strip().splitlines()
        prefix = f"{cls.__module__}.{cls.__qualname__}: "
        if len(lines) > 1 and lines[-1].startswith(prefix):
            return lines[-1][len(prefix):]
        return _one_line(message)


def sample_files(dataset: Any, index: int) -> List[str]:
    """The files of sample ``index`` by the ``file_list`` convention of PaddleSeg's datasets
    (``[image, label]`` per sample); empty when the dataset keeps no such list."""
    file_list = getattr(dataset, "file_list", None)
    if not isinstance(file_list, Sequence) or not 0 <= index < len(file_list):
        return []
    entry = file_list[index]
    return [str(path) for path in (entry if isinstance(entry, (list, tuple)) else [entry])]


def describe_failure(dataset: Any, index: int, error: BaseException) -> str:
    """One line: the sample, its files the reason does not already name, and the reason."""
    reason = _one_line(str(error)) or type(error).__name__
    if not type(error).__module__.startswith(OWN_PACKAGE):
        reason = f"{type(error).__name__}: {reason}"
    unnamed = [path for path in sample_files(dataset, index) if path not in reason]
    files = f" ({', '.join(unnamed)})" if unnamed else ""
    return f"train sample {index}{files}: {reason}"


class GuardedSamples(paddle.io.Dataset):
    """The train dataset, with any exception of a sample raised as :class:`SampleLoadError`;
    other attributes are the wrapped dataset's."""

    def __init__(self, dataset: paddle.io.Dataset) -> None:
        super().__init__()
        self.dataset = dataset

    def __getitem__(self, index: int) -> Any:
        try:
            return self.dataset[index]
        except Exception as error:
            raise SampleLoadError(describe_failure(self.dataset, index, error)) from error

    def __len__(self) -> int:
        return len(self.dataset)

    def __getattr__(self, name: str) -> Any:
        if name == "dataset":  # not set yet (unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.dataset, name)


def guarded(dataset: Any) -> Any:
    """``dataset`` wrapped in :class:`GuardedSamples`; as is when already wrapped, None, or
    iterable-style (PaddleSeg's ``core.train`` samples by index)."""
    if dataset is None or isinstance(dataset, (GuardedSamples, paddle.io.IterableDataset)):
        return dataset
    return GuardedSamples(dataset)
