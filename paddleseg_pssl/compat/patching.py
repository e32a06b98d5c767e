"""How a compatibility fix replaces a PaddleSeg object, and how probes test the stock one.

A target is named by a key, ``"module:attribute"`` or ``"module:Class.method"``; the stock
object is kept so that probes and replacements can still call it (:func:`original`).
"""
import dataclasses
import sys
import types
from typing import Callable, Dict, Tuple

import paddle

#: Attribute set on every replacement so that a second ``apply`` recognises it.
MARKER = "__pssl_compat_fix__"

#: Probe inputs are this small: pixels per side, classes.
PROBE_SIZE = 2
PROBE_CLASSES = 2

#: Stock objects replaced by a fix, by key (see :func:`original`).
_ORIGINALS: Dict[str, object] = {}


@dataclasses.dataclass(frozen=True)
class Fix:
    """One compatibility fix.

    Attributes:
        name: Short identifier, logged by the CLI.
        target: Key of the replaced object, ``"module:attribute"``.
        upstream: PaddleSeg issues / pull requests that report or fix the failure.
        is_needed: Probe; True when the stock object shows the failure.
        replacement: The object installed at ``target``.
    """

    name: str
    target: str
    upstream: str
    is_needed: Callable[[], bool]
    replacement: Callable


def _module(name: str) -> types.ModuleType:
    """Returns the module object ``name``, never a same-named re-exported function.

    ``paddleseg.core.train`` is a module, but ``paddleseg.core`` re-exports the function
    ``train`` under the same name, so attribute access on the package yields the function;
    ``sys.modules`` holds the module.
    """
    __import__(name)
    return sys.modules[name]


def _split(key: str) -> Tuple[object, str]:
    """Resolves a key to (owner object, attribute name).

    Raises:
        ValueError: If ``key`` is not ``"module:attribute"`` or ``"module:Class.attribute"``.
    """
    module_name, sep, path = key.partition(":")
    if not sep or not path:
        raise ValueError(f"key {key!r} must look like 'module:attribute' or "
                         "'module:Class.method', e.g. 'paddleseg.utils.metrics:calculate_area'")
    owner: object = _module(module_name)
    *parents, attr = path.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    return owner, attr


def current(key: str) -> object:
    """The object now at ``key`` (for a method, the function in the class dict)."""
    owner, attr = _split(key)
    if isinstance(owner, type):
        return owner.__dict__[attr]  # the function itself, also for methods
    return getattr(owner, attr)


def original(key: str) -> object:
    """Returns the stock PaddleSeg object at ``key``, as it was before :func:`apply`.

    Args:
        key: ``"module:attribute"`` or ``"module:Class.method"``; the constants of
            :mod:`paddleseg_pssl.compat` (``CALCULATE_AREA``...) name the replaced ones.

    Returns:
        The stock object; if no fix replaced it, the current object.

    Raises:
        ValueError: If ``key`` is malformed.
    """
    if key in _ORIGINALS:
        return _ORIGINALS[key]
    return current(key)


def is_patched(key: str) -> bool:
    """True when the object at ``key`` is one of the compat replacements."""
    return bool(getattr(current(key), MARKER, False))


def install(key: str, new: Callable) -> None:
    """Puts ``new`` at ``key``, keeping the stock object for :func:`original`."""
    if is_patched(key):
        return
    old = current(key)
    _ORIGINALS.setdefault(key, old)
    setattr(new, MARKER, True)
    owner, attr = _split(key)
    setattr(owner, attr, new)


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
