"""The command-line tools the tests run from their own environment (``.venv/tools``, made by
``make`` from tools/requirements-tools.txt: their pins clash with the lab's)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TOOLS_BIN = Path(sys.prefix) / "tools" / "bin"


def tool(name: str) -> Path:
    """The tool's executable; the test fails, naming the fix, if make has not installed it."""
    path = TOOLS_BIN / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make .venv/tools/.installed` (make test does)")
    return path
