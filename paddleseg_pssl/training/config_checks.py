"""Check what a loaded PaddleSeg config names, before anything is built.

``SegBuilder`` reports an unknown component or a bad argument from deep inside the build; these
checks raise :class:`~paddleseg_pssl.errors.PSSLConfigError` first, in one line naming the key,
the value and what was expected (with close matches of a misspelt name).
"""
import contextlib
import difflib
import inspect
import os
import sys
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union
from urllib.parse import urlparse

import paddle
from paddleseg.cvlibs import Config, manager

from paddleseg_pssl.errors import PSSLConfigError

KeyPath = Tuple[Union[str, int], ...]

#: Top-level sections whose ``type:`` trees ``SegBuilder`` builds through the registries.
COMPONENT_SECTIONS: Tuple[str, ...] = (
    "model", "train_dataset", "val_dataset", "loss", "distill_loss", "optimizer")

#: Keys of ``lr_scheduler`` that ``SegBuilder`` consumes itself (linear warm-up).
_LR_WARMUP_KEYS: Tuple[str, ...] = ("warmup_iters", "warmup_start_lr")

#: The registry a key's components come from, for suggestions (``*dataset`` -> DATASETS).
_KEY_TO_MANAGER: Dict[str, str] = {
    "model": "MODELS", "backbone": "BACKBONES", "transforms": "TRANSFORMS", "loss": "LOSSES",
    "distill_loss": "LOSSES", "types": "LOSSES", "losses": "LOSSES", "optimizer": "OPTIMIZERS"}

#: The managers ``SegBuilder`` searches, in its order.
_MANAGER_NAMES: Tuple[str, ...] = (
    "MODELS", "BACKBONES", "DATASETS", "TRANSFORMS", "LOSSES", "OPTIMIZERS")


def validate_components(cfg: Config,
                        sections: Sequence[str] = COMPONENT_SECTIONS + ("lr_scheduler",)
                        ) -> None:
    """Check every ``type:`` in ``sections`` is registered and takes the keys given to it.

    Mirrors ``SegBuilder.build_component``: a section's ``type``, nested ``{type: ...}`` values
    and lists of them, losses through ``types``, ``lr_scheduler`` against ``paddle.optimizer.lr``.
    """
    source = _source(cfg)
    for section in sections:
        node = cfg.dic.get(section)
        if node is None:
            continue
        if section == "lr_scheduler":
            _check_lr_scheduler(node, source)
            continue
        if not isinstance(node, dict):
            raise PSSLConfigError(f"config {source}: {section} is a {type(node).__name__}; "
                                  f"expected a mapping with a 'type' key")
        if section in ("loss", "distill_loss"):
            types = node.get("types")
            if not isinstance(types, list) or not types:
                raise PSSLConfigError(
                    f"config {source}: {section}.types is {types!r}; expected a non-empty "
                    f"list of losses such as [{{type: CrossEntropyLoss}}]")
            roots = [((section, "types", i), item) for i, item in enumerate(types)]
        else:
            roots = [((section,), node)]
        for key_path, item in roots:
            if not isinstance(item, dict) or "type" not in item:
                raise PSSLConfigError(
                    f"config {source}: {_format_key(key_path)} is {item!r}; expected a "
                    f"mapping with a 'type' key naming a registered component")
            for comp_path, comp in _iter_components(item, key_path):
                _check_component(comp, comp_path, source)


def validate_paths(cfg: Config, datasets: Sequence[str] = ("train_dataset",)) -> None:
    """Check the files and folders the run will read exist, before Paddle is started.

    In each of ``datasets`` (which must be present): every ``*_root`` is a directory (a
    ``dataset_root`` may be absent for a dataset whose module has a download ``URL``), the
    ``mode``'s list file exists and, for training, is not empty. Local ``model`` ``pretrained``
    files exist.
    """
    source = _source(cfg)
    for section in datasets:
        node = cfg.dic.get(section)
        if not isinstance(node, dict):
            raise PSSLConfigError(f"config {source} has no {section} section; expected a "
                                  f"dataset mapping (type, dataset_root, transforms, mode...)")
        _check_dataset_paths(node, section, source)
    for key_path, value in _iter_keys(cfg.dic.get("model") or {}, ("model",), "pretrained"):
        if isinstance(value, str) and value and not urlparse(value).netloc \
                and not os.path.isfile(value):
            key = _format_key(key_path)
            raise PSSLConfigError(
                f"config {source}: {key} {value!r} is not a file (relative to {os.getcwd()}); "
                f"expected a local .pdparams file or a URL. Fix the path, or set opts "
                f"{key}=None to start from scratch", ["opts"])


