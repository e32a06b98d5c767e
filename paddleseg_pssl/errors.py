"""Exceptions paddleseg-pssl raises for problems the user can fix (arXiv 2207.03335 tooling).

Every ``tools/`` script turns a :class:`PSSLConfigError` into a one-line message on stderr and
exit status 2 (argparse's status for bad usage); anything else is a bug and keeps its traceback.
Library messages name run options by their argument (``resume_model``); an error that names
one keeps it as an ``{option}`` field (:class:`NamesRunOptions`), which ``cli/`` spells as the
flag the user typed (``--resume_model``, see ``user_errors.FLAG_NAMES``).
"""
from typing import Mapping

#: Exit status of a command line that was given bad input (argparse uses the same value).
EXIT_BAD_INPUT: int = 2


class PSSLConfigError(ValueError):
    """A config file, a config value or a command-line value the user has to fix.

    The message is a single line that names the file or key, the value found, what was
    expected and, where there is one, the fix.
    """


#: Exit status of a generation run stopped early because every image would fail.
EXIT_FAIL_FAST: int = 3
#: Exit status of a training run stopped by a sample it could not load (``tools/train.py``).
EXIT_BAD_SAMPLE: int = 4
#: Exit status of a generation run whose rank 0 stopped waiting for other ranks
#: (``merge_timeout_s``): labels are kept; merge with ``--merge_only`` once they finish.
EXIT_MERGE_TIMEOUT: int = 5
# Ctrl-C: the shell's convention for a process ended by SIGINT (128 + 2).
EXIT_INTERRUPTED: int = 130


class PSSLRunStopped(RuntimeError):
    """A long run stopped early (machine error, or images failing for one reason).

    The message is a single line naming the cause, the file or image, and the fix; what was
    finished is kept, so a rerun resumes.
    """


class OptionNames(dict):
    """How run options are spelled in messages: listed ones as given, others ``prefix + name``."""

    def __init__(self, names: Mapping[str, str] = (), prefix: str = "") -> None:
        super().__init__(names)
        self.prefix = prefix

    def __missing__(self, name: str) -> str:
        return self.prefix + name


#: How the library names a run option in a message: its keyword argument (``resume_model``), a
#: switch as ``name=True``; a command line passes its own flag names (see :func:`spell_options`).
LIBRARY_OPTION_NAMES = OptionNames({"adopt_existing": "adopt_existing=True",
                                    "merge_only": "merge_only=True"})


def spell_options(template: str, names: Mapping[str, str] = LIBRARY_OPTION_NAMES) -> str:
    """A message from ``template``, whose ``{option}`` fields name run options, with the
    options spelled as ``names`` says (library keyword arguments, or command-line flags)."""
    return template.format_map(names)


def literal(text: object) -> str:
    """``text`` made safe inside a :func:`spell_options` template (braces doubled)."""
    return str(text).replace("{", "{{").replace("}", "}}")


class NamesRunOptions(Exception):
    """An error whose message names run options; ``template`` keeps them as ``{option}``
    fields so a command line can name its flags (``type(exc)(exc.template, flag_names)``)."""

    def __init__(self, template: str, names: Mapping[str, str] = LIBRARY_OPTION_NAMES):
        super().__init__(spell_options(template, names))
        self.template = template


class OptionError(NamesRunOptions, PSSLConfigError):
    """Bad user input named by its run option (``{resume_model} 'x' is not a directory``):
    the library's message says the argument, a command line's the flag the user typed."""
