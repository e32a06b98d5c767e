"""How an error the user can fix ends a run: one stderr line and an exit status.

Shared by the command lines (:mod:`paddleseg_pssl.cli`) and by PaddleSeg's own scripts under
the plugin (the start-up hook's ``sys.excepthook`` in :mod:`paddleseg_pssl.plugin`, and
:mod:`paddleseg_pssl.run`), so a config error reads and exits the same whichever started it.
"""
import sys
from typing import Mapping

from paddleseg_pssl.errors import (EXIT_BAD_INPUT, EXIT_BAD_SAMPLE, NamesRunOptions,
                                   OptionNames, spell_options)
from paddleseg_pssl.training.sample_guard import SampleLoadError

#: How the command lines spell the run options library errors name: ``--<option>``.
FLAG_NAMES = OptionNames({}, prefix="--")


def print_error(prog: str, message: str) -> None:
    """The one stderr line a command ends with: ``<prog>: error: <message>``."""
    sys.stderr.write(f"{prog}: error: {message}\n")


def report_error(prog: str, error: Exception, flag_names: Mapping[str, str] = FLAG_NAMES
                 ) -> int:
    """Write the one line for an error the user can fix; returns its exit status
    (:data:`EXIT_BAD_SAMPLE` for a sample that stopped training, else :data:`EXIT_BAD_INPUT`)."""
    message = spell_options(error.template, flag_names) if isinstance(error, NamesRunOptions) \
        else str(error)
    print_error(prog, " ".join(message.split()))
    return EXIT_BAD_SAMPLE if isinstance(error, SampleLoadError) else EXIT_BAD_INPUT
