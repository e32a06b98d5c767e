"""Load a PaddleSeg YAML config and check it before anything is built.

PSSL (arXiv 2207.03335) pre-trains with PaddleSeg's stock engine, so every ``tools/`` script
reads the same YAML that ``paddleseg.cvlibs.Config`` reads. PaddleSeg reports a bad config with
an ``assert`` or a traceback from deep inside Paddle; this module finds the common mistakes
first and raises :class:`~paddleseg_pssl.errors.PSSLConfigError` with one line that names the
file or key, the value and what was expected:

* :func:`load_config`: the file exists and is YAML, every ``_base_`` file exists and parses
  (cycles included), ``--opts`` items are ``key=value`` with an existing parent key, and
  PaddleSeg's own sanity rules pass.
* :func:`validate_components`: every ``type:`` is registered (close matches from the registry
  via :mod:`difflib` otherwise) and every other key is an argument the component accepts.
* :func:`validate_paths`: dataset roots are directories, the split's file list exists and is
  not empty, local ``pretrained`` weights exist.

Typical use (what ``tools/train.py`` does)::

    cfg = load_config("configs/pssl/pspnet_r50.yml", ["batch_size=4"], iters=100)
    validate_components(cfg)
    validate_paths(cfg, datasets=("train_dataset",))
"""
import contextlib
import difflib
import inspect
import os
import pathlib
import sys
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union
from urllib.parse import urlparse

import paddle
import yaml
from paddleseg.cvlibs import Config, manager
from paddleseg.cvlibs import config_checker
from paddleseg.cvlibs.config import parse_from_yaml

from paddleseg_pssl.training import config_opts
from paddleseg_pssl.errors import PSSLConfigError

PathLike = Union[str, os.PathLike]
KeyPath = Tuple[Union[str, int], ...]

#: File suffixes PaddleSeg's ``Config`` accepts.
CONFIG_SUFFIXES: Tuple[str, ...] = (".yml", ".yaml")

#: PaddleSeg's key listing the files a config inherits from.
BASE_KEY: str = "_base_"

#: Top-level sections whose ``type:`` trees ``SegBuilder`` builds through the registries.
COMPONENT_SECTIONS: Tuple[str, ...] = (
    "model", "train_dataset", "val_dataset", "loss", "distill_loss", "optimizer")

#: Keys of ``lr_scheduler`` that ``SegBuilder`` consumes itself (linear warm-up).
_LR_WARMUP_KEYS: Tuple[str, ...] = ("warmup_iters", "warmup_start_lr")

#: The registry a key's components come from, for suggestions (``*dataset`` -> DATASETS).
_KEY_TO_MANAGER: Dict[str, str] = {
    "model": "MODELS",
    "backbone": "BACKBONES",
    "transforms": "TRANSFORMS",
    "loss": "LOSSES",
    "distill_loss": "LOSSES",
    "types": "LOSSES",
    "losses": "LOSSES",
    "optimizer": "OPTIMIZERS",
}

#: The managers ``SegBuilder`` searches, in its order.
_MANAGER_NAMES: Tuple[str, ...] = (
    "MODELS", "BACKBONES", "DATASETS", "TRANSFORMS", "LOSSES", "OPTIMIZERS")


class PSSLConfig(Config):
    """PaddleSeg's ``Config`` that remembers which file it was read from.

    Args:
        path: The YAML file.
        **kwargs: Passed to ``paddleseg.cvlibs.Config`` (``opts``, ``iters``, ``checker``...).
    """

    def __init__(self, path: PathLike, **kwargs: Any) -> None:
        self.path = str(path)
        super().__init__(self.path, **kwargs)


class _UserFacingChecker(config_checker.ConfigChecker):
    """PaddleSeg's default rules, failing with a one-line :class:`PSSLConfigError`."""

    def __init__(self, path: str) -> None:
        super().__init__(Config._build_default_checker().rule_list, allow_update=True)
        self._path = path

    def apply_rule(self, k: int, cfg: Config) -> None:
        rule = self.rule_list[k]
        try:
            rule.apply(cfg, self.allow_update)
        except (AssertionError, ValueError, KeyError, TypeError) as exc:
            message = " ".join(str(exc).split())
            raise PSSLConfigError(
                f"config {self._path!r} fails PaddleSeg's {type(rule).__name__} check: "
                f"{message}") from exc


