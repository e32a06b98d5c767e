"""The error every reader of the on-disk PSSL contract raises: it names the file."""
from typing import Optional

from paddleseg_pssl.errors import PSSLConfigError


class PSSLFormatError(PSSLConfigError):
    """A PSSL file (class list, train list, label) that does not follow the format; ``path``
    is the file at fault (also named in the message), or None."""

    def __init__(self, message: str, path: Optional[str] = None):
        super().__init__(message)
        self.path = path
