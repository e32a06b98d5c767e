"""The one mechanism by which ``import paddleseg_pssl`` changes PaddleSeg and Paddle.

A :class:`Fix` names what it replaces by key (``"module:attribute"``, ``"module:Class.method"``);
:func:`apply` installs the fixes whose probe asks for it, keeping the stock objects for
:func:`original`.
"""
import dataclasses
import sys
import warnings
from typing import Callable, Dict, List, Mapping, Sequence, Tuple

import paddle

#: Attribute set on every replacement so that a second ``apply`` recognises it.
MARKER = "__pssl_compat_fix__"

#: Probe inputs are this small: pixels per side, classes.
PROBE_SIZE = 2
PROBE_CLASSES = 2

#: Stock objects replaced by a fix, by key (see :func:`original`).
_ORIGINALS: Dict[str, object] = {}
#: Names of the fixes installed so far, in installation order.
_APPLIED: List[str] = []


def always() -> bool:
    """The probe of a fix that is a feature of this package, not a repair: always needed."""
    return True


@dataclasses.dataclass(frozen=True)
class Fix:
    """One change to PaddleSeg or Paddle: its logged name, the upstream reports ("" for a
    feature of this package), the probe, and key -> replacement."""

    name: str
    upstream: str
    is_needed: Callable[[], bool]
    patches: Mapping[str, object]


def _split(key: str) -> Tuple[object, str]:
    """(owner object, attribute name) of a key; the module from ``sys.modules``, since a package
    may re-export a function under its module's name (``paddleseg.core.train``)."""
    module_name, sep, path = key.partition(":")
    if not sep or not path:
        raise ValueError(f"key {key!r} must look like 'module:attribute' or "
                         "'module:Class.method', e.g. 'paddleseg.utils.metrics:calculate_area'")
    __import__(module_name)
    owner: object = sys.modules[module_name]
    *parents, attr = path.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    return owner, attr


def current(key: str) -> object:
    """The object now at ``key`` (for a method, the function in the class dict)."""
    owner, attr = _split(key)
    return owner.__dict__[attr] if isinstance(owner, type) else getattr(owner, attr)


def original(key: str) -> object:
    """The stock object at ``key`` before any fix replaced it (the current one if none did)."""
    return _ORIGINALS[key] if key in _ORIGINALS else current(key)


def is_patched(key: str) -> bool:
    """True when the object at ``key`` is one of the replacements."""
    return bool(getattr(current(key), MARKER, False))


def install(key: str, new: object) -> None:
    """Puts ``new`` at ``key``, keeping the stock object for :func:`original`."""
    if is_patched(key):
        return
    _ORIGINALS.setdefault(key, current(key))
    setattr(new, MARKER, True)
    owner, attr = _split(key)
    setattr(owner, attr, new)


def apply(fixes: Sequence[Fix]) -> Tuple[str, ...]:
    """Install every fix whose probe asks for it, in order; safe to call repeatedly. A probe
    that crashes skips its fix with a warning, not breaking the import. Returns :func:`applied`."""
    for fix in fixes:
        if fix.name in _APPLIED:
            continue
        try:
            needed = fix.is_needed()
        except Exception as error:  # noqa: BLE001 - report, do not break the import
            warnings.warn(f"paddleseg_pssl: fix {fix.name!r} skipped, its probe of "
                          f"{sorted(fix.patches)} failed: {error!r}")
            continue
        if needed:
            for key, new in fix.patches.items():
                install(key, new)
            _APPLIED.append(fix.name)
    return applied()


def applied() -> Tuple[str, ...]:
    """Names of the fixes :func:`apply` installed, in order."""
    return tuple(_APPLIED)


def fails(fn: Callable[[], object]) -> bool:
    """True when calling ``fn`` raises (a probe of stock behaviour on a tiny input)."""
    try:
        fn()
    except Exception:  # noqa: BLE001 - any failure of the stock code is what we detect
        return True
    return False


def probe_logits() -> paddle.Tensor:
    """Zero logits of the probe size, (1, C, H, W) float32."""
    return paddle.zeros([1, PROBE_CLASSES, PROBE_SIZE, PROBE_SIZE], dtype="float32")


def probe_labels() -> paddle.Tensor:
    """Zero labels of the probe size, (1, H, W) int64."""
    return paddle.zeros([1, PROBE_SIZE, PROBE_SIZE], dtype="int64")
