"""The class list (synsets file): class id = position among the listed classes.

One class a line, its folder name optionally followed by a readable name, as ImageNet's
``LOC_synset_mapping.txt`` (``n01440764 tench, Tinca tinca``); blank and ``#`` lines skipped.
"""
import dataclasses
import os
from typing import Dict, Iterable, List, Tuple, Union

from paddleseg_pssl.pssl_format.errors import PSSLFormatError
from paddleseg_pssl.pssl_format.layout import (
    RELEASE_SYNSETS_FILE, SYNSETS_FILE, class_name_problem)

#: Lines starting with this are comments.
COMMENT_PREFIX = "#"
#: Duplicated names quoted in an error at most.
MAX_QUOTED = 10


@dataclasses.dataclass(frozen=True)
class ClassList:
    """A class list read from ``path``: ``ids[i]`` is the name (folder) of class i and
    ``names[i]`` its readable name (the first comma-separated synonym, else the id)."""

    path: str
    ids: List[str]
    names: List[str]


def _first_synonym(text: str) -> str:
    return text.split(",")[0].strip()


def _parse_line(line: str) -> Tuple[str, str]:
    parts = line.strip().split(None, 1)
    readable = _first_synonym(parts[1]) if len(parts) > 1 else ""
    return parts[0], readable or parts[0]


def _content_lines(path: str) -> List[Tuple[int, str]]:
    """(line number, line) of every line that is neither blank nor a comment."""
    with open(path, encoding="utf-8") as f:
        return [(lineno, line.strip()) for lineno, line in enumerate(f, 1)
                if line.strip() and not line.lstrip().startswith(COMMENT_PREFIX)]


def _check_unique(path: str, ids: List[str], linenos: List[int]) -> None:
    first: Dict[str, int] = {}
    duplicates = []
    for name, lineno in zip(ids, linenos):
        if name in first:
            duplicates.append(f"{name!r} (lines {first[name]} and {lineno})")
        first.setdefault(name, lineno)
    if duplicates:
        more = f" and {len(duplicates) - MAX_QUOTED} more" if len(duplicates) > MAX_QUOTED else ""
        raise PSSLFormatError(f"class list {path}: duplicate class names "
                              f"{', '.join(duplicates[:MAX_QUOTED])}{more}; class names must "
                              "be unique", path)


def read_class_list(path: Union[str, os.PathLike]) -> ClassList:
    """The classes of a synsets file, in id order."""
    path = str(path)
    if not os.path.isfile(path):
        raise PSSLFormatError(f"class list {path!r} is not a file; expected one class name per "
                              "line (e.g. n01440764), optionally followed by a readable name",
                              path)
    ids, names, linenos = [], [], []
    for lineno, line in _content_lines(path):
        class_id, readable = _parse_line(line)
        ids.append(class_id)
        names.append(readable)
        linenos.append(lineno)
    if not ids:
        raise PSSLFormatError(f"class list {path} holds no class names", path)
    _check_unique(path, ids, linenos)
    return ClassList(path=path, ids=ids, names=names)


def read_names(path: Union[str, os.PathLike], ids: List[str]) -> List[str]:
    """Readable names of the classes ``ids`` from a names file: ``<id> <name>`` lines or one name
    a line in the order of ``ids``; a name is its first comma-separated synonym."""
    path = str(path)
    if not os.path.isfile(path):
        raise PSSLFormatError(f"names file {path!r} is not a file; expected '<id> <name>' lines "
                              "or one name per class in class-id order", path)
    lines = [line for _, line in _content_lines(path)]
    by_id = dict(_parse_line(line) for line in lines if len(line.split(None, 1)) > 1)
    if all(class_id in by_id for class_id in ids):
        return [by_id[class_id] for class_id in ids]
    if len(lines) == len(ids):
        return [_first_synonym(line) for line in lines]
    missing = next(class_id for class_id in ids if class_id not in by_id)
    raise PSSLFormatError(f"names file {path} names neither every class (no '<id> <name>' line "
                          f"for {missing!r}) nor one per class in order ({len(lines)} names "
                          f"for {len(ids)} classes)", path)


def find_class_list(pssl_root: Union[str, os.PathLike]) -> str:
    """The synsets file of a PSSL folder: ``synsets.txt``, else the release's file."""
    for name in (SYNSETS_FILE, RELEASE_SYNSETS_FILE):
        path = os.path.join(pssl_root, name)
        if os.path.isfile(path):
            return path
    raise PSSLFormatError(f"pssl_root {str(pssl_root)!r} holds neither {SYNSETS_FILE!r} nor "
                          f"{RELEASE_SYNSETS_FILE!r} (class names in id order)", str(pssl_root))


def format_class_list(class_ids: Iterable[str]) -> str:
    """The text of a synsets file listing ``class_ids`` in id order, one a line (ValueError for
    a name holding whitespace)."""
    lines = []
    for name in class_ids:
        problem = class_name_problem(name)
        if problem:
            raise ValueError(problem)
        lines.append(f"{name}\n")
    return "".join(lines)


def write_class_list(path: Union[str, os.PathLike], class_ids: Iterable[str]) -> None:
    """Write a synsets file (not atomically; the generator's store writes its own atomically)."""
    text = format_class_list(class_ids)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
