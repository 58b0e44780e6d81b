"""The event store behind the local Splunk: indexes, events, macros and lookups in DuckDB.

>>> store = EventStore()
>>> store.add([{"_time": 1700000000, "index": "main", "sourcetype": "aws:cloudtrail",
...             "source": "s3://trail", "host": "aws", "_raw": '{"eventName": "StopLogging"}'}])
1
>>> store.search("search `cloudtrail` eventName=stop*").rows[0]["eventName"]
'StopLogging'
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import threading
import time
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from .namespace import DEFAULT_APP, NOBODY, Namespace, identity
from .spl import SPLError
from .spl.limits import Guard
from .spl.planner import Results, parse, run
from .spl.relation import Context
from .spl.sql import SETUP, register_functions
from .spl.timeutil import parse_time

__all__ = ["EventStore", "Macro", "Results", "SPLError"]

#: What a search nested past Python's recursion limit gets (brackets, parentheses, NOTs).
TOO_DEEP = "Error in 'SearchParser': The search is nested too deeply."
DEFAULT_MACROS = {"cloudtrail": "index=main sourcetype=aws:cloudtrail"}
_SCHEMA = [
    # _raw is kept in __doc when it is a JSON object (fields are extracted from it) and in
    # __text otherwise, so field extraction never meets text that is not JSON.
    'CREATE TABLE IF NOT EXISTS events (_time DOUBLE, "index" VARCHAR, sourcetype VARCHAR, '
    "source VARCHAR, host VARCHAR, __doc VARCHAR, __text VARCHAR, __seq BIGINT)",
    "CREATE TABLE IF NOT EXISTS indexes (name VARCHAR PRIMARY KEY)",
    # A macro is told apart by name, app and (when private) owner: see namespace.identity.
    "CREATE TABLE IF NOT EXISTS macro_objects (name VARCHAR, app VARCHAR, private VARCHAR, "
    "owner VARCHAR, sharing VARCHAR, definition VARCHAR, args VARCHAR, meta VARCHAR, "
    "PRIMARY KEY (name, app, private))",
    "CREATE TABLE IF NOT EXISTS lookups (name VARCHAR PRIMARY KEY, csv VARCHAR)",
    "INSERT OR IGNORE INTO indexes VALUES ('main')",
]
_COLUMNS = ("_time", "index", "sourcetype", "source", "host", "_raw")
#: An event's key saying its ``_raw`` is the compact text of a JSON object its sender's JSON
#: became (HEC's event objects): stored as a document without checking the text again.
JSON_OBJECT = "__json"
#: Whether a row's ``_raw`` is a JSON object: known (``__json``) or checked.
IS_JSON = (
    "CASE WHEN __json THEN TRUE "
    "ELSE coalesce(left(ltrim(_raw), 1) = '{' AND json_valid(_raw), FALSE) END"
)
# For a database file: checkpoint less often while events stream in (bulk ingest runs ~2x faster;
# the WAL keeps it durable), then once ingest has been quiet for a moment (checkpointed data is
# compressed and scans ~3x faster); and bound DuckDB's buffer pool so the service stays small.
FILE_SETTINGS = ["SET checkpoint_threshold = '1GB'", "SET memory_limit = '1GB'"]
QUIET_SECONDS_BEFORE_CHECKPOINT = 2.0
#: Where a search that names no namespace resolves macros: the search app, as nobody.
SHARED = Namespace(NOBODY, DEFAULT_APP)


@dataclass
class Macro:
    """A search macro where it lives (``name`` is as stored: ``name(N)`` with N arguments);
    ``meta`` is what macros.conf and local.meta keep beside it (``iseval``, ``perms``...)."""

    name: str
    definition: str
    args: list[str] = field(default_factory=list)
    owner: str = NOBODY
    app: str = DEFAULT_APP
    sharing: str = "app"
    meta: dict = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        return identity(self.name, self.owner, self.app, self.sharing)


class Added(list):
    """The events one ``EventStore.add`` stored, as its listeners get them, with the frame of
    their columns it built (``frame``; ``__seq`` holds the store's numbers)."""

    frame: pd.DataFrame | None = None


def event_frame(events: list[dict]) -> pd.DataFrame:
    """Events as a frame of the event columns and ``__json``; a missing time is now, a missing
    index main. Text columns are plain objects: DuckDB reads them as they are, and pandas'
    string inference would only check every value first."""

    def column(name: str) -> pd.Series:
        return pd.Series([e.get(name) for e in events], dtype=object)

    times = pd.to_numeric(column("_time"), errors="coerce").fillna(time.time())
    known = pd.Series([e.get(JSON_OBJECT) is True for e in events], dtype=bool)
    frame = pd.DataFrame(
        {"_time": times, **{c: column(c) for c in _COLUMNS[1:]}, JSON_OBJECT: known}, copy=False
    )
    frame["index"] = frame["index"].fillna("main")
    return frame


def _interrupt(cursor) -> None:
    """Stop the cursor's running query; one that has just finished and closed needs nothing."""
    with contextlib.suppress(duckdb.Error):
        cursor.interrupt()


class EventStore:
    """Events and search knowledge (macros, lookups) in one DuckDB file; ``None`` = in memory.

    Thread-safe: writes hold a lock, each search runs on its own DuckDB cursor.
    """

    def __init__(self, path: str | None = None):
        self._con = duckdb.connect(path or ":memory:")
        self._lock = threading.Lock()
        self._durable = path is not None
        register_functions(self._con)
        self._checkpoint_timer: threading.Timer | None = None
        for statement in (FILE_SETTINGS if path else []) + _SCHEMA:
            self._sql(statement)
        #: The database was written before knowledge objects had namespaces (and is adopted).
        self.pre_namespace = False
        self._adopt_old_macros()
        for name, definition in DEFAULT_MACROS.items():
            self._sql(
                "INSERT OR IGNORE INTO macro_objects VALUES (?, ?, '', ?, 'app', ?, '[]', '{}')",
                [name, DEFAULT_APP, NOBODY, definition],
            )
        self._seq = self._sql("SELECT coalesce(max(__seq) + 1, 0) FROM events")[0][0]
        #: Called as ``listener(events)`` after each add (real-time alerting hooks in here).
        self.add_listeners: list = []

    def _sql(self, statement: str, params: list | None = None) -> list[tuple]:
        """Run one statement to completion (DuckDB wants every result consumed)."""
        return self._con.execute(statement, params).fetchall()

    # events and indexes

    def add(self, events: list[dict]) -> int:
        """Bulk-insert events (dicts with ``_time``, ``index``, ``sourcetype``, ``source``,
        ``host``, ``_raw``); an index that does not exist yet is created. Returns the count."""
        if not events:
            return 0
        frame = event_frame(events)
        with self._lock:
            frame["__seq"] = range(self._seq, self._seq + len(frame))
            self._con.register("incoming", frame)
            try:
                self._sql('INSERT OR IGNORE INTO indexes SELECT DISTINCT "index" FROM incoming')
                self._sql(
                    'INSERT INTO events SELECT _time, "index", sourcetype, source, host, '
                    "CASE WHEN is_json THEN _raw END, CASE WHEN NOT is_json THEN _raw END, __seq "
                    f"FROM (SELECT *, {IS_JSON} AS is_json FROM incoming)"
                )
            finally:
                self._con.unregister("incoming")
            self._seq += len(frame)
            self._checkpoint_when_quiet()
        if self.add_listeners:
            added = Added(events)
            added.frame = frame  # the columns, built once: the real-time engine reuses them
            for listener in list(self.add_listeners):
                listener(added)
        return len(frame)

    def _checkpoint_when_quiet(self) -> None:
        """(Re)start the timer that checkpoints once no events arrived for a moment."""
        if not self._durable:
            return
        if self._checkpoint_timer:
            self._checkpoint_timer.cancel()
        self._checkpoint_timer = threading.Timer(QUIET_SECONDS_BEFORE_CHECKPOINT, self._checkpoint)
        self._checkpoint_timer.daemon = True
        self._checkpoint_timer.start()

    def _checkpoint(self) -> None:
        with self._lock:
            if self._checkpoint_timer is None:  # closed meanwhile
                return
            self._sql("CHECKPOINT")
            pending = self._sql("SELECT wal_size FROM pragma_database_size()")[0][0]
            if pending != "0 bytes":  # searches were running, so DuckDB skipped it: retry later
                self._checkpoint_when_quiet()

    def indexes(self) -> dict[str, dict]:
        """``name -> {"totalEventCount", "minTime", "maxTime"}`` (epoch seconds, None if empty)."""
        with self._lock:
            rows = self._sql(
                "SELECT i.name, count(e._time), min(e._time), max(e._time) FROM indexes i "
                'LEFT JOIN events e ON e."index" = i.name GROUP BY i.name ORDER BY i.name'
            )
        return {n: {"totalEventCount": c, "minTime": lo, "maxTime": hi} for n, c, lo, hi in rows}

    def index_names(self) -> list[str]:
        """The indexes' names (without counting their events, as :meth:`indexes` does)."""
        with self._lock:
            return [row[0] for row in self._sql("SELECT name FROM indexes ORDER BY name")]

    def create_index(self, name: str) -> None:
        with self._lock:
            self._sql("INSERT OR IGNORE INTO indexes VALUES (?)", [name])

    def delete_index(self, name: str) -> None:
        """Remove an index and its events; ``main`` cannot be removed (ValueError)."""
        if name == "main":
            raise ValueError("The index 'main' cannot be deleted.")
        with self._lock:
            self._sql('DELETE FROM events WHERE "index" = ?', [name])
            self._sql("DELETE FROM indexes WHERE name = ?", [name])

    # search

    def search(
        self,
        spl: str,
        earliest: str | float | None = None,
        latest: str | float | None = None,
        now: float | None = None,
        guard: Guard | None = None,
        namespace: Namespace | None = None,
    ) -> Results:
        """Run SPL as sent to the REST API (``search ...`` or ``| ...``); raises SPLError,
        also when ``guard`` stops the search (cancelled, out of time, its client gone).
        Macros are those ``namespace`` sees (see :meth:`macros`)."""
        now = time.time() if now is None else now
        guard = guard or Guard()
        macros = self.macros(namespace)
        with self._lock:
            cursor = self._con.cursor()
        end_watch = guard.watch(lambda: _interrupt(cursor))
        try:
            self._setup(cursor)
            earliest_at, latest_at = parse_time(earliest, now), parse_time(latest, now)
            ctx = Context(cursor, self, now, earliest_at, latest_at, guard=guard)
            return run(spl, ctx, macros)
        except RecursionError:
            raise SPLError(TOO_DEEP) from None
        except duckdb.Error as exc:
            guard.check()  # an interrupted query: say why
            raise SPLError(f"Error in 'search' command: {str(exc).splitlines()[0]}") from exc
        finally:
            end_watch()
            cursor.close()

    def _setup(self, cursor) -> None:
        """What each search's cursor needs first: UTC and the engine's SQL macros."""
        for statement in ["SET TimeZone = 'UTC'", *SETUP]:
            cursor.execute(statement).fetchall()

    def event_columns(self) -> tuple[dict[str, str], set | None]:
        """JSON fields already extracted into columns of ``events`` (name -> column), and the
        set where searches note the fields they read from JSON (None: not noted)."""
        return {}, None

    def check_search(self, spl: str, namespace: Namespace | None = None) -> None:
        """Parse ``spl`` without running it (a saved search before it is stored); SPLError."""
        try:
            parse(spl, self.macros(namespace))
        except RecursionError:
            raise SPLError(TOO_DEEP) from None

    # knowledge objects

    def _adopt_old_macros(self) -> None:
        """A database from before namespaces kept one macro per name (table ``macros``), which
        every app's searches expanded: each becomes the search app's macro of that name, shared
        globally so that it still is (an installed app's saved searches use the macros it
        brought, which went to that table too). :attr:`pre_namespace` says so, for the saved
        searches and alert state of the same folder to be adopted alike; the old table goes in
        :meth:`end_pre_namespace`, once they are (a stop in between adopts them all again)."""
        old = "SELECT count(*) FROM information_schema.tables WHERE table_name = 'macros'"
        if not self._sql(old)[0][0]:
            return
        self._sql(
            "INSERT OR IGNORE INTO macro_objects SELECT name, ?, '', ?, 'global', definition, "
            "args, '{}' FROM macros",
            [DEFAULT_APP, NOBODY],
        )
        self.pre_namespace = True

    def end_pre_namespace(self) -> None:
        """The state from before namespaces is adopted: its old macros table goes."""
        with self._lock:
            self._sql("DROP TABLE IF EXISTS macros")
        self.pre_namespace = False

    def set_macro(
        self,
        name: str,
        definition: str,
        args: list[str] = (),
        *,
        owner: str = NOBODY,
        app: str = DEFAULT_APP,
        sharing: str = "app",
        meta: dict | None = None,
        exists: bool | None = None,
    ) -> Macro:
        """Define a search macro (by default the search app's shared one); with arguments it
        is stored as ``name(N)`` like Splunk. A macro already there keeps its ``meta``, with
        ``meta`` laid over it. ``exists`` checks, in the same step as the write, that a macro
        is there already (True: an edit) or not (False: a create); KeyError if not so."""
        key = f"{name}({len(args)})" if args and not name.endswith(")") else name
        macro = Macro(key, definition, list(args), owner, app, sharing)
        with self._lock:
            old = self._macro_rows("WHERE name = ? AND app = ? AND private = ?", list(macro.key))
            if exists is not None and bool(old) != exists:
                raise KeyError(macro.key)
            macro.meta = {**(old[0].meta if old else {}), **(meta or {})}
            self._put_macro(macro)
        return macro

    def _put_macro(self, macro: Macro) -> None:
        name, app, private = macro.key
        self._sql(
            "INSERT OR REPLACE INTO macro_objects VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [name, app, private, macro.owner, macro.sharing, macro.definition,
             json.dumps(list(macro.args)), json.dumps(macro.meta)],
        )  # fmt: skip

    def replace_macro(self, key: tuple, macro: Macro) -> None:
        """Store ``macro`` in place of the one whose key is ``key`` (an ACL change may move
        it); KeyError when another macro already lives where it moves to."""
        with self._lock:
            if macro.key != key:
                taken = self._macro_rows("WHERE name = ? AND app = ? AND private = ?",
                                         list(macro.key))  # fmt: skip
                if taken:
                    raise KeyError(macro.key)
                self._sql("DELETE FROM macro_objects WHERE name = ? AND app = ? AND private = ?",
                          list(key))  # fmt: skip
            self._put_macro(macro)

    def delete_macro(
        self, name: str, owner: str = NOBODY, app: str = DEFAULT_APP, sharing: str = "app"
    ) -> bool:
        """Remove a macro (its stored name, e.g. ``name(2)``, where it lives: by default the
        search app's shared one); False when there was none."""
        where = list(identity(name, owner, app, sharing))
        with self._lock:
            query = "FROM macro_objects WHERE name = ? AND app = ? AND private = ?"
            found = self._sql(f"SELECT count(*) {query}", where)[0][0]
            self._sql(f"DELETE {query}", where)
        return bool(found)

    def _macro_rows(self, where: str = "", params: list | None = None) -> list[Macro]:
        rows = self._sql(
            "SELECT name, definition, args, owner, app, sharing, meta FROM macro_objects "
            f"{where} ORDER BY name, app, private",
            params,
        )
        return [Macro(n, d, json.loads(a), o, ap, s, json.loads(m or "{}"))
                for n, d, a, o, ap, s, m in rows]  # fmt: skip

    def macro_objects(self) -> list[Macro]:
        """Every macro, wherever it lives."""
        with self._lock:
            return self._macro_rows()

    def macros(self, namespace: Namespace | None = None) -> dict:
        """``name -> {"definition", "args", "validation", "errormsg"}``: the macros a search in
        ``namespace`` expands (the most specific of each name; default: the search app's)."""
        found = (namespace or SHARED).effective(self.macro_objects())
        return {
            n: {"definition": m.definition, "args": list(m.args),
                "validation": m.meta.get("validation"), "errormsg": m.meta.get("errormsg")}
            for n, m in found.items()
        }  # fmt: skip

    def put_lookup(self, name: str, csv_text: str) -> None:
        """Store a CSV lookup table (header row required) under its file name."""
        header = next(csv.reader(io.StringIO(csv_text)), None)
        if not header:
            raise ValueError(f"Lookup {name!r} has no header row.")
        with self._lock:
            self._sql("INSERT OR REPLACE INTO lookups VALUES (?, ?)", [name, csv_text])

    def lookups(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._sql("SELECT name FROM lookups ORDER BY name")]

    def get_lookup(self, name: str) -> str:
        """CSV text of a lookup, found by its name or ``name.csv``; KeyError if absent."""
        with self._lock:
            for candidate in (name, f"{name}.csv"):
                row = self._sql("SELECT csv FROM lookups WHERE name = ?", [candidate])
                if row:
                    return row[0][0]
        raise KeyError(name)

    def close(self) -> None:
        with self._lock:
            if self._checkpoint_timer:
                self._checkpoint_timer.cancel()
                self._checkpoint_timer = None
            self._con.close()