def load_config(path: PathLike,
                opts: Optional[Sequence[str]] = None,
                *,
                learning_rate: Optional[float] = None,
                batch_size: Optional[int] = None,
                iters: Optional[int] = None) -> PSSLConfig:
    """Read a PaddleSeg YAML config, with overrides, failing early with a clear message.

    Args:
        path: The YAML config (``_base_`` files are resolved relative to it, as PaddleSeg does).
        opts: ``key=value`` overrides (PaddleSeg's ``--opts``); ``value`` goes through
            ``ast.literal_eval``, nested keys use dots (``model.pretrained=...``).
        learning_rate: Overrides ``lr_scheduler.learning_rate`` when given.
        batch_size: Overrides ``batch_size`` (per device) when given.
        iters: Overrides ``iters`` when given.

    Returns:
        The config, after PaddleSeg's own sanity rules.

    Raises:
        PSSLConfigError: The file is missing or not YAML, a ``_base_`` is missing, broken or
            circular, an override is malformed, or PaddleSeg's rules reject the result.
    """
    config_path = _check_config_file(path, "config")
    _read_yaml_tree(config_path, chain=())
    merged = parse_from_yaml(str(config_path))
    for name, value, kind in (("learning_rate", learning_rate, (int, float)),
                              ("batch_size", batch_size, int), ("iters", iters, int)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, kind)
                                  or value <= 0):
            raise PSSLConfigError(f"{name}={value!r} for config {str(config_path)!r}: "
                                  f"expected a positive number")
    if learning_rate is not None and not isinstance(merged.get("lr_scheduler"), dict):
        raise PSSLConfigError(
            f"learning_rate={learning_rate!r} cannot be applied: config {str(config_path)!r} "
            f"has no lr_scheduler section; add one (e.g. type: PolynomialDecay)")
    opts = config_opts.normalise(opts) if opts else None
    _check_opts(opts or [], merged, config_path)
    return PSSLConfig(config_path, learning_rate=learning_rate, batch_size=batch_size,
                      iters=iters, opts=opts, checker=_UserFacingChecker(str(config_path)))


