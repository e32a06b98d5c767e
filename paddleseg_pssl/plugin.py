"""Everything ``import paddleseg_pssl`` does to PaddleSeg, and the one log line saying so.

Applies the Paddle 3.x compatibility fixes (:mod:`paddleseg_pssl.compat`), teaches PaddleSeg's
``SegBuilder`` to read class counts from the data (:mod:`paddleseg_pssl.builder`) and makes
null words in ``--opts`` mean None (:mod:`paddleseg_pssl.config_opts`). The same happens under
PaddleSeg's own ``tools/*.py`` once the package is imported (see ``docs/paddleseg_scripts.md``).
"""
from typing import Callable, Tuple

from paddleseg_pssl import builder, compat, config_opts

#: Prefix of the import-time log line.
LOG_PREFIX = "paddleseg_pssl: fixes applied to PaddleSeg: "

_LOGGED = []


def activate() -> Tuple[str, ...]:
    """Apply every fix (idempotent); returns the names of all fixes in place."""
    compat.apply()
    builder.install()
    config_opts.install()
    return applied_fixes()


def applied_fixes() -> Tuple[str, ...]:
    """Names of the fixes in place: compat's probed ones, then the plugin's own."""
    own = tuple(name for name, on in ((builder.FIX_NAME, builder.is_installed()),
                                      (config_opts.FIX_NAME, config_opts.is_installed()))
                if on)
    return compat.applied_fixes() + own


def describe() -> str:
    """The log line listing the fixes in place."""
    return LOG_PREFIX + (", ".join(applied_fixes()) or "none")


def log_once(log: Callable[[str], None]) -> bool:
    """Write :func:`describe` through ``log`` the first time only; True when it wrote."""
    if _LOGGED:
        return False
    _LOGGED.append(True)
    log(describe())
    return True
