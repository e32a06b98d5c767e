"""Everything ``import paddleseg_pssl`` does to PaddleSeg (:data:`FIXES`), and the one log
line saying so: the count of fixes, with the list at debug level (or in place of the count
when ``PADDLESEG_PSSL_REPORT=full``)."""
import atexit
import os
import sys
from typing import Callable, Optional, Tuple

from paddleseg_pssl import compat
from paddleseg_pssl.compat import patching
from paddleseg_pssl.training import builder, config_opts, output_layer
from paddleseg_pssl.user_errors import USER_ERRORS, report_error

LOG_PREFIX = "paddleseg_pssl: "
REPORT_ENV = "PADDLESEG_PSSL_REPORT"
FULL_REPORT = "full"

#: Every change made to PaddleSeg and Paddle, in the order :func:`activate` installs them.
FIXES: Tuple[patching.Fix, ...] = (*compat.FIXES, builder.FIX, builder.TRAIN_FIX,
                                   output_layer.FIX, config_opts.FIX)

_LOGGED = []


def activate() -> Tuple[str, ...]:
    """Install every fix its probe asks for (idempotent); returns :func:`applied_fixes`."""
    return patching.apply(FIXES)


#: Names of the fixes in place, in installation order.
applied_fixes: Callable[[], Tuple[str, ...]] = patching.applied


def describe() -> str:
    """The log line listing the fixes in place."""
    return LOG_PREFIX + "fixes applied to PaddleSeg: " + (", ".join(applied_fixes()) or "none")


def summary() -> str:
    """The short log line: how many fixes are in place and how to list them."""
    return (LOG_PREFIX + f"{len(applied_fixes())} PaddleSeg fixes applied "
            f"({REPORT_ENV}={FULL_REPORT} lists them)")


def log_once(log: Callable[[str], None], debug: Callable[[str], None]) -> bool:
    """The first time only, write one line through ``log`` (:func:`summary`, or :func:`describe`
    when asked for) and the list through ``debug``; True when it wrote."""
    if _LOGGED:
        return False
    _LOGGED.append(True)
    full = os.environ.get(REPORT_ENV, "").strip().lower() == FULL_REPORT
    log(describe() if full else summary())
    if not full:
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
    """For scripts we do not own (PaddleSeg's ``tools/*.py``): an uncaught error for the user
    ends the process in one stderr line and our tools' status; others keep their traceback."""
    previous = sys.excepthook

    def excepthook(exc_type, exc, tb):
        error = user_error_in(exc)
        if error is None:
            return previous(exc_type, exc, tb)
        exit_now(report_error(prog, error))

    sys.excepthook = excepthook


def exit_now(status: int) -> None:
    """End the process with ``status`` after the ``atexit`` handlers and flushed streams,
    as a normal exit would: after an uncaught exception Python's status is always 1."""
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
