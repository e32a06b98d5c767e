"""The package's import graph stays one-way: no library module imports the CLI, and no two
parts of the package (subpackages and root modules), nor two modules, import each other,
directly or round a longer loop."""
import ast
import collections
import pathlib
from typing import Dict, List, Set

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "paddleseg_pssl"
CLI = "paddleseg_pssl.cli"


def _module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> Dict[str, Set[str]]:
    """Module -> the package's modules it imports (at any depth of its code)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    edges: Dict[str, Set[str]] = collections.defaultdict(set)
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                # ``from package import module`` needs the module, not the package's __init__
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                           for a in node.names]
            else:
                continue
            edges[name].update(t for t in targets if t in modules and t != name)
    return edges


def _part(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_no_library_module_imports_the_cli():
    offenders = sorted(f"{a} -> {b}" for a, targets in _imports().items()
                       if not a.startswith(CLI) for b in targets if b.startswith(CLI))
    assert offenders == []


def _loops(graph: Dict[str, Set[str]]) -> List[str]:
    """Every edge ``a -> b`` of ``graph`` from which ``a`` is reached again, as ``a <-> b``."""
    def reachable(start: str) -> Set[str]:
        seen, stack = set(), [start]
        while stack:
            for nxt in graph.get(stack.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return seen

    return sorted(f"{a} <-> {b}" for a in graph for b in graph[a] if a in reachable(b))


def test_the_parts_of_the_package_import_one_way():
    graph: Dict[str, Set[str]] = collections.defaultdict(set)
    for source, targets in _imports().items():
        for target in targets:
            if _part(source) != _part(target) and _part(target) != "paddleseg_pssl":
                graph[_part(source)].add(_part(target))
    assert _loops(graph) == []


def test_no_module_imports_one_that_imports_it_back():
    """Also through imports inside functions, which only hide a circle from Python."""
    assert _loops(_imports()) == []
