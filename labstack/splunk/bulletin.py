"""splunkd's bulletin board: messages by name, in memory (a restart clears them)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

__all__ = ["Messages"]


@dataclass
class Messages:
    """The bulletin board: name -> (text, severity, posted at), safe across request threads."""

    _items: dict[str, tuple[str, str, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def post(self, name: str, value: str, severity: str = "warn") -> None:
        with self._lock:
            self._items[name] = (value, severity, time.time())

    def delete(self, name: str) -> bool:
        with self._lock:
            return self._items.pop(name, None) is not None

    def get(self, name: str) -> tuple[str, str, float] | None:
        with self._lock:
            return self._items.get(name)

    def items(self) -> list[tuple[str, tuple[str, str, float]]]:
        with self._lock:
            return sorted(self._items.items())

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
