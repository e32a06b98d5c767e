"""Everything ``import paddleseg_pssl`` does to PaddleSeg, and the one log line saying so.

:data:`FIXES` is the one registry, installed by :func:`activate`: the Paddle 3.x compatibility
fixes (:mod:`paddleseg_pssl.compat`), ``SegBuilder`` reading class counts from the data and
``core.train`` checking what it is given (:mod:`paddleseg_pssl.training.builder`), a
``model.pretrained`` checkpoint's output layer kept out of the model it initialises
(:mod:`paddleseg_pssl.training.output_layer`) and null words in ``--opts`` meaning None
(:mod:`paddleseg_pssl.training.config_opts`). The same happens under PaddleSeg's own
``tools/*.py`` once the package is imported (see ``docs/paddleseg_scripts.md``).
The log line counts the fixes; the list of them is logged at PaddleSeg's debug level, or in
place of the count when ``PADDLESEG_PSSL_REPORT=full``.
"""
import atexit
import os
import sys
from typing import Callable, Optional, Tuple

from paddleseg_pssl import compat
from paddleseg_pssl.compat import patching
from paddleseg_pssl.training import builder, config_opts, output_layer
from paddleseg_pssl.user_errors import USER_ERRORS, report_error

#: Prefix of the import-time log line.
LOG_PREFIX = "paddleseg_pssl: "
#: Environment variable that asks for the list of fixes in place of their count.
REPORT_ENV = "PADDLESEG_PSSL_REPORT"
FULL_REPORT = "full"

#: Every change made to PaddleSeg and Paddle, in the order :func:`activate` installs them.
FIXES: Tuple[patching.Fix, ...] = (*compat.FIXES, builder.FIX, builder.TRAIN_FIX,
                                   output_layer.FIX, config_opts.FIX)

_LOGGED = []


def activate() -> Tuple[str, ...]:
    """Install every fix its probe asks for (idempotent); returns :func:`applied_fixes`."""
    return patching.apply(FIXES)


def applied_fixes() -> Tuple[str, ...]:
    """Names of the fixes in place, in installation order."""
    return patching.applied()


def describe() -> str:
    """The log line listing the fixes in place."""
    return LOG_PREFIX + "fixes applied to PaddleSeg: " + (", ".join(applied_fixes()) or "none")


def summary() -> str:
    """The short log line: how many fixes are in place and how to list them."""
    return (LOG_PREFIX + f"{len(applied_fixes())} PaddleSeg fixes applied "
            f"({REPORT_ENV}={FULL_REPORT} lists them)")


def full_report_asked() -> bool:
    """True when ``PADDLESEG_PSSL_REPORT=full`` asks for the list of fixes."""
    return os.environ.get(REPORT_ENV, "").strip().lower() == FULL_REPORT


def log_once(log: Callable[[str], None], debug: Callable[[str], None]) -> bool:
    """The first time only, write one line through ``log`` (:func:`summary`, or :func:`describe`
    when asked for) and the list through ``debug``; True when it wrote."""
    if _LOGGED:
        return False
    _LOGGED.append(True)
    if full_report_asked():
        log(describe())
        return True
    log(summary())
    debug(describe())
    return True


def user_error_in(exc: BaseException) -> Optional[Exception]:
    """The error for the user (``user_errors.USER_ERRORS``) ``exc`` is or wraps (PaddleSeg's
    builder wraps them)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, USER_ERRORS):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def use_one_line_errors(prog: str) -> None:
    """Make an uncaught error for the user (:func:`user_error_in`) end the process with one
    stderr line and the status our tools give it (2 for a config error, see
    :func:`~paddleseg_pssl.user_errors.report_error`).

    For scripts we do not own (PaddleSeg's ``tools/*.py``), which let errors propagate: any
    other exception keeps its traceback and Python's status 1.
    """
    previous = sys.excepthook

    def excepthook(exc_type, exc, tb):
        error = user_error_in(exc)
        if error is None:
            previous(exc_type, exc, tb)
            return
        exit_now(report_error(prog, error))

    sys.excepthook = excepthook


def exit_now(status: int) -> None:
    """End the process with ``status`` after the ``atexit`` handlers and flushed streams,
    as a normal exit would: after an uncaught exception Python's status is always 1."""
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
