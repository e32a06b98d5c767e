"""Exceptions for problems the user can fix, and the exit statuses of the command lines.

A :class:`PSSLConfigError` or :class:`PSSLSampleError` ends a ``tools/`` script in one stderr
line; anything else is a bug and keeps its traceback. Messages name run options by their
argument (``resume_model``), which a command line shows as its flag (``--resume_model``).
"""
from typing import Iterable

#: Exit status of a command line that was given bad input (argparse uses the same value).
EXIT_BAD_INPUT: int = 2
#: Exit status of a generation run stopped early because every image would fail.
EXIT_FAIL_FAST: int = 3
#: Exit status of a training run stopped by a sample it could not load.
EXIT_BAD_SAMPLE: int = 4
#: Exit status of a generation run whose rank 0 stopped waiting for other ranks
#: (``merge_timeout_s``): labels are kept; merge with ``--merge_only`` once they finish.
EXIT_MERGE_TIMEOUT: int = 5
#: Ctrl-C: the shell's convention for a process ended by SIGINT (128 + 2).
EXIT_INTERRUPTED: int = 130


class UserError(Exception):
    """One line naming the key or file, the value found, what was expected and the fix;
    ``options`` are the run options (keyword arguments) the message names."""

    def __init__(self, message: str = "", options: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.options = tuple(options)


class PSSLConfigError(UserError, ValueError):
    """A config file, a config value or a command-line value the user has to fix."""


class PSSLSampleError(UserError, ValueError):
    """A training sample that cannot be loaded; the message names its files. Found during
    training, so it ends the run with :data:`EXIT_BAD_SAMPLE`, not :data:`EXIT_BAD_INPUT`."""


class PSSLRunStopped(RuntimeError):
    """A long run stopped early (machine error, or images failing for one reason); the message
    names the cause, the file or image, and the fix. What was finished is kept for a rerun."""
