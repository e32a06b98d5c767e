"""Tests for paddleseg_pssl.yaml_tree: the checked ``_base_`` reader merges as PaddleSeg does."""
import pathlib
import textwrap

import pytest
from paddleseg.cvlibs.config import parse_from_yaml

from paddleseg_pssl import yaml_tree
from paddleseg_pssl.errors import PSSLConfigError

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
ALL_YAML = sorted(p for root in ("configs", "tests/fixtures/configs")
                  for p in (REPO_ROOT / root).rglob("*.yml"))


def write(directory: pathlib.Path, name: str, body: str) -> pathlib.Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def test_every_repository_config_is_found():
    assert len(ALL_YAML) > 20


@pytest.mark.parametrize("path", ALL_YAML, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_same_result_as_paddleseg(path):
    assert yaml_tree.read_yaml_tree(path) == parse_from_yaml(str(path))


def test_several_bases_and_inherited_false(tmp_path):
    write(tmp_path, "_base_/a.yml", """
        model: {type: A, depth: 1, head: {channels: 8, dropout: 0.1}}
        iters: 10
        shared: from_a
    """)
    write(tmp_path, "_base_/b.yml", """
        shared: from_b
        only_b: 1
        optimizer: {type: SGD, momentum: 0.9}
    """)
    child = write(tmp_path, "child.yml", """
        _base_: [_base_/a.yml, _base_/b.yml]
        model: {head: {channels: 16}}
        optimizer: {_inherited_: false, type: Adam}
    """)
    merged = yaml_tree.read_yaml_tree(child)
    assert merged == parse_from_yaml(str(child))
    assert merged["model"] == {"type": "A", "depth": 1, "head": {"channels": 16, "dropout": 0.1}}
    assert merged["shared"] == "from_a"  # an earlier base wins over a later one
    assert merged["optimizer"] == {"type": "Adam"}


def test_merge_onto_leaves_its_inputs_alone():
    base = {"a": {"b": 1, "c": 2}}
    child = {"a": {"b": 3}}
    assert yaml_tree.merge_onto(base, child) == {"a": {"b": 3, "c": 2}}
    assert base == {"a": {"b": 1, "c": 2}} and child == {"a": {"b": 3}}


@pytest.mark.parametrize("body, pattern", [
    ("_base_: missing.yml\n", r"missing\.yml.*listed in _base_ of .*child\.yml.*does not exist"),
    ("_base_: [1, 2]\n", r"_base_ is \[1, 2\]; expected a file path"),
    ("_base_: child.yml\n", r"_base_ files form a cycle"),
    ("a: [1\n", r"is not valid YAML at line"),
    ("- 1\n", r"is a list; expected a YAML mapping"),
])
def test_tree_errors_name_the_file(tmp_path, body, pattern):
    child = write(tmp_path, "child.yml", body)
    with pytest.raises(PSSLConfigError, match=pattern):
        yaml_tree.read_yaml_tree(child)


def test_suffix_is_checked(tmp_path):
    path = write(tmp_path, "config.txt", "a: 1\n")
    with pytest.raises(PSSLConfigError, match=r"has suffix '\.txt'; expected \.yml or \.yaml"):
        yaml_tree.read_yaml_tree(path)
