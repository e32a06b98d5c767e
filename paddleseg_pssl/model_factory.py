"""Resolve an architecture string to the callable that builds it: a registered name
(``resnet50``, ``mini_vgg``) or ``'package.module:factory'`` for any importable function or
class. Every error carries the string (``FactoryError.spec``) and says how to fix it."""
import difflib
import importlib
from typing import Any, Callable, Mapping, Optional

SPEC_SEPARATOR = ":"
#: Close matches offered for a misspelt name at most.
MAX_SUGGESTIONS = 5
#: A registry of at most this many names is listed whole in an error.
MAX_LISTED_NAMES = 10

Registry = Callable[[], Mapping[str, Callable[..., Any]]]


class FactoryError(ValueError):
    """An architecture string (``spec``, as given) that resolves to no factory."""

    def __init__(self, message: str, spec: Any):
        super().__init__(message)
        self.spec = spec


def _import_factory(spec: str) -> Callable[..., Any]:
    """The callable named by ``'module:factory'``."""
    module_name, _, factory_name = spec.partition(SPEC_SEPARATOR)
    if not module_name or not factory_name:
        raise FactoryError(f"arch {spec!r} is not of the form 'module:factory' "
                           "(e.g. 'ppcls.arch:ResNet50')", spec)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise FactoryError(f"arch {spec!r}: module {module_name!r} cannot be imported ({exc}); "
                           "install it or add its directory to PYTHONPATH", spec) from exc
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - any error of the user's module
        raise FactoryError(f"arch {spec!r}: importing module {module_name!r} raised "
                           f"{type(exc).__name__}: {exc}; fix that module", spec) from None
    factory = getattr(module, factory_name, None)
    if factory is None or not callable(factory):
        names = [n for n in dir(module) if not n.startswith("_")]
        close = difflib.get_close_matches(factory_name, names, n=MAX_SUGGESTIONS)
        hint = f"; close matches: {close}" if close else ""
        raise FactoryError(f"arch {spec!r}: module {module_name!r} has no callable "
                           f"{factory_name!r}{hint}", spec)
    return factory


def resolve_factory(spec: str, registry: Optional[Registry] = None,
                    registry_name: str = "a registered name") -> Callable[..., Any]:
    """The callable that builds ``spec``: a name of ``registry`` (called only for a name
    without ``':'``) or a ``'module:factory'``; ``registry_name`` is what a name is."""
    if not isinstance(spec, str) or not spec.strip():
        raise FactoryError(f"arch must be a non-empty string, got {spec!r}", spec)
    if SPEC_SEPARATOR in spec:
        return _import_factory(spec)
    known = dict(registry() if registry is not None else {})
    if spec in known:
        return known[spec]
    names = sorted(known)
    close = difflib.get_close_matches(spec.lower(), names, n=MAX_SUGGESTIONS, cutoff=0.5)
    hints = [f"close matches: {close}"] if close else []
    if not close or len(names) <= MAX_LISTED_NAMES:
        hints.append(f"known: {names}")
    hint = "; ".join(hints)
    raise FactoryError(f"arch {spec!r} is not {registry_name} ({hint}); for other networks "
                       "write 'module:factory'", spec)
