"""What splunkd keeps about a knowledge object beyond its definition (a macro's ``iseval``,
``validation``, ``errormsg``, ``description``; its owner, app, sharing and permissions), by
name, in one JSON file of the state folder.

>>> meta = KnowledgeMeta(Path(tempfile.mkdtemp()) / "macros.json")
>>> meta.update("m", {"iseval": "1"}); meta.get("m")
{'iseval': '1'}
"""

from __future__ import annotations

import json
import tempfile  # noqa: F401 - the docstring example
import threading
from pathlib import Path

from helpers.runtime.home import write_private

__all__ = ["KnowledgeMeta"]


class KnowledgeMeta:
    """Attributes by name in one private JSON file (thread-safe; a missing or unreadable file
    is an empty map)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self._items = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self._items = {}

    def get(self, name: str) -> dict:
        with self._lock:
            return dict(self._items.get(name, {}))

    def update(self, name: str, values: dict) -> None:
        with self._lock:
            self._items.setdefault(name, {}).update(values)
            self._save()

    def forget(self, name: str) -> None:
        with self._lock:
            if self._items.pop(name, None) is not None:
                self._save()

    def _save(self) -> None:
        write_private(self.path, json.dumps(self._items, indent=1, sort_keys=True))
