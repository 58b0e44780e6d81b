"""What one search may use, as splunkd's limits.conf bounds it: rows, time, and a stop button.

A :class:`Guard` rides along in the run context. The planner calls :meth:`Guard.check` between
commands and while rows stream out of DuckDB; a watchdog thread interrupts DuckDB itself when
the search is cancelled, runs past its time limit, or its client goes away (``alive``).

>>> guard = Guard(max_seconds=60)
>>> guard.check()
>>> guard.cancel(); guard.check()  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
...
SPLError: Search job was cancelled remotely or expired.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .errors import SPLError

__all__ = ["MAKERESULTS_MAX", "MAX_RESULT_ROWS", "MAX_SEARCH_SECONDS", "REGEX_SECONDS", "Guard"]

#: Rows a search holds in memory at once; more are cut with a warning (limits.conf
#: ``[searchresults] maxresultrows`` is 50,000 for results; the lab also keeps events).
MAX_RESULT_ROWS = 500_000
#: ``makeresults count=`` at most (limits.conf ``[makeresults] maxresultrows``).
MAKERESULTS_MAX = 50_000
#: Seconds a search may run (savedsearches.conf ``dispatch.max_time``; the lab's default).
MAX_SEARCH_SECONDS = 300.0
#: Seconds one regex may spend on one value (PCRE's match_limit, by the clock).
REGEX_SECONDS = 1.0
#: How often the watchdog looks at the clock and the client.
WATCH_SECONDS = 0.2

CANCELLED = "Search job was cancelled remotely or expired."


class Guard:
    """The stop conditions of one search; ``alive()`` False means its client went away."""

    def __init__(
        self, max_seconds: float = MAX_SEARCH_SECONDS, alive: Callable[[], bool] | None = None
    ):
        self.max_seconds = max_seconds
        self.deadline = time.monotonic() + max_seconds
        self.alive = alive
        self.reason: str | None = None
        self._stopped = threading.Event()
        self._interrupt: Callable[[], None] | None = None

    def cancel(self, reason: str = CANCELLED) -> None:
        """Stop the search: the next check raises, and a running DuckDB query is interrupted."""
        if self.reason is None:
            self.reason = reason
        self._stopped.set()
        if self._interrupt is not None:
            self._interrupt()

    def check(self) -> None:
        """Raise SPLError once the search must stop."""
        if self.reason is None and time.monotonic() > self.deadline:
            self.cancel(self._timed_out())
        if self.reason is not None:
            raise SPLError(self.reason)

    def _timed_out(self) -> str:
        return f"The search auto-finalized after time limit ({self.max_seconds:g} seconds) reached."

    def watch(self, interrupt: Callable[[], None]) -> Callable[[], None]:
        """Watch the clock and the client while a search runs on a DuckDB connection whose
        ``interrupt`` is given; returns the function that ends the watch."""
        self._interrupt = interrupt
        done = threading.Event()

        def loop() -> None:
            while not done.wait(WATCH_SECONDS) and not self._stopped.is_set():
                if time.monotonic() > self.deadline:
                    self.cancel(self._timed_out())
                elif self.alive is not None and not self.alive():
                    self.cancel()

        watcher = threading.Thread(target=loop, name="search-watch", daemon=True)
        watcher.start()

        def stop() -> None:
            done.set()
            self._interrupt = None

        return stop
