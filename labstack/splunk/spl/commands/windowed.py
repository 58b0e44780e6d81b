"""``eventstats`` and ``streamstats``: stats added to each result instead of replacing them.

``eventstats`` is the stats query joined back to the results by the by-fields (every stats
function works); ``streamstats`` is DuckDB window functions over the results in search order:
``window=N`` the last N results (default: all, up to ``max_stream_window`` = 10000),
``current=false`` leaves the result itself out, ``global=false`` keeps one window per by-group
(the default ``global=true`` is one window whose results are summed per group). Results
without a by-field value pass through without the new fields; a multivalue by-field counts
under its first value (Search Reference, "eventstats", "streamstats").

>>> StreamStats("streamstats", "window=3 current=f avg(bytes) AS mean BY host").window
3
"""

from __future__ import annotations

from ..relation import LIST, NUM, STR, Context, Relation
from ..sql import ident
from . import Command, command, is_true, positive_int
from .stats import Aggregate, aggregates_by, grouped

#: limits.conf ``[stats] max_stream_window``: the most results streamstats looks back over.
MAX_STREAM_WINDOW = 10000
STREAM_FUNCTIONS = ("count", "c", "sum", "avg", "mean", "min", "max", "dc", "distinct_count",
                    "values", "first", "last")  # fmt: skip


def _keys(rel: Relation, by: list[str]) -> tuple[Relation, list[str]]:
    """``rel`` with a hidden key column per by-field (a multivalue's first value)."""
    kinds, selects, keys = dict(rel.kinds), [], []
    for i, name in enumerate(by):
        expr, kind = rel.field(name)
        key = f"__k{i}"
        selects.append(f"{expr}[1] AS {key}" if kind == LIST else f"{expr} AS {key}")
        kinds[key] = STR if kind == LIST else kind
        keys.append(key)
    if not selects:
        return rel, keys
    return rel.wrap(f"SELECT *, {', '.join(selects)} FROM {{rel}}", kinds), keys


def _attach(rel: Relation, select: str, kinds: dict[str, str]) -> Relation:
    """``rel``'s results with the new fields ``kinds`` (``select`` reads ``source`` as rel)."""
    clashing = [ident(n) for n in kinds if n in rel.kinds]
    added = (*rel.added, *(n for n in kinds if n not in rel.kinds and n not in rel.added))
    sql = select.replace("{clash}", f" EXCLUDE ({', '.join(clashing)})" if clashing else "")
    return Relation(
        sql, {**rel.kinds, **kinds}, rel.order, rel.events, added, rel.columns, rel.wanted
    )


@command("eventstats")
class EventStats(Command):
    """Stats over all results added to each: ``eventstats avg(bytes) AS avg_bytes BY host``."""

    def parse(self) -> None:
        self.take_options("allnum")
        self.aggregates, self.by = aggregates_by(self)

    def sql(self, rel: Relation, ctx: Context) -> Relation:
        source, keys = _keys(rel, self.by)
        stats = grouped(source, self.aggregates, keys)
        names = [a.name for a in self.aggregates]
        joined = " AND ".join(f"rel.{k} = st.{k}" for k in keys) or "TRUE"
        fields = ", ".join(f"st.{ident(n)}" for n in names)
        select = (
            f"SELECT rel.*{{clash}}, {fields} FROM ({source.sql}) AS rel "
            f"LEFT JOIN ({stats.sql}) AS st ON {joined}"
        )
        return _attach(rel, select, {n: stats.kinds[n] for n in names})


def _text(expr: str, kind: str) -> str:
    return f"spl_num({expr})" if kind == NUM else f"{expr}[1]" if kind == LIST else expr


def _window_sql(agg: Aggregate, expr: str | None, kind: str, over: str) -> tuple[str, str]:
    """A stats function as a window function over ``over``: (SQL, kind)."""
    fn = agg.function
    text = None if expr is None else _text(expr, kind)
    number = None if expr is None else expr if kind == NUM else f"TRY_CAST({text} AS DOUBLE)"
    if fn in ("count", "c"):
        if expr is None:
            return f"count(*) OVER {over}", NUM
        if kind == LIST:
            return f"coalesce(sum(len({expr})) OVER {over}, 0)", NUM
        return f"count({expr}) OVER {over}", NUM
    if fn in ("sum", "avg", "mean"):
        return f"{'sum' if fn == 'sum' else 'avg'}({number}) OVER {over}", NUM
    if fn in ("min", "max"):
        if kind == NUM:
            return f"{fn}({expr}) OVER {over}", NUM
        numeric = f"spl_num({fn}(TRY_CAST({text} AS DOUBLE)) OVER {over})"
        return f"coalesce({numeric}, {fn}({text}) OVER {over})", STR
    values = f"flatten(list({expr}) OVER {over})" if kind == LIST else f"list({text}) OVER {over}"
    if fn in ("dc", "distinct_count"):
        return f"coalesce(len(list_distinct({values})), 0)", NUM
    if fn == "values":
        distinct = f"list_sort(list_distinct({values}))"
        return f"(CASE WHEN len({distinct}) > 0 THEN {distinct} END)", LIST
    way = "first_value" if fn == "first" else "last_value"
    out_kind = NUM if kind == NUM else STR
    value = expr if kind == NUM else text
    return f"{way}({value} IGNORE NULLS) OVER {over}", out_kind


@command("streamstats")
class StreamStats(Command):
    """Running stats in search order: ``streamstats count BY user``, ``streamstats window=5
    avg(bytes)``, ``streamstats current=f last(src) AS previous_src BY user``."""

    def parse(self) -> None:
        options = self.take_options("window", "current", "global", "time_window", "allnum")
        if "time_window" in options:
            raise self.error("The option 'time_window' is not supported in this lab.")
        self.window = positive_int(self, options.get("window", "0"))
        self.current = is_true(options.get("current", "t"))
        self.is_global = is_true(options.get("global", "t"))
        self.aggregates, self.by = aggregates_by(self)
        for agg in self.aggregates:
            if agg.function not in STREAM_FUNCTIONS:
                raise self.error(f"The '{agg.function}' function is not supported here.")

    def sql(self, rel: Relation, ctx: Context) -> Relation:
        source, keys = _keys(rel, self.by)
        size = self.window or MAX_STREAM_WINDOW
        back = size if not self.current else size - 1
        end = "CURRENT ROW" if self.current else "1 PRECEDING"
        order = rel.order or "1"
        if keys and self.window and self.is_global:
            # One window over all results; each result sums the ones of its group in it.
            source = source.wrap(
                f"SELECT *, row_number() OVER (ORDER BY {order}) AS __pos FROM {{rel}}",
                source.kinds,
            )
            frame = f"ORDER BY __pos RANGE BETWEEN {back} PRECEDING AND {end}"
        else:
            frame = f"ORDER BY {order} ROWS BETWEEN {back} PRECEDING AND {end}"
        partition = f"PARTITION BY {', '.join(keys)} " if keys else ""
        over = f"({partition}{frame})"
        present = " AND ".join(f"{k} IS NOT NULL" for k in keys)
        selects, kinds = [], {}
        for agg in self.aggregates:
            expr, kind = source.field(agg.field) if agg.field else (None, STR)
            sql, out_kind = _window_sql(agg, expr, kind, over)
            if present:
                sql = f"CASE WHEN {present} THEN {sql} END"
            selects.append(f"{sql} AS {ident(agg.name)}")
            kinds[agg.name] = out_kind
        select = f"SELECT rel.*{{clash}}, {', '.join(selects)} FROM ({source.sql}) AS rel"
        return _attach(rel, select, kinds)
