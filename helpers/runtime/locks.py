"""Keyed locks: one lock per key (a dedup key, say), so work on one incident is serialised while
work on others runs in parallel.

A lock exists only while someone holds or waits for it, so a long-running process does not
collect one per incident it ever saw. Locks are re-entrant: a worker holding an incident's key
may call helpers that take the same key again (``helpers.jira``, ``helpers.slack``).

>>> locks = KeyLocks()
>>> with locks.hold("cloudtrail-logging-stopped:lab-trail:123456789012"):
...     len(locks)
1
>>> len(locks)
0
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["KeyLocks", "process_locks"]


class KeyLocks:
    """A set of re-entrant locks, one per key, created on first use and dropped when free."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.RLock, int]] = {}

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        """Hold ``key``'s lock for the ``with`` block (waiting while another thread holds it)."""
        with self._guard:
            lock, users = self._locks.get(key, (None, 0))
            lock = lock or threading.RLock()
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        """How many keys are held or waited for right now."""
        with self._guard:
            return len(self._locks)

    def __repr__(self) -> str:
        return f"KeyLocks({len(self)} in use)"


#: The default for callers that do not pass their own (``locks=``): one per process.
process_locks = KeyLocks()