def validate_components(cfg: Config,
                        sections: Sequence[str] = COMPONENT_SECTIONS + ("lr_scheduler",)
                        ) -> None:
    """Check every ``type:`` in ``sections`` is registered and takes the keys given to it.

    Mirrors what ``SegBuilder.build_component`` will build: a section's own ``type``, nested
    ``{type: ...}`` values and lists of them; ``loss``/``distill_loss`` through ``types``;
    ``lr_scheduler`` against ``paddle.optimizer.lr``. Absent sections are skipped.

    Args:
        cfg: A loaded config (a :class:`PSSLConfig` names its file in messages).
        sections: The top-level sections to check.

    Raises:
        PSSLConfigError: On the first unknown type or unknown argument, with close matches.
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

    For each dataset section in ``datasets`` (which must be present): every ``*_root`` key is
    an existing directory (PaddleSeg datasets that download themselves, i.e. whose module has
    a ``URL``, may name a ``dataset_root`` that does not exist yet), and the list file of the
    section's ``mode`` (``train_path``/``val_path``/``test_path``) exists and, for training,
    is not empty. Every local ``pretrained`` file under ``model`` exists.

    Args:
        cfg: A loaded config.
        datasets: Dataset sections that will be built.

    Raises:
        PSSLConfigError: Naming the key, the path and what was expected.
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
            raise PSSLConfigError(
                f"config {source}: {_format_key(key_path)} {value!r} is not a file "
                f"(relative to {os.getcwd()}); expected a local .pdparams file or a URL. Fix "
                f"the path, or set --opts {_format_key(key_path)}=None to start from scratch")


@contextlib.contextmanager
def explain_build_errors(cfg: Config, section: str) -> Iterator[None]:
    """Turn ``SegBuilder``'s wrapped argument errors into a one-line :class:`PSSLConfigError`.

    :func:`validate_components` cannot see the arguments of factories that take ``**kwargs``
    (PaddleSeg's backbones are functions such as ``ResNet50_vd(**args)``); when building one
    fails with a ``TypeError`` about its arguments, the config is at fault, so say which
    section. A :class:`PSSLConfigError` raised by a component's constructor (the PSSL
    dataset checks its own arguments) is unwrapped the same way. Any other failure
    propagates unchanged.

    Args:
        cfg: The config being built.
        section: The section built inside the block (``"model"``...).

    Raises:
        PSSLConfigError: Building failed on an argument the component does not take or
            lacks, or the component raised :class:`PSSLConfigError` itself.
    """
    try:
        yield
    except RuntimeError as exc:
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, PSSLConfigError):
            # A component of ours refused its arguments; SegBuilder wrapped that message.
            raise PSSLConfigError(f"config {_source(cfg)}: building {section} failed: "
                                  f"{' '.join(str(cause).split())}") from exc
        if isinstance(cause, TypeError) and "argument" in str(cause):
            raise PSSLConfigError(
                f"config {_source(cfg)}: building {section} failed: "
                f"{' '.join(str(cause).split())}; expected only the arguments that component "
                f"accepts (see its docstring)") from exc
        raise


def check_checkpoint_file(path: PathLike, flag: str = "model_path") -> pathlib.Path:
    """Resolve a weights argument: a ``.pdparams`` file, or a checkpoint dir holding one.

    Args:
        path: ``output/iter_2/model.pdparams`` or ``output/iter_2``.
        flag: The argument's name, for the message.

    Returns:
        The ``.pdparams`` file.

    Raises:
        PSSLConfigError: Neither exists.
    """
    candidate = pathlib.Path(path)
    if candidate.is_dir():
        candidate = candidate / "model.pdparams"
    if not candidate.is_file():
        raise PSSLConfigError(
            f"--{flag} {str(path)!r} does not exist; expected a .pdparams file such as "
            f"output/iter_1000/model.pdparams (or the iter_* directory holding it)")
    return candidate


def check_resume_dir(path: PathLike) -> pathlib.Path:
    """Check ``--resume_model``: an ``iter_<N>`` directory with model and optimizer state.

    Args:
        path: The checkpoint directory written by ``paddleseg.core.train``.

    Returns:
        The directory.

    Raises:
        PSSLConfigError: It is missing, misnamed (PaddleSeg reads N from the name) or
            incomplete.
    """
    directory = pathlib.Path(path)
    expected = ("expected a checkpoint directory written by training, such as "
                "output/iter_1000, holding model.pdparams and model.pdopt")
    if not directory.is_dir():
        raise PSSLConfigError(f"--resume_model {str(path)!r} is not a directory; {expected}")
    if not directory.name.rsplit("_", 1)[-1].isdigit():
        raise PSSLConfigError(f"--resume_model {str(path)!r} does not end in _<iteration>; "
                              f"{expected}")
    for name in ("model.pdparams", "model.pdopt"):
        if not (directory / name).is_file():
            raise PSSLConfigError(f"--resume_model {str(path)!r} has no {name}; {expected}")
    return directory


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


# --------------------------------------------------------------------------- files, YAML

def _check_config_file(path: PathLike, what: str, referenced_by: str = "") -> pathlib.Path:
    config_path = pathlib.Path(path)
    where = f" (listed in {BASE_KEY} of {referenced_by!r})" if referenced_by else ""
    if not config_path.exists():
        raise PSSLConfigError(f"{what} {str(path)!r}{where} does not exist; expected a "
                              f"PaddleSeg YAML config file ({'/'.join(CONFIG_SUFFIXES)})")
    if not config_path.is_file():
        raise PSSLConfigError(f"{what} {str(path)!r}{where} is not a file; expected a "
                              f"PaddleSeg YAML config file ({'/'.join(CONFIG_SUFFIXES)})")
    if config_path.suffix not in CONFIG_SUFFIXES:
        raise PSSLConfigError(f"{what} {str(path)!r}{where} has suffix "
                              f"{config_path.suffix!r}; expected {' or '.join(CONFIG_SUFFIXES)}")
    return config_path


def _read_yaml_tree(path: pathlib.Path, chain: Tuple[pathlib.Path, ...]) -> None:
    """Parse ``path`` and, recursively, its ``_base_`` files; fail on the first problem."""
    resolved = path.resolve()
    if resolved in chain:
        cycle = " -> ".join(str(p) for p in chain + (resolved,))
        raise PSSLConfigError(f"config {str(path)!r}: {BASE_KEY} files form a cycle ({cycle}); "
                              f"expected each file to be inherited at most once in a chain")
    try:
        with open(path, "r", encoding="utf-8") as handle:
            data = yaml.load(handle, Loader=yaml.FullLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise PSSLConfigError(f"config {str(path)!r} is not valid YAML{where}: {problem}; "
                              f"expected a YAML mapping of config keys") from exc
    except UnicodeDecodeError as exc:
        raise PSSLConfigError(f"config {str(path)!r} is not UTF-8 text ({exc.reason}); "
                              f"expected a YAML file") from exc
    if not isinstance(data, dict):
        found = "empty" if data is None else f"a {type(data).__name__}"
        raise PSSLConfigError(f"config {str(path)!r} is {found}; expected a YAML mapping of "
                              f"config keys (model, train_dataset, ...)")
    bases = data.get(BASE_KEY)
    if bases is None:
        return
    if isinstance(bases, str):
        bases = [bases]
    if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
        raise PSSLConfigError(f"config {str(path)!r}: {BASE_KEY} is {bases!r}; expected a "
                              f"file path or a list of file paths relative to this file")
    for base in bases:
        # PaddleSeg joins a base path onto the directory of the file naming it.
        base_path = _check_config_file(os.path.join(os.path.dirname(str(path)), base),
                                       "config", referenced_by=str(path))
        _read_yaml_tree(base_path, chain + (resolved,))


def _check_opts(opts: Sequence[str], merged: Dict[str, Any], path: pathlib.Path) -> None:
    example = "e.g. --opts batch_size=2 model.pretrained=output/iter_10/model.pdparams"
    for item in opts:
        if not isinstance(item, str) or item.count("=") != 1 or item.startswith("="):
            raise PSSLConfigError(f"--opts item {item!r}: expected key=value with exactly one "
                                  f"'=' ({example})")
        keys = item.split("=", 1)[0].split(".")
        node: Any = merged
        for depth, key in enumerate(keys[:-1]):
            if not isinstance(node, dict) or key not in node:
                parent = ".".join(keys[:depth]) or "the top level"
                options = sorted(node) if isinstance(node, dict) else []
                hint = close_matches(key, options)
                suggestion = f" (close matches: {', '.join(hint)})" if hint else ""
                raise PSSLConfigError(
                    f"--opts item {item!r}: config {str(path)!r} has no key {key!r} under "
                    f"{parent}{suggestion}; expected an existing mapping to update")
            node = node[key]
        if not isinstance(node, dict):
            raise PSSLConfigError(f"--opts item {item!r}: {'.'.join(keys[:-1])} in config "
                                  f"{str(path)!r} is not a mapping; expected a dotted path of "
                                  f"mapping keys")


# --------------------------------------------------------------------------- components

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
            f"expected the dataset's root directory. Fix the path, or override it with "
            f"--opts {section}.{key}=<dir>")
    mode = node.get("mode")
    list_key = f"{mode}_path"
    list_file = node.get(list_key) if isinstance(mode, str) else None
    if not isinstance(list_file, str):
        return
    if not os.path.isfile(list_file):
        raise PSSLConfigError(
            f"config {source}: {section}.{list_key} {list_file!r} is not a file (relative to "
            f"{os.getcwd()}); expected the {mode} list, one 'image label' pair per line. Fix "
            f"the path, or override it with --opts {section}.{list_key}=<file>")
    if mode == "train":
        with open(list_file, "r", encoding="utf-8") as handle:
            if not any(line.strip() for line in handle):
                raise PSSLConfigError(
                    f"config {source}: {section}.{list_key} {list_file!r} is empty; expected "
                    f"one 'image label' pair per line")
