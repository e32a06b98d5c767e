"""How an error the user can fix ends a run, under our command lines and PaddleSeg's own
scripts alike: one stderr line (run options written as their flags) and an exit status."""
import re
import sys
from typing import Iterable

from paddleseg_pssl.errors import (EXIT_BAD_INPUT, EXIT_BAD_SAMPLE, PSSLConfigError,
                                   PSSLSampleError)
from paddleseg_pssl.training.sample_guard import SampleLoadError

#: The errors that end a command in one line; the others keep their traceback.
USER_ERRORS = (PSSLConfigError, PSSLSampleError, SampleLoadError)

#: Run options (and config keys a flag sets) whose flag is not ``--<option>``.
FLAGS = {"paths": "--images", "processes": "--nproc_per_node / --gpus",
         "learning_rates": "--lrs", "adopt_existing=True": "--adopt_existing",
         "merge_only=True": "--merge_only", "rank/world_size": "--rank/--world-size"}


def flag(option: str) -> str:
    """The command-line flag of a run option."""
    return FLAGS.get(option, f"--{option}")


def as_flags(text: str, options: Iterable[str]) -> str:
    """``text`` with each of ``options`` (a whole word, not inside a path or a quoted value)
    written as its command-line flag."""
    for option in options:
        text = re.sub(rf"(?<![\w'\"/.-]){re.escape(option)}(?![\w'\"/-]|\.\w)",
                      flag(option).replace("\\", r"\\"), text)
    return text


def report_error(prog: str, error: Exception) -> int:
    """Write ``<prog>: error: <message>`` (options as flags); returns the exit status:
    :data:`EXIT_BAD_SAMPLE` for a sample found bad in training, else :data:`EXIT_BAD_INPUT`."""
    message = " ".join(as_flags(str(error), getattr(error, "options", ())).split())
    sys.stderr.write(f"{prog}: error: {message}\n")
    return EXIT_BAD_SAMPLE if isinstance(error, (PSSLSampleError, SampleLoadError)) \
        else EXIT_BAD_INPUT
