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
import pandas as pd

from labstack.splunk.results import clean_rows
from labstack.splunk.spl.commands import COMMANDS
from labstack.splunk.spl.errors import SPLError
from labstack.splunk.spl.fields import json_path
from labstack.splunk.spl.planner import execute, parse
from labstack.splunk.spl.relation import Context, Rows
from labstack.splunk.spl.sql import SETUP, lit, register_functions
from labstack.splunk.store import EventStore, event_frame

__all__ = ["BatchStore", "search_rows"]

#: DuckDB threads per query on a batch: the real-time searches already run side by side (and
#: the next batch loads meanwhile), so one each; more made a batch slower on a busy laptop.
BATCH_THREADS = 1


class BatchStore(EventStore):
    """An in-memory event store for one batch; knowledge objects are the main store's.

    Each JSON event is parsed once per batch for every search: the single-value fields the
    real-time searches read from JSON (they note them, see ``Relation.wanted``) are extracted
    into columns as the batch is stored, so each search reads those, not the document.
    A field is extracted from the batch after the one in which a search first read it.

    Not thread-safe for concurrent batches: one real-time worker owns it.
    """

    def __init__(self, main: EventStore, wanted: set[str] | None = None):
        super().__init__(None)
        self.main = main
        self._batch_macros: list | None = None
        #: The fields searches read from JSON (another batch store's, to share what it learnt).
        self.wanted: set[str] = set() if wanted is None else wanted
        self._columns: dict[str, str] = {}
        # The engine's macros once for the whole in-memory database, not once per search.
        self._sql("SET GLOBAL TimeZone = 'UTC'")
        self._sql(f"SET threads = {BATCH_THREADS}")
        for statement in SETUP:
            self._sql(statement.replace("TEMP MACRO", "MACRO"))
        self._sql("CREATE TABLE events_schema AS SELECT * FROM events LIMIT 0")

    def _setup(self, cursor) -> None:
        """Nothing: the macros and the time zone are the database's."""

    def event_columns(self) -> tuple[dict[str, str], set | None]:
        return self._columns, self.wanted

    def replace(self, events: list) -> int:
        """Hold exactly ``events`` (the previous batch is dropped): a list of events, or a
        list of batches of them; batches the main store's listeners got (``Added``) bring
        their columns, which are reused."""
        # One read of the macros per batch, not one per search: the main store is busy indexing.
        self._batch_macros = self.main.macro_objects()
        frame = _frame(events)
        with self._lock:
            # Multivalue fields stay where they are: each is a parse of its own, and searches
            # read them only from the few events their other conditions keep.
            # A copy first (one C call): searches of the previous batch may be adding to it.
            names = sorted(n for n in set(self.wanted) if "{}" not in n)
            if names != list(self._columns):
                self._columns = {n: f"__h{i}" for i, n in enumerate(names)}
            self._sql("DROP TABLE IF EXISTS events")
            if frame is None:
                extra = "".join(f", CAST(NULL AS VARCHAR) AS {c}" for c in self._columns.values())
                self._sql(self._create(f"SELECT *{extra} FROM events_schema"))
                return 0
            frame = frame.assign(__seq=range(len(frame)))  # never the main store's frame
            self._con.register("incoming", frame)
            try:
                self._sql(self._create(self._select()))
            finally:
                self._con.unregister("incoming")
        return len(frame)

    # Knowledge objects live in the main store: the saved SPL means the same thing in both.
    def macro_objects(self) -> list:
        if self._batch_macros is None:
            return self.main.macro_objects()
        return self._batch_macros

    def lookups(self) -> list[str]:
        return self.main.lookups()

    def get_lookup(self, name: str) -> str:
        return self.main.get_lookup(name)

    def put_lookup(self, name: str, csv_text: str) -> None:
        self.main.put_lookup(name, csv_text)

    def _create(self, select: str) -> str:
        return f"CREATE TABLE events AS {select}"

    def _select(self) -> str:
        """The batch's rows: JSON objects in ``__doc`` (else ``__text``) and the extracted
        fields in ``__hot``, all from one parse of each event."""
        paths = ", ".join(lit(json_path(n)) for n in self._columns)
        if paths:  # an event whose fields cannot be read is not JSON (json_valid's answer)
            hot = f"try(json_extract_string(_raw, [{paths}]))"
            test = "left(ltrim(_raw), 1) = '{' AND __hot IS NOT NULL"
        else:
            hot, test = "CAST(NULL AS VARCHAR[])", "left(ltrim(_raw), 1) = '{' AND json_valid(_raw)"
        # One column per field, so that each search reads only the fields it needs.
        columns = "".join(
            f", CASE WHEN is_json THEN __hot[{i}] END AS {c}"
            for i, c in enumerate(self._columns.values(), 1)
        )
        return (
            'SELECT _time, "index", sourcetype, source, host, '
            "CASE WHEN is_json THEN _raw END AS __doc, "
            f"CASE WHEN NOT is_json THEN _raw END AS __text, __seq{columns} "
            f"FROM (SELECT *, CASE WHEN __json THEN TRUE ELSE coalesce({test}, FALSE) END "
            "AS is_json "
            f"FROM (SELECT *, CASE WHEN left(ltrim(_raw), 1) = '{{' THEN {hot} END AS __hot "
            "FROM incoming))"
        )


def _frame(events: list) -> pd.DataFrame | None:
    """The batch's columns: the main store's frames when every part brings one."""
    if not events:
        return None
    parts = events if isinstance(events[0], list) else [events]  # batches, or one batch
    frames = [getattr(p, "frame", None) for p in parts]
    if any(f is None for f in frames):
        return event_frame([e for p in parts for e in p])
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def _qualified(condition: str) -> str:
    """``count > 5`` -> ``search count > 5``; ``where ...`` -> ``| where ...``."""
    text = condition.strip()
    if text.startswith("|") or re.match(r"search(\s|$)", text, re.I):
        return text
    first = re.match(r"[A-Za-z_]*", text).group(0).lower()
    return f"| {text}" if first in COMMANDS else f"search {text}"


def search_rows(
    store: EventStore, spl: str, rows: list[dict], now: float | None = None, namespace=None
):
    """Run ``spl`` with ``rows`` (text values) as its input, not the event index; the rows it
    keeps, as text (macros: those ``namespace`` sees). Raises SPLError for a bad search."""
    commands = parse(_qualified(spl), store.macros(namespace))
    fields = list(dict.fromkeys(name for row in rows for name in row))
    cursor = duckdb.connect()  # the rows are all the data; lookups still come from the store
    try:
        register_functions(cursor)
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
