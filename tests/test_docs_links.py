"""Every relative link in README.md and docs/*.md points to an existing file and heading.

Anchors follow GitHub's rule for heading slugs (lower case, punctuation dropped, spaces to
hyphens, ``-1``, ``-2`` ... for repeated headings), so a moved or renamed section fails here
instead of on the rendered page.
"""
import pathlib
import re
from typing import Dict, Iterator, List, Set, Tuple

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
#: ``[text](target)`` outside code spans; the target ends at whitespace or ``)``.
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")
EXTERNAL = ("http://", "https://", "mailto:")


def prose_lines(path: pathlib.Path) -> Iterator[str]:
    """Yield the lines of a markdown file that are outside fenced code blocks."""
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            yield line


def slug(heading: str) -> str:
    """GitHub's anchor for a heading text."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: pathlib.Path) -> Set[str]:
    """Every heading anchor of a markdown file, with GitHub's suffixes for repeats."""
    seen: Dict[str, int] = {}
    found = set()
    for line in prose_lines(path):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def relative_links(path: pathlib.Path) -> List[Tuple[str, str]]:
    """``(target path, anchor)`` of every relative link of a markdown file."""
    links = []
    for line in prose_lines(path):
        for target in LINK.findall(re.sub(r"`[^`]*`", "", line)):
            if target.startswith(EXTERNAL):
                continue
            file_part, _, anchor = target.partition("#")
            links.append((file_part, anchor))
    return links


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_resolve(document: pathlib.Path) -> None:
    broken = []
    for file_part, anchor in relative_links(document):
        target = (document.parent / file_part).resolve() if file_part else document
        if not target.exists():
            broken.append(f"{file_part}: no such file")
        elif anchor and target.suffix == ".md" and anchor not in anchors(target):
            broken.append(f"{file_part}#{anchor}: no such heading in {target.name}")
    assert not broken, f"{document.name}: " + "; ".join(broken)


def test_slug_matches_github() -> None:
    assert slug("Real CamVid on a CPU (`tools/compare_init.py`)") == \
        "real-camvid-on-a-cpu-toolscompare_initpy"
    assert slug("The miniature (`make demo`)") == "the-miniature-make-demo"