@contextlib.contextmanager
def explain_build_errors(cfg: Config, section: str) -> Iterator[None]:
    """Turn ``SegBuilder``'s wrapped argument errors into a one-line :class:`PSSLConfigError`.

    :func:`validate_components` cannot see the arguments of ``**kwargs`` factories (PaddleSeg's
    backbones); a ``TypeError`` about arguments, or a component's own :class:`PSSLConfigError`,
    building ``section`` is unwrapped into one line. Other failures propagate unchanged.
    """
    try:
        yield
    except RuntimeError as exc:
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, PSSLConfigError):
            raise PSSLConfigError(f"config {_source(cfg)}: building {section} failed: "
                                  f"{' '.join(str(cause).split())}", cause.options) from exc
        if isinstance(cause, TypeError) and "argument" in str(cause):
            raise PSSLConfigError(
                f"config {_source(cfg)}: building {section} failed: "
                f"{' '.join(str(cause).split())}; expected only the arguments that component "
                f"accepts (see its docstring)") from exc
        raise


def registered_names(manager_name: Optional[str] = None) -> List[str]:
    """Names registered in one PaddleSeg manager (``"MODELS"``...) or in all of them."""
    names = (manager_name,) if manager_name else _MANAGER_NAMES
    found: List[str] = []
    for name in names:
        found.extend(getattr(manager, name).components_dict.keys())
    return sorted(set(found))


def close_matches(name: str, candidates: Sequence[str], limit: int = 3) -> List[str]:
    """Up to ``limit`` candidates that look like ``name`` (case-insensitive difflib)."""
    lowered = {candidate.lower(): candidate for candidate in candidates}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=limit, cutoff=0.6)
    return [lowered[hit] for hit in hits]


def _source(cfg: Config) -> str:
    return repr(getattr(cfg, "path", "<config>"))


def _format_key(key_path: KeyPath) -> str:
    text = ""
    for key in key_path:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text


def _is_component(value: Any) -> bool:
    return isinstance(value, dict) and "type" in value


def _iter_components(node: Dict[str, Any], key_path: KeyPath
                     ) -> Iterator[Tuple[KeyPath, Dict[str, Any]]]:
    """Yield ``node`` and the components ``SegBuilder.build_component`` builds under it."""
    yield key_path, node
    for key, value in node.items():
        if key == "type":
            continue
        if _is_component(value):
            yield from _iter_components(value, key_path + (key,))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if _is_component(item):
                    yield from _iter_components(item, key_path + (key, index))


