"""Searches alerting runs besides ordinary jobs: over a batch of new events, and over results.

:class:`BatchStore` holds only the events of one indexing batch in memory, so a real-time
saved search sees exactly the new events (the same SPL, the same field extraction), while its
macros and lookups still come from the main store. :func:`search_rows` runs an
``alert_condition`` over a finished search's results, as Splunk runs a custom condition.

>>> from labstack.splunk.store import EventStore
>>> main = EventStore()
>>> batch = BatchStore(main)
>>> batch.replace([{"_time": 1.0, "index": "main", "sourcetype": "aws:cloudtrail",
...                 "source": "s", "host": "h", "_raw": '{"eventName": "StopLogging"}'}])
1
>>> batch.search("search `cloudtrail` eventName=StopLogging", now=2.0).rows[0]["eventName"]
'StopLogging'
>>> search_rows(main, "search count > 5", [{"count": "8"}, {"count": "2"}])
[{'count': '8'}]
"""

from __future__ import annotations

import re
import time

import duckdb

from labstack.splunk.results import clean_rows
from labstack.splunk.spl.commands import COMMANDS
from labstack.splunk.spl.errors import SPLError
from labstack.splunk.spl.planner import execute, parse
from labstack.splunk.spl.relation import Context, Rows
from labstack.splunk.spl.sql import SETUP
from labstack.splunk.store import EventStore

__all__ = ["BatchStore", "search_rows"]


class BatchStore(EventStore):
    """An in-memory event store for one batch; knowledge objects are the main store's.

    Not thread-safe for concurrent batches: one real-time worker owns it.
    """

    def __init__(self, main: EventStore):
        super().__init__(None)
        self.main = main
        self._batch_macros: dict | None = None

    def replace(self, events: list[dict]) -> int:
        """Hold exactly ``events`` (the previous batch is dropped)."""
        with self._lock:
            self._sql("DELETE FROM events")
        # One read of the macros per batch, not one per search: the main store is busy indexing.
        self._batch_macros = self.main.macros()
        return self.add(events)

    # Knowledge objects live in the main store: the saved SPL means the same thing in both.
    def macros(self) -> dict:
        return self.main.macros() if self._batch_macros is None else self._batch_macros

    def lookups(self) -> list[str]:
        return self.main.lookups()

    def get_lookup(self, name: str) -> str:
        return self.main.get_lookup(name)

    def put_lookup(self, name: str, csv_text: str) -> None:
        self.main.put_lookup(name, csv_text)


def _qualified(condition: str) -> str:
    """``count > 5`` -> ``search count > 5``; ``where ...`` -> ``| where ...``."""
    text = condition.strip()
    if text.startswith("|") or re.match(r"search(\s|$)", text, re.I):
        return text
    first = re.match(r"[A-Za-z_]*", text).group(0).lower()
    return f"| {text}" if first in COMMANDS else f"search {text}"


def search_rows(store: EventStore, spl: str, rows: list[dict], now: float | None = None):
    """Run ``spl`` with ``rows`` (text values) as its input, not the event index; the rows it
    keeps, as text. Raises SPLError for a bad search."""
    commands = parse(_qualified(spl), store.macros())
    fields = list(dict.fromkeys(name for row in rows for name in row))
    cursor = duckdb.connect()  # the rows are all the data; lookups still come from the store
    try:
        for statement in ["SET TimeZone = 'UTC'", *SETUP]:
            cursor.execute(statement).fetchall()
        ctx = Context(cursor, store, time.time() if now is None else now)
        done = execute(commands, ctx, start=Rows([dict(r) for r in rows], fields))
    except SPLError:
        raise
    except Exception as exc:  # DuckDB errors read like the engine's own
        raise SPLError(f"Error in alert condition: {str(exc).splitlines()[0]}") from exc
    finally:
        cursor.close()
    return clean_rows(done.fields, done.rows)
