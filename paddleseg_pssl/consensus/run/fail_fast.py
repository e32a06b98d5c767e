"""Stop a PSSL generation run when going on would only waste it: a machine error while writing
(disk full, read-only, permission), or images failing for one reason (the message with quoted
names and numbers blanked), the first ``fail_fast.first`` or ``fail_fast.in_a_row`` in a row.
Both raise :class:`~paddleseg_pssl.errors.PSSLRunStopped` (exit status 3); a rerun resumes."""
import dataclasses
import errno
import re
from typing import Collection, Optional

from paddleseg_pssl.errors import PSSLRunStopped

#: errno values that mean the machine, not one image, is at fault when writing output.
MACHINE_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM,
                            errno.EDQUOT, errno.EIO})

_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_NUMBER = re.compile(r"\d+(\.\d+)?")


def is_machine_error(exc: BaseException) -> bool:
    """Whether ``exc`` is an OSError of the machine (disk full, read-only, permission...)."""
    return isinstance(exc, OSError) and exc.errno in MACHINE_ERRNOS


def machine_stop(exc: OSError, doing: str) -> PSSLRunStopped:
    """The stop for machine error ``exc`` raised while ``doing`` (e.g. 'writing a label')."""
    where = exc.filename or "the output folder"
    return PSSLRunStopped(
        f"stopped: {exc.strerror or exc} while {doing} ({where}); free space or fix the "
        f"permissions of the output folder, then rerun to resume")


def reason_class(reason: str) -> str:
    """A failure message with quoted names and numbers blanked: one class per cause."""
    return _NUMBER.sub("N", _QUOTED.sub("'...'", reason)).strip()


@dataclasses.dataclass
class FailFast:
    """Watches one rank's results and raises when images keep failing for one reason."""

    first: int
    in_a_row: int
    known_failures: Collection[str] = ()
    seen: int = 0
    streak: int = 0
    streak_reason: Optional[str] = None

    def succeeded(self) -> None:
        """One image was labelled."""
        self.seen += 1
        self.streak, self.streak_reason = 0, None

    def failed(self, image_rel: str, reason: str) -> None:
        """One image failed with ``reason``; raises PSSLRunStopped when a rule fires."""
        if image_rel in self.known_failures:
            return
        self.seen += 1
        cls = reason_class(reason)
        if cls == self.streak_reason:
            self.streak += 1
        else:
            self.streak, self.streak_reason = 1, cls
        if self.first and self.streak == self.seen == self.first:
            rule = f"the first {self.first} images all failed"
        elif self.in_a_row and self.streak >= self.in_a_row:
            rule = f"{self.streak} images in a row failed"
        else:
            return
        raise PSSLRunStopped(
            f"stopped: {rule} for the same reason, last {image_rel!r}: {reason} -- fix the "
            f"cause and rerun to resume (see .pssl_work/failures.rank<r>.txt; fail_fast.first / "
            f"fail_fast.in_a_row set these limits, 0 turns one off)")
