"""The train list (``train.txt``): one sample a line, ``<label relpath>[<tab><image relpath>]``;
also read: PaddleSeg-style ``<label> <image>`` columns."""
import os
from typing import Iterable, Iterator, List, Optional, Tuple, Union

from paddleseg_pssl.pssl_format.errors import PSSLFormatError
from paddleseg_pssl.pssl_format.layout import (
    LIST_COLUMN_SEPARATOR, file_name_problem, image_relpath_from_label, is_label_path)

#: One sample of a train list: (label relpath, image relpath), both '/'-separated.
ListEntry = Tuple[str, str]


def _has_space(text: str) -> bool:
    return any(c.isspace() for c in text)


def format_list_line(label_rel: str, image_rel: Optional[str] = None) -> str:
    """One train.txt line; the image column only when the naming rule cannot derive it or a
    path holds whitespace. ValueError for a tab, newline or carriage return in a path."""
    for path in (label_rel, image_rel or ""):
        problem = file_name_problem(path)
        if problem:
            raise ValueError(problem)
    derived = image_relpath_from_label(label_rel)
    if image_rel is None:
        image_rel = derived
    if image_rel == derived and not _has_space(label_rel):
        return label_rel
    return f"{label_rel}{LIST_COLUMN_SEPARATOR}{image_rel}"


def parse_list_line(line: str) -> ListEntry:
    """(label relpath, image relpath) of one train.txt line; ValueError when malformed."""
    text = line.rstrip("\r\n")
    if LIST_COLUMN_SEPARATOR in text:
        fields = text.split(LIST_COLUMN_SEPARATOR)
        if len(fields) == 2 and all(fields):
            return fields[0], fields[1]
        raise ValueError(f"expected '<label><tab><image>', got {len(fields)} tab-separated "
                         f"fields: {text!r}")
    fields = text.split()
    if len(fields) == 1:
        return fields[0], image_relpath_from_label(fields[0])
    if len(fields) == 2 and is_label_path(fields[0]):
        return fields[0], fields[1]
    if fields and is_label_path(text):  # one label path holding spaces
        return text, image_relpath_from_label(text)
    raise ValueError(f"expected '<label> [<image>]', got {len(fields)} fields: {text.strip()!r}")


def format_train_list(entries: Iterable[Tuple[str, Optional[str]]]) -> str:
    """The text of a train list holding ``entries`` ((label, image or None) pairs), in order."""
    return "".join(format_list_line(label_rel, image_rel) + "\n"
                   for label_rel, image_rel in entries)


def write_train_list(path: Union[str, os.PathLike],
                     entries: Iterable[Tuple[str, Optional[str]]]) -> None:
    """Write a train list (not atomically; the generator's store writes its own atomically)."""
    text = format_train_list(entries)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def iter_train_list(path: Union[str, os.PathLike], errors: str = "strict"
                    ) -> Iterator[Tuple[int, Union[ListEntry, ValueError]]]:
    """(line number, entry or the ValueError saying why it is malformed) of every non-blank
    line, for readers that report every bad line at once."""
    if not os.path.isfile(path):
        raise PSSLFormatError(f"train list {str(path)!r} is not a file", str(path))
    with open(path, encoding="utf-8", errors=errors) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield lineno, parse_list_line(line)
            except ValueError as exc:
                yield lineno, exc


def read_train_list(path: Union[str, os.PathLike]) -> List[ListEntry]:
    """Every (label relpath, image relpath) of a train list."""
    entries = []
    for lineno, entry in iter_train_list(path):
        if isinstance(entry, ValueError):
            raise PSSLFormatError(f"{str(path)!r} line {lineno}: {entry}", str(path)) from entry
        entries.append(entry)
    return entries
