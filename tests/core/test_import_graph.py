"""The import graph keeps its layers: core < classifier < crawlers, core < alerts, api on top.

Walked with the standard library's ast, imports inside functions and relative imports
included, so a back arrow cannot hide in a function body (architecture.md, "Folders")."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "classifier", "crawlers", "alerts", "api", "fixtureweb")
# What each package may import (itself included). Nothing but api imports api; bench/ and
# tests/ may import anything and are not walked.
ALLOWED = {
    "core": {"core"},
    "classifier": {"core", "classifier"},
    "crawlers": {"core", "classifier", "crawlers"},
    "alerts": {"core", "classifier", "alerts"},
    "api": {"core", "classifier", "crawlers", "alerts", "api", "fixtureweb"},
    # The fake press sites of the demo, tests and benches: no product code but core.
    "fixtureweb": {"core", "fixtureweb"},
}
# Imports of our own code inside a function body, each with the reason it is not at the top.
# Keys: (importing module, imported module).
# Import costs measured with `python -X importtime` on the 2-core dev box.
_TORCH = "loads the model stack (torch, seconds)"
IN_FUNCTION_ALLOWED: dict[tuple[str, str], str] = {
    ("api.cli", "crawlers.crawl_now"): "+2.5 s on every other command, --help included",
    ("api.cli", "classifier.service"): f"`diemtin classify` only; {_TORCH}",
    ("api.cli", "api.supervisor"): "`diemtin run` only: the web app and crawl stack, +2 s",
    ("crawlers.classify", "classifier.service"): f"crawl workers import it; {_TORCH}",
    ("crawlers.classify", "classifier.features"): f"crawl workers import it; {_TORCH}",
    ("crawlers.spiders.run", "crawlers.spiders.news"): "Scrapy and Twisted, +2.1 s on --help",
    ("crawlers.spiders.run", "crawlers.spiders.settings"): "imported with the spider above",
    # Every alerts worker imports the fact bank; only refuted facts need the encoder.
    ("alerts.detection.factbank", "classifier.encoder"): f"fact matching only; {_TORCH}, +12 s",
    ("alerts.detection.factbank", "classifier.encoder_install"): "imported with the encoder",
}


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int
    in_function: bool
    # Under `if TYPE_CHECKING:`: never executed, so it cannot close a cycle at run time.
    type_only: bool


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def product_modules() -> dict[str, Path]:
    """Every .py of PACKAGES by dotted module name."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = path
    return found


def _owning_module(name: str, modules: dict[str, Path]) -> str | None:
    """The module of ours that `name` (a module or a name in one) resolves to."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _base(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute module a (possibly relative) `from ... import` starts from."""
    if not node.level:
        return node.module or ""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(
    node: ast.AST, *, in_function: bool = False, type_only: bool = False
) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool, bool]]:
    """Every import under `node`, with whether it runs in a function or only for type checks."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, in_function, type_only
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for stmt in child.body:
                yield from _walk_one(stmt, in_function=in_function, type_only=True)
            for stmt in child.orelse:
                yield from _walk_one(stmt, in_function=in_function, type_only=type_only)
        else:
            function = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            yield from _walk(child, in_function=in_function or function, type_only=type_only)


def _walk_one(
    stmt: ast.stmt, *, in_function: bool, type_only: bool
) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool, bool]]:
    # A statement itself, then what it contains (_walk looks only below a node).
    wrapper = ast.Module(body=[stmt], type_ignores=[])
    yield from _walk(wrapper, in_function=in_function, type_only=type_only)


@cache
def imports() -> tuple[Import, ...]:
    """Every import of one of our modules by another, module-level and in-function."""
    modules = product_modules()
    found: list[Import] = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text("utf-8"), str(path))
        for node, in_function, type_only in _walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                base = _base(module, path, node)
                # `from pkg import sub` imports the module pkg.sub when there is one.
                names = [f"{base}.{alias.name}" if base else alias.name for alias in node.names]
            for name in names:
                target = _owning_module(name, modules)
                if target is not None and target != module:
                    found.append(Import(module, target, node.lineno, in_function, type_only))
    return tuple(found)


def _package(module: str) -> str:
    return module.partition(".")[0]


def _where(imp: Import) -> str:
    path = product_modules()[imp.source].relative_to(ROOT)
    return f"{path}:{imp.line} {imp.source} -> {imp.target}"


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle path (first module repeated at the end) per strongly connected component."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def strongconnect(v: str) -> None:
        # Recursive Tarjan: the graph is a few hundred modules deep at most.
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component)

    for v in sorted(edges):
        if v not in index:
            strongconnect(v)
    return [_cycle_path(component, edges) for component in components]


def _cycle_path(component: set[str], edges: dict[str, set[str]]) -> list[str]:
    """A shortest cycle through the component's first module (breadth-first)."""
    start = min(component)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for v in frontier:
            for w in sorted(edges.get(v, set()) & component):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if w not in previous:
                    previous[w] = v
                    following.append(w)
        frontier = following
    raise AssertionError(f"no cycle through {start}")


def test_the_walk_sees_the_whole_tree() -> None:
    # A walk that found nothing would pass everything below.
    sources = {imp.source for imp in imports()}
    assert len(product_modules()) > 150
    assert {"crawlers.pipeline", "alerts", "api.main"} <= set(product_modules())
    assert {"crawlers.pipeline", "api.main"} <= sources


def test_no_back_arrows() -> None:
    back = {
        _where(imp)
        for imp in imports()
        if _package(imp.target) not in ALLOWED[_package(imp.source)]
    }
    assert not back, "imports against the layers:\n" + "\n".join(sorted(back))


def test_no_import_cycles() -> None:
    edges: dict[str, set[str]] = {}
    for imp in imports():
        if not imp.type_only:
            edges.setdefault(imp.source, set()).add(imp.target)
    cycles = [" -> ".join(path) for path in _cycles(edges)]
    assert not cycles, "import cycles:\n" + "\n".join(sorted(cycles))


def test_in_function_imports_of_our_code_are_few_and_explained() -> None:
    inside = [imp for imp in imports() if imp.in_function]
    unexplained = {
        _where(imp) for imp in inside if (imp.source, imp.target) not in IN_FUNCTION_ALLOWED
    }
    assert not unexplained, (
        "imports of our own code inside functions (move them to the top, or add them to "
        "IN_FUNCTION_ALLOWED with the measured reason):\n" + "\n".join(sorted(unexplained))
    )
    stale = sorted(set(IN_FUNCTION_ALLOWED) - {(imp.source, imp.target) for imp in inside})
    assert not stale, f"IN_FUNCTION_ALLOWED entries no longer needed: {stale}"
