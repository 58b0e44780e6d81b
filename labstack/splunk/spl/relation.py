"""The two shapes a pipeline's data takes: a DuckDB ``Relation`` (SQL text not yet run) or
Python ``Rows``; and the run ``Context`` commands share.

Commands that SQL does well (search, stats, eventstats, streamstats, chart, top, bin, iplocation,
lookup, and eval/where when their expressions have SQL, see ``eval_sql``) extend the relation;
the others take materialized rows. Each shape converts into the other when the next command
needs it.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .fields import flatten, json_path, parse_json_object
from .limits import MAX_RESULT_ROWS, Guard
from .sql import ident, lit

STR, NUM, LIST = "str", "num", "list"


def to_text(value: Any) -> Any:
    """A Python value as Splunk shows it: strings, ``3`` for 3.0, lists element-wise."""
    if isinstance(value, list):
        return [to_text(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, int):
        return str(value)
    return value


@dataclass
class Rows:
    """Materialized results: dicts of str / number / list values, and the field order."""

    rows: list[dict]
    fields: list[str]

    def add_fields(self, names) -> None:
        self.fields.extend(n for n in names if n not in self.fields)


@dataclass
class Relation:
    """A SQL query whose columns are fields; ``events`` relations also reach the fields of
    JSON events (their ``_raw`` in column ``__doc``, NULL for other events).

    >>> Relation("SELECT 1 AS x", {"x": "num"}, "x").field("y")
    ('NULL', 'str')
    """

    sql: str
    kinds: dict[str, str]
    order: str
    events: bool = False
    #: Fields ``eval`` or ``lookup`` added (not among the columns before): like the Python
    #: path, results list them after the event's fields, and only when some result has one.
    added: tuple[str, ...] = ()
    #: JSON fields the store extracted into columns already (name -> column), and the set
    #: where the names it did not extract are noted, so it extracts those next time.
    columns: dict[str, str] = field(default_factory=dict)
    wanted: set | None = None

    @property
    def order_by(self) -> str:
        """`` ORDER BY ...`` giving Splunk's row order, or nothing for a single row."""
        return f" ORDER BY {self.order}" if self.order else ""

    def field(self, name: str) -> tuple[str, str]:
        """SQL expression and kind (str, num, list) of a field."""
        if name in self.kinds:
            return ident(name), self.kinds[name]
        if not self.events:
            return "NULL", STR
        multi = "{}" in name
        if name in self.columns:
            return self.columns[name], LIST if multi else STR
        if self.wanted is not None:
            self.wanted.add(name)
        return f"json_extract_string(__doc, {lit(json_path(name))})", LIST if multi else STR

    def text(self, name: str) -> str:
        """The field as one VARCHAR (multivalue: its first value; numbers as Splunk prints)."""
        expr, kind = self.field(name)
        if kind == LIST:
            return f"{expr}[1]"
        return f"spl_num({expr})" if kind == NUM else expr

    def with_column(self, name: str, expr: str, kind: str) -> Relation:
        """This relation with field ``name`` set to ``expr`` (written over its columns)."""
        if name in self.kinds:
            select = f"SELECT * REPLACE ({expr} AS {ident(name)}) FROM {{rel}}"
            return self.wrap(select, {**self.kinds, name: kind})
        select = f"SELECT *, {expr} AS {ident(name)} FROM {{rel}}"
        return self.wrap(select, {**self.kinds, name: kind}, added=(*self.added, name))

    def reading(self, wanted: set | None) -> Relation:
        """This relation noting the JSON fields it reads in ``wanted`` (None: nowhere).

        What a command reads after the search's filters (eval's inputs, the table's fields)
        is read from few events; the store extracts in advance only what filters read."""
        if wanted is self.wanted:
            return self
        return Relation(
            self.sql, self.kinds, self.order, self.events, self.added, self.columns, wanted
        )

    def with_columns(self, columns: list[tuple[str, str, str]]) -> Relation:
        """This relation with fields set to expressions over its columns, in one SELECT:
        ``columns`` are ``(name, expr, kind)`` and none reads another."""
        if not columns:
            return self
        if len(columns) == 1:
            return self.with_column(*columns[0])
        replaced = [f"{e} AS {ident(n)}" for n, e, _ in columns if n in self.kinds]
        new = [f"{e} AS {ident(n)}" for n, e, _ in columns if n not in self.kinds]
        star = f"* REPLACE ({', '.join(replaced)})" if replaced else "*"
        kinds = {**self.kinds, **{n: k for n, _, k in columns}}
        added = (*self.added, *(n for n, _, _ in columns if n not in self.kinds))
        select = f"SELECT {', '.join([star, *new])} FROM {{rel}}"
        return self.wrap(select, kinds, added=added)

    def wrap(
        self,
        select: str,
        kinds: dict[str, str],
        order: str | None = None,
        added: tuple[str, ...] | None = None,
    ) -> Relation:
        """A relation selecting ``select`` from this one (``{rel}`` is this relation's SQL)."""
        sql = select.replace("{rel}", f"({self.sql}) AS rel")
        return Relation(
            sql, kinds, order or self.order, self.events,
            self.added if added is None else added, self.columns, self.wanted,
        )  # fmt: skip


