"""The console scripts of setup.py: each names an importable ``module:function`` that works
from an installed package, i.e. needs neither the checkout's ``tools/`` nor its ``configs/``."""
import ast
import importlib
import pathlib
import re
from typing import List, Tuple

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
SETUP = REPO_ROOT / "setup.py"
#: Folders of a source checkout that a wheel does not install.
CHECKOUT_ONLY = ("tools", "configs")
#: Source text that reaches outside the package for the checkout's root.
CHECKOUT_PATTERN = re.compile(r"REPO_ROOT|parents\[\d+\]|[\"'](?:tools|configs)[\"']")


def console_scripts() -> List[Tuple[str, str, str]]:
    """``(name, module, function)`` of every entry of setup.py's ``CONSOLE_SCRIPTS``."""
    tree = ast.parse(SETUP.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                getattr(target, "id", None) == "CONSOLE_SCRIPTS" for target in node.targets):
            entries = ast.literal_eval(node.value)
            break
    else:
        raise AssertionError("setup.py defines no CONSOLE_SCRIPTS list")
    parsed = []
    for entry in entries:
        name, _, target = (part.strip() for part in entry.partition("="))
        module, _, function = target.partition(":")
        parsed.append((name, module, function))
    return parsed


def test_setup_declares_console_scripts():
    names = [name for name, _, _ in console_scripts()]
    assert names and len(names) == len(set(names))


@pytest.mark.parametrize("name,module,function", console_scripts())
def test_console_script_is_an_importable_function(name, module, function):
    assert module and function, f"{name}: expected module:function"
    target = getattr(importlib.import_module(module), function, None)
    assert callable(target), f"{name}: {module}:{function} is not a function"


@pytest.mark.parametrize("name,module,function", console_scripts())
def test_console_script_needs_no_checkout_folder(name, module, function):
    imported = importlib.import_module(module)
    source = pathlib.Path(imported.__file__).read_text(encoding="utf-8")
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("#"))
    assert not CHECKOUT_PATTERN.search(code), (
        f"{name}: {module} builds a path into the source checkout "
        f"({CHECKOUT_PATTERN.search(code).group(0)})")
    checkout_dirs = [REPO_ROOT / folder for folder in CHECKOUT_ONLY]
    for attribute, value in vars(imported).items():
        if isinstance(value, (str, pathlib.PurePath)) and len(str(value)) < 4096:
            path = pathlib.Path(str(value))
            assert not any(path.is_absolute() and (path == d or d in path.parents)
                           for d in checkout_dirs), f"{name}: {module}.{attribute} = {value}"
