"""The dependency rule of DESIGN.md section 3, checked on the source: ``helpers`` never imports
``labstack``, and ``labstack`` imports only ``helpers.runtime`` outside ``labstack/cli/``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: The one place in labstack that may import the toolkit's product modules.
BOTH_SIDES = ROOT / "labstack" / "cli"


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports (function-level imports too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", _sources("helpers"), ids=lambda p: str(p.relative_to(ROOT)))
def test_helpers_never_import_labstack(path):
    bad = sorted(n for n in _imports(path) if n == "labstack" or n.startswith("labstack."))
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


@pytest.mark.parametrize("path", _sources("labstack"), ids=lambda p: str(p.relative_to(ROOT)))
def test_labstack_uses_only_helpers_runtime_outside_its_cli(path):
    if BOTH_SIDES in path.parents:
        return
    bad = sorted(
        n
        for n in _imports(path)
        if (n == "helpers" or n.startswith("helpers."))
        and n != "helpers.runtime"
        and not n.startswith("helpers.runtime.")
    )
    assert not bad, f"{path.relative_to(ROOT)} imports {bad} (only labstack/cli/ may)"