@dataclass
class Context:
    """What a running search shares: the DuckDB cursor, the store, the clock and time range."""

    con: Any
    store: Any
    now: float
    earliest: float | None = None
    latest: float | None = None
    messages: list[dict] = field(default_factory=list)
    run_subsearch: Callable[[str], Rows] | None = None
    guard: Guard = field(default_factory=Guard)
    _names: itertools.count = field(default_factory=itertools.count)

    def unique(self, prefix: str) -> str:
        """A name no other table or column of this search uses."""
        return f"{prefix}_{next(self._names)}"

    def register(self, prefix: str, frame: pd.DataFrame) -> str:
        name = self.unique(prefix)
        self.con.register(name, frame)
        return name

    def warn(self, text: str) -> None:
        self.messages.append({"type": "WARN", "text": text})


def _python_value(value: Any, kind: str) -> Any:
    if kind == LIST:
        return list(value) if value else None
    return value


def materialize(rel: Relation, ctx: Context) -> Rows:
    """Run the relation; events get their JSON fields extracted under Splunk's names."""
    cursor = ctx.con.execute(f"SELECT * FROM ({rel.sql}) AS rel{rel.order_by}")
    names = [d[0] for d in cursor.description]
    visible = [(i, n) for i, n in enumerate(names) if not n.startswith("__")]
    added = set(rel.added)
    rows, seen = [], dict.fromkeys(n for _, n in visible if n not in added)
    json_names: set[str] = set()
    for record in _records(cursor, ctx):
        row = {n: _python_value(record[i], rel.kinds.get(n, STR)) for i, n in visible}
        if rel.events and row.get("_raw") and (doc := parse_json_object(row["_raw"])):
            for name, value in flatten(doc).items():
                row.setdefault(name, value)
                json_names.add(name)
        rows.append({k: v for k, v in row.items() if v is not None})
    seen.update(dict.fromkeys(sorted(json_names)))
    fields = list(seen)
    if rel.events:
        fields.sort(key=lambda n: (not n.startswith("_"), n))
    # Added fields come last, in the order they were added, when some result has them.
    fields += [n for n in rel.added if n not in seen and any(n in r for r in rows)]
    return Rows(rows, fields)


def _records(cursor, ctx: Context, batch: int = 10_000):
    """The cursor's rows, checking the guard between batches; cut at MAX_RESULT_ROWS."""
    count = 0
    while chunk := cursor.fetchmany(batch):
        ctx.guard.check()
        if count + len(chunk) > MAX_RESULT_ROWS:
            yield from chunk[: MAX_RESULT_ROWS - count]
            ctx.warn(
                f"Search results are truncated at {MAX_RESULT_ROWS} rows "
                "(limits.conf [searchresults] maxresultrows)."
            )
            return
        count += len(chunk)
        yield from chunk


def load(rows: Rows, ctx: Context) -> Relation:
    """Put Python rows into DuckDB so SQL commands can continue the pipeline."""
    kinds: dict[str, str] = {}
    columns: dict[str, list] = {}
    for name in rows.fields:
        values = [r.get(name) for r in rows.rows]
        if any(isinstance(v, list) for v in values):
            kinds[name] = LIST
            columns[name] = [
                None if v is None else json.dumps(to_text(v if isinstance(v, list) else [v]))
                for v in values
            ]
        elif name == "_time" and all(isinstance(v, int | float) or v is None for v in values):
            kinds[name] = NUM
            columns[name] = values
        else:
            kinds[name] = STR
            columns[name] = [to_text(v) for v in values]
    frame = pd.DataFrame(columns, dtype=object)
    frame["__ord"] = range(len(rows.rows))
    table = ctx.register("rows", frame)
    casts = {
        NUM: "CAST({} AS DOUBLE)",
        STR: "CAST({} AS VARCHAR)",
        LIST: "CAST(CAST({} AS JSON) AS VARCHAR[])",
    }
    select = [f"{casts[k].format(ident(n))} AS {ident(n)}" for n, k in kinds.items()]
    sql = f"SELECT {', '.join([*select, '__ord'])} FROM {table}"
    return Relation(sql, kinds, "__ord")
