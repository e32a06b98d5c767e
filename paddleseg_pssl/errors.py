"""Exceptions paddleseg-pssl raises for problems the user can fix (arXiv 2207.03335 tooling).

Every ``tools/`` script turns a :class:`PSSLConfigError` into a one-line message on stderr and
exit status 2 (argparse's status for bad usage); anything else is a bug and keeps its traceback.
"""

#: Exit status of a command line that was given bad input (argparse uses the same value).
EXIT_BAD_INPUT: int = 2


class PSSLConfigError(ValueError):
    """A config file, a config value or a command-line value the user has to fix.

    The message is a single line that names the file or key, the value found, what was
    expected and, where there is one, the fix.
    """


#: Exit status of a generation run stopped early because every image would fail.
EXIT_FAIL_FAST: int = 3
# Ctrl-C: the shell's convention for a process ended by SIGINT (128 + 2).
EXIT_INTERRUPTED: int = 130


class PSSLRunStopped(RuntimeError):
    """A long run stopped early (machine error, or images failing for one reason).

    The message is a single line naming the cause, the file or image, and the fix; what was
    finished is kept, so a rerun resumes.
    """
