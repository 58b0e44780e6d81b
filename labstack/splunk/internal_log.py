"""splunkd's own log in its own index: every management API request becomes an event in
``_internal`` (sourcetype ``splunkd_access``), as splunkd indexes ``splunkd_access.log``, and
so do the server's own messages (sourcetype ``splunkd``: its start, its restarts).

So ``search index=_internal`` finds what it finds on any Splunk: the server's own recent
activity. Requests are buffered and written once a second (one insert, not one per request).

>>> log = AccessLog(store)                                      # doctest: +SKIP
>>> log.record("127.0.0.1", "admin", "GET", "/services/server/info", 200, 1562, "sdk", 0.002)
... # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import threading
import time
from datetime import UTC, datetime

__all__ = ["INDEX", "AccessLog"]

INDEX = "_internal"
SOURCETYPE = "splunkd_access"
SOURCE = "$SPLUNK_HOME/var/log/splunk/splunkd_access.log"
#: Seconds between writes of the buffered lines.
FLUSH_EVERY = 0.5
SPLUNKD_SOURCETYPE = "splunkd"
SPLUNKD_SOURCE = "$SPLUNK_HOME/var/log/splunk/splunkd.log"
#: Lines kept waiting at most (a burst beyond it is dropped, oldest first, not held in memory).
MAX_BUFFER = 10_000


class AccessLog:
    """Buffers access lines and writes them to ``_internal`` on a thread of its own."""

    def __init__(self, store, host: str = "splunk", every: float = FLUSH_EVERY):
        self.store = store
        self.host = host
        self.every = every
        self._pending: list[dict] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        store.create_index(INDEX)

    def record(self, client: str, user: str, method: str, uri: str, status: int, size: int,
               agent: str, seconds: float) -> None:  # fmt: skip
        now = time.time()
        stamp = datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S.%f")[:-3]
        raw = (
            f'{client} - {user} [{stamp} +0000] "{method} {uri} HTTP/1.1" {status} {size} '
            f'"-" "{agent or "-"}" - {max(int(seconds * 1000), 0)}ms'
        )
        event = {"_time": now, "index": INDEX, "sourcetype": SOURCETYPE, "source": SOURCE,
                 "host": self.host, "_raw": raw}  # fmt: skip
        with self._lock:
            self._pending.append(event)
            del self._pending[:-MAX_BUFFER]

    def message(self, level: str, component: str, text: str) -> None:
        """One line of splunkd.log (``INFO  loader - Splunkd starting``)."""
        now = time.time()
        stamp = datetime.fromtimestamp(now, UTC).strftime("%m-%d-%Y %H:%M:%S.%f")[:-3]
        raw = f"{stamp} +0000 {level.upper():<5} {component} - {text}"
        event = {"_time": now, "index": INDEX, "sourcetype": SPLUNKD_SOURCETYPE,
                 "source": SPLUNKD_SOURCE, "host": self.host, "_raw": raw}  # fmt: skip
        with self._lock:
            self._pending.append(event)
            del self._pending[:-MAX_BUFFER]

    def flush(self) -> int:
        with self._lock:
            events, self._pending = self._pending, []
        return self.store.add(events) if events else 0

    def start(self) -> None:
        self.message("INFO", "loader", "Splunkd starting (the lab's Splunk-compatible server).")
        self.flush()
        self._thread = threading.Thread(target=self._loop, name="internal-log", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            with contextlib.suppress(Exception):  # a store closing under us: next tick
                self.flush()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with contextlib.suppress(Exception):
            self.flush()
