"""The package's import structure, checked from the source (ast): no import cycles (lazy imports
inside functions count too), no edge importing another edge, no private name of a dependency.

Why a test: cycles hidden by function-level imports and edges that reach into each other were
what made the request path hard to change (#16); a rule that is only written down drifts.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import modelport

ROOT = Path(modelport.__file__).parent
#: protocol edges: each turns its protocol into calls of the core, none imports another
EDGES = ("api", "oip", "openai", "console", "cli")
#: cycles that another change removes; each entry names the change (delete it when merged)
KNOWN_CYCLES: set[frozenset[str]] = {
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in ROOT.rglob("*.py") if "generated" not in p.parts}


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(path: Path) -> Iterator[tuple[str, list[str], int]]:
    """(module, imported names, level) of every runtime import, at any depth but TYPE_CHECKING."""
    tree = ast.parse(path.read_text(), str(path))

    def walk(node: ast.AST) -> Iterator[tuple[str, list[str], int]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child):
                for orelse in child.orelse:
                    yield from walk(orelse)
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, [], 0
            elif isinstance(child, ast.ImportFrom):
                yield child.module or "", [a.name for a in child.names], child.level
            yield from walk(child)

    yield from walk(tree)


def absolute(module: str, level: int, importer: str) -> str:
    if not level:
        return module
    package = importer.split(".")
    if MODULES[importer].name != "__init__.py":
        package = package[:-1]
    base = package[: len(package) - (level - 1)]
    return ".".join([*base, module] if module else base)


def targets(importer: str) -> set[str]:
    """The modelport modules ``importer`` imports (the most specific module each import names)."""
    found: set[str] = set()
    for module, names, level in imports(MODULES[importer]):
        module = absolute(module, level, importer)
        if not module.startswith("modelport"):
            continue
        named = [f"{module}.{n}" for n in names if f"{module}.{n}" in MODULES]
        if named:
            found.update(named)
        else:
            while module not in MODULES and "." in module:
                module = module.rsplit(".", 1)[0]
            found.add(module)
    found.discard(importer)
    return found


GRAPH = {name: targets(name) for name in MODULES}


def cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in GRAPH.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for name in sorted(GRAPH):
        if name not in index:
            visit(name)
    return found


def edge_of(module: str) -> str | None:
    part = module.split(".")[1] if module.count(".") else ""
    if part.startswith("cli"):  # cli.py and cli_jobs.py today, the cli/ package tomorrow
        return "cli"
    return part if part in EDGES else None


def test_no_import_cycles() -> None:
    found = [c for c in cycles() if frozenset(c) not in KNOWN_CYCLES]
    assert not found, f"import cycles: {found}"


def test_no_edge_imports_another_edge() -> None:
    crossings = sorted(
        f"{importer} -> {target}"
        for importer, imported in GRAPH.items()
        for target in imported
        if (edge := edge_of(importer)) is not None and edge_of(target) not in (None, edge)
    )
    assert not crossings, crossings


def test_no_private_names_of_dependencies() -> None:
    found = []
    for name, path in MODULES.items():
        for module, names, level in imports(path):
            if level or module.split(".")[0] in ("modelport", "__future__"):
                continue
            private_module = any(part.startswith("_") for part in module.split("."))
            private_names = [n for n in names if n.startswith("_")]
            if private_module or private_names:
                found.append(f"{name}: {module} {private_names or ''}")
    assert not found, found


def test_the_graph_is_read() -> None:
    """The walk sees real edges (a parser that found nothing would pass every test above)."""
    assert "modelport.core.gate" in GRAPH["modelport.web.gate"]
    assert "modelport.bootstrap" in GRAPH["modelport.app"]
    lazy = GRAPH["modelport.bootstrap"]  # imported inside Services.start
    assert "modelport.demo" in lazy
