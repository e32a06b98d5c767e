"""Read a YAML config and its ``_base_`` files, merged the way PaddleSeg merges them.

Where PaddleSeg's ``Config`` ends a missing, broken or circular base in a traceback,
:func:`read_yaml_tree` raises a ``PSSLConfigError`` naming the file (and the file listing it);
on any other config it equals ``paddleseg.cvlibs.config.parse_from_yaml``.
"""
import os
import pathlib
from typing import Any, Dict, Iterator, Tuple, Union

import yaml

from paddleseg_pssl.errors import PSSLConfigError

PathLike = Union[str, os.PathLike]

#: File suffixes PaddleSeg's ``Config`` accepts.
CONFIG_SUFFIXES: Tuple[str, ...] = (".yml", ".yaml")

#: PaddleSeg's key listing the files a config inherits from.
BASE_KEY: str = "_base_"

#: PaddleSeg's key that, set false in a mapping, replaces the base's mapping whole.
INHERIT_KEY: str = "_inherited_"


def check_config_file(path: PathLike, what: str = "config",
                      referenced_by: str = "") -> pathlib.Path:
    """``path`` as a Path, once it is an existing file with a YAML suffix; the error names
    ``what`` it is and the file whose ``_base_`` lists it (``referenced_by``)."""
    config_path = pathlib.Path(path)
    where = f" (listed in {BASE_KEY} of {referenced_by!r})" if referenced_by else ""
    expected = f"expected a PaddleSeg YAML config file ({'/'.join(CONFIG_SUFFIXES)})"
    if not config_path.exists():
        raise PSSLConfigError(f"{what} {str(path)!r}{where} does not exist; {expected}")
    if not config_path.is_file():
        raise PSSLConfigError(f"{what} {str(path)!r}{where} is not a file; {expected}")
    if config_path.suffix not in CONFIG_SUFFIXES:
        raise PSSLConfigError(f"{what} {str(path)!r}{where} has suffix "
                              f"{config_path.suffix!r}; expected {' or '.join(CONFIG_SUFFIXES)}")
    return config_path


def read_yaml_tree(path: PathLike) -> Dict[str, Any]:
    """The config at ``path`` with its ``_base_`` files (relative to the file naming them)
    merged in: an earlier base wins over a later one, and the file itself over all."""
    return _read_tree(check_config_file(path), chain=())


def merge_onto(base: Dict[str, Any], child: Dict[str, Any]) -> Dict[str, Any]:
    """``child`` merged onto ``base`` (neither is modified) by PaddleSeg's recursive rule: a
    mapping in both is merged key by key, unless the child's has ``_inherited_: false``."""
    if not child.get(INHERIT_KEY, True):
        return {key: value for key, value in child.items() if key != INHERIT_KEY}
    merged = dict(base)
    for key, value in child.items():
        both = isinstance(value, dict) and isinstance(merged.get(key), dict)
        merged[key] = merge_onto(merged[key], value) if both else value
    return merged


def _read_tree(path: pathlib.Path, chain: Tuple[pathlib.Path, ...]) -> Dict[str, Any]:
    resolved = path.resolve()
    if resolved in chain:
        cycle = " -> ".join(str(p) for p in chain + (resolved,))
        raise PSSLConfigError(f"config {str(path)!r}: {BASE_KEY} files form a cycle ({cycle}); "
                              f"expected each file to be inherited at most once in a chain")
    data = _read_mapping(path)
    merged = {key: value for key, value in data.items() if key != BASE_KEY}
    for base_path in _base_paths(path, data.get(BASE_KEY)):
        merged = merge_onto(_read_tree(base_path, chain + (resolved,)), merged)
    return merged


def _read_mapping(path: pathlib.Path) -> Dict[str, Any]:
    """One YAML file, which must hold a mapping."""
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
    return data


def _base_paths(path: pathlib.Path, bases: Any) -> Iterator[pathlib.Path]:
    """The files a ``_base_`` value names (one path or a list), each checked as it is reached."""
    if bases is None:
        return
    if isinstance(bases, str):
        bases = [bases]
    if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
        raise PSSLConfigError(f"config {str(path)!r}: {BASE_KEY} is {bases!r}; expected a "
                              f"file path or a list of file paths relative to this file")
    for base in bases:
        yield check_config_file(os.path.join(os.path.dirname(str(path)), base), "config",
                                referenced_by=str(path))
