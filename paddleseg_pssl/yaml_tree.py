"""Read a YAML config and its ``_base_`` files, merged the way PaddleSeg merges them.

PaddleSeg's ``Config`` reads ``_base_`` files without checking them: a missing, broken or
circular base ends in a traceback. :func:`read_yaml_tree` checks every file of the tree first
and raises :class:`~paddleseg_pssl.errors.PSSLConfigError` naming the file (and the file that
lists it), then merges with PaddleSeg's rules (:func:`merge_onto`), so the result equals
``paddleseg.cvlibs.config.parse_from_yaml`` on any config that reads without error.
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

#: PaddleSeg's key that, set false in a mapping, replaces the base's mapping instead of
#: merging into it.
INHERIT_KEY: str = "_inherited_"


def check_config_file(path: PathLike, what: str = "config",
                      referenced_by: str = "") -> pathlib.Path:
    """``path`` as a Path, once it is an existing file with a YAML suffix.

    Args:
        path: The file.
        what: What the file is, for the message.
        referenced_by: The file whose ``_base_`` lists ``path``, for the message.

    Raises:
        PSSLConfigError: Missing, not a file, or another suffix.
    """
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
    """The config at ``path`` with its ``_base_`` files merged in, as PaddleSeg merges them.

    Base paths are relative to the file naming them; of several bases, an earlier one wins
    over a later one, and the file itself wins over all (:func:`merge_onto`).

    Raises:
        PSSLConfigError: A file of the tree is missing, not UTF-8 YAML, not a mapping, has a
            malformed ``_base_``, or the bases form a cycle.
    """
    return _read_tree(check_config_file(path), chain=())


def merge_onto(base: Dict[str, Any], child: Dict[str, Any]) -> Dict[str, Any]:
    """``child`` merged onto ``base`` (neither is modified): PaddleSeg's recursive rule.

    A mapping in both is merged key by key; anything else in ``child`` replaces ``base``'s
    value. A ``child`` mapping with ``_inherited_: false`` replaces ``base`` whole (the key
    itself is dropped).
    """
    if not child.get(INHERIT_KEY, True):
        return {key: value for key, value in child.items() if key != INHERIT_KEY}
    merged = dict(base)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_onto(merged[key], value)
        else:
            merged[key] = value
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
    """The files a ``_base_`` value names (one path or a list), in order, each checked as
    it is reached."""
    if bases is None:
        return
    if isinstance(bases, str):
        bases = [bases]
    if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
        raise PSSLConfigError(f"config {str(path)!r}: {BASE_KEY} is {bases!r}; expected a "
                              f"file path or a list of file paths relative to this file")
    for base in bases:
        # PaddleSeg joins a base path onto the directory of the file naming it.
        yield check_config_file(os.path.join(os.path.dirname(str(path)), base), "config",
                                referenced_by=str(path))
