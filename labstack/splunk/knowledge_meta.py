"""Attributes by name in one JSON file of the state folder (an index's edited settings), and
the adoption of the file where macros' attributes were kept that way before namespaces.

>>> meta = KnowledgeMeta(Path(tempfile.mkdtemp()) / "macros.json")
>>> meta.update("m", {"iseval": "1"}); meta.get("m")
{'iseval': '1'}
"""

from __future__ import annotations

import json
import logging
import os
import tempfile  # noqa: F401 - the docstring example
import threading
from dataclasses import replace
from pathlib import Path

from helpers.runtime.home import write_private

__all__ = ["KnowledgeMeta", "adopt_macro_meta"]

log = logging.getLogger("labstack.splunk")


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


def adopt_macro_meta(store, path: Path) -> int:
    """Fold the file where macros' attributes were kept by name before namespaces
    (``macros_meta.json``: ``iseval``..., owner, app, sharing, perms) into ``store``, where
    each macro now keeps them itself; the file is then renamed ``*.adopted``. The number of
    macros adopted; a macro whose new place is taken keeps its own (and is logged). A macro
    shared with its app is shared globally, as it was in effect: every app's searches expanded
    it (see ``EventStore._adopt_old_macros``)."""
    path = Path(path)
    try:
        items = json.loads(path.read_text())
    except (OSError, ValueError):
        return 0
    adopted = 0
    by_key = {m.key: m for m in store.macro_objects()}
    for name, values in items.items():
        macro = by_key.get((name, "search", ""))  # where the old table's macros went
        if macro is None or not isinstance(values, dict):
            continue
        owner, app, sharing = (values.get(k) for k in ("owner", "app", "sharing"))
        sharing = "global" if sharing == "app" else sharing
        moved = replace(
            macro, owner=owner or macro.owner, app=app or macro.app,
            sharing=sharing or macro.sharing,
            meta={k: v for k, v in values.items() if k not in ("owner", "app", "sharing")},
        )  # fmt: skip
        try:
            store.replace_macro(macro.key, moved)
            adopted += 1
        except KeyError:
            log.warning("macro %r: %s is taken; its old attributes are left", name, moved.key)
    os.replace(path, path.with_name(path.name + ".adopted"))
    return adopted