def _iter_keys(node: Any, key_path: KeyPath, wanted: str) -> Iterator[Tuple[KeyPath, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == wanted:
                yield key_path + (key,), value
            yield from _iter_keys(value, key_path + (key,), wanted)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _iter_keys(item, key_path + (index,), wanted)


def _expected_manager(key_path: KeyPath) -> Optional[str]:
    for key in reversed(key_path):
        if not isinstance(key, str):
            continue
        if key.endswith("dataset"):
            return "DATASETS"
        if key in _KEY_TO_MANAGER:
            return _KEY_TO_MANAGER[key]
    return None


def _find_component(name: str) -> Any:
    for manager_name in _MANAGER_NAMES:
        components = getattr(manager, manager_name).components_dict
        if name in components:
            return components[name]
    return None


def _normalised_optimizer(node: Dict[str, Any]) -> Dict[str, Any]:
    """Apply ``SegBuilder.optimizer``'s renames (sgd -> SGD, SGD + momentum -> Momentum)."""
    node = dict(node)
    node["type"] = {"sgd": "SGD", "adam": "Adam"}.get(node["type"], node["type"])
    if node["type"] == "SGD" and "momentum" in node:
        node["type"] = "Momentum"
    return node


def _check_component(node: Dict[str, Any], key_path: KeyPath, source: str) -> None:
    if key_path == ("optimizer",) and isinstance(node.get("type"), str):
        node = _normalised_optimizer(node)
    name = node["type"]
    where = f"config {source}: {_format_key(key_path + ('type',))}"
    if not isinstance(name, str):
        raise PSSLConfigError(f"{where} is {name!r}; expected a component name (a string)")
    component = _find_component(name)
    if component is None:
        manager_name = _expected_manager(key_path)
        candidates = registered_names(manager_name)
        hint = close_matches(name, candidates) or close_matches(name, registered_names())
        registry = (f"paddleseg.cvlibs.manager.{manager_name}" if manager_name
                    else "PaddleSeg's registries")
        suggestion = (f" (close matches: {', '.join(hint)})" if hint
                      else f" ({len(candidates)} registered, none close)")
        raise PSSLConfigError(
            f"{where}: unknown component {name!r}; expected a name registered in "
            f"{registry}{suggestion}. Fix the spelling, or import the module that registers it")
    _check_arguments(component, name, {k for k in node if k != "type"}, key_path, source)


def _check_arguments(component: Any, name: str, given: set, key_path: KeyPath,
                     source: str) -> None:
    try:
        parameters = inspect.signature(component).parameters.values()
    except (TypeError, ValueError):
        return  # not introspectable (C extension): the builder will report it
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return
    accepted = [p.name for p in parameters
                if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                              inspect.Parameter.KEYWORD_ONLY)]
    for key in sorted(given - set(accepted)):
        hint = close_matches(key, accepted)
        suggestion = f" (close match: {', '.join(hint)})" if hint else ""
        raise PSSLConfigError(
            f"config {source}: {_format_key(key_path + (key,))}: {name} takes no argument "
            f"{key!r}{suggestion}; expected one of {', '.join(accepted) or '(none)'}")


def _check_lr_scheduler(node: Any, source: str) -> None:
    if not isinstance(node, dict) or not isinstance(node.get("type"), str):
        raise PSSLConfigError(f"config {source}: lr_scheduler is {node!r}; expected a mapping "
                              f"with 'type' naming a paddle.optimizer.lr scheduler")
    schedulers = sorted(
        name for name, obj in vars(paddle.optimizer.lr).items()
        if inspect.isclass(obj) and issubclass(obj, paddle.optimizer.lr.LRScheduler)
        and obj is not paddle.optimizer.lr.LRScheduler)
    name = node["type"]
    if name not in schedulers:
        hint = close_matches(name, schedulers)
        suggestion = f" (close matches: {', '.join(hint)})" if hint else ""
        raise PSSLConfigError(
            f"config {source}: lr_scheduler.type: unknown scheduler {name!r}; expected a class "
            f"of paddle.optimizer.lr{suggestion}")
    given = {k for k in node if k not in ("type",) + _LR_WARMUP_KEYS}
    _check_arguments(getattr(paddle.optimizer.lr, name), name, given, ("lr_scheduler",),
                     source)


def _check_dataset_paths(node: Dict[str, Any], section: str, source: str) -> None:
    component = _find_component(node.get("type", "")) if isinstance(node.get("type"), str) \
        else None
    module = sys.modules.get(getattr(component, "__module__", ""), None)
    downloads_itself = getattr(module, "URL", None) is not None
    for key, value in node.items():
        if not key.endswith("_root") or not isinstance(value, str):
            continue
        if os.path.isdir(value) or (downloads_itself and key == "dataset_root"):
            continue
        state = "is a file" if os.path.exists(value) else "does not exist"
        raise PSSLConfigError(
            f"config {source}: {section}.{key} {value!r} {state} (relative to {os.getcwd()}); "
            f"expected the dataset's root directory. Fix the path, or override it with opts "
            f"{section}.{key}=<dir>", ["opts"])
    mode = node.get("mode")
    list_key = f"{mode}_path"
    list_file = node.get(list_key) if isinstance(mode, str) else None
    if not isinstance(list_file, str):
        return
    if not os.path.isfile(list_file):
        raise PSSLConfigError(
            f"config {source}: {section}.{list_key} {list_file!r} is not a file (relative to "
            f"{os.getcwd()}); expected the {mode} list, one 'image label' pair per line. Fix "
            f"the path, or override it with opts {section}.{list_key}=<file>", ["opts"])
    if mode == "train":
        with open(list_file, "r", encoding="utf-8") as handle:
            if not any(line.strip() for line in handle):
                raise PSSLConfigError(
                    f"config {source}: {section}.{list_key} {list_file!r} is empty; expected "
                    f"one 'image label' pair per line")
