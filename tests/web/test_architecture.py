"""The layout stays untangled: no import cycle between the application's modules (function-level imports
count too), no blueprint imports another blueprint's routes, and services never read the request's globals."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "marketplace"


def _modules() -> dict[str, Path]:
    out = {}
    for path in (ROOT / PACKAGE).rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _resolve(module: str, node: ast.ImportFrom, is_package: bool) -> list[str]:
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module or ""
    found = []
    for alias in node.names:  # `from . import x` imports the module x when there is one
        candidate = f"{prefix}.{alias.name}"
        found.append(candidate if candidate in MODULES else prefix)
    return [f for f in found if f in MODULES]


def imports_of(module: str) -> set[str]:
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in list(ast.walk(tree)):  # imports only for type checkers are not dependencies at run time
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            out.update(_resolve(module, node, path.name == "__init__.py"))
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name in MODULES)
    return out - {module}


def graph() -> dict[str, set[str]]:
    edges = {m: imports_of(m) for m in MODULES}
    for m in MODULES:  # a package's own __init__ is where its submodules register; not a dependency
        edges[m] = {d for d in edges[m] if not m.startswith(d + ".")}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_between_modules():
    edges = graph()
    # blueprint packages import their routes at the end of __init__ and routes import `bp` from it: that is
    # Flask's own pattern, so the edge from a package to its own submodules is not counted (see graph())
    assert cycles(edges) == []


def test_the_walk_sees_a_cycle_when_there_is_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    edges = graph()
    assert "marketplace.services.proposals" in edges["marketplace.services.rounds"]


def test_no_blueprint_imports_another_blueprints_routes():
    edges = graph()
    for module, deps in edges.items():
        for dep in deps:
            if dep.endswith(".routes"):
                blueprint = dep.rsplit(".", 1)[0]
                assert module == blueprint or module.startswith(blueprint + "."), f"{module} imports {dep}"


def test_services_never_read_the_requests_globals():
    for module, path in MODULES.items():
        if not module.startswith(f"{PACKAGE}.services."):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in ("flask", "flask_login"):
                names = {a.name for a in node.names}
                assert not names & {"g", "request", "session", "current_user"}, f"{module} imports {names}"
