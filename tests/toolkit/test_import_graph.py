"""The toolkit's import graph: no loops, and ``helpers`` never imports ``labstack``.

Imports inside functions count too: a loop hidden in a function is still a loop.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "helpers"


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _graph() -> dict[str, set[str]]:
    return {_module(p): _imports(p) for p in ROOT.rglob("*.py")}


def test_helpers_never_imports_labstack():
    offenders = {
        m for m, deps in _graph().items() if any(d.split(".")[0] == "labstack" for d in deps)
    }
    assert not offenders


def test_no_import_loop_in_helpers():
    graph = _graph()
    edges = {m: {d for d in deps if d in graph and d != m} for m, deps in graph.items()}
    loops, done = [], set()

    def visit(module: str, path: list[str]) -> None:
        for dep in sorted(edges[module]):
            if dep in path:
                loops.append([*path[path.index(dep) :], dep])
            elif dep not in done:
                visit(dep, [*path, dep])
        done.add(module)

    for module in sorted(edges):
        if module not in done:
            visit(module, [module])
    assert not loops
