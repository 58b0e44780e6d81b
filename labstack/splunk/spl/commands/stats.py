"""``stats``, ``top`` and ``rare`` as DuckDB GROUP BY queries.

Stats functions are registered in ``AGGREGATES``: each turns a field's SQL expression into an
aggregate expression. Events whose by-fields are null are dropped, multivalue by-fields count
once per value, and output is sorted by the by-fields (Search Reference, "stats").

>>> Stats("stats", "count, dc(user) AS users BY src").aggregates[1].name
'users'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..fields import json_path
from ..lexer import STRING, WORD
from ..relation import LIST, NUM, STR, Context, Relation
from ..sql import ident, lit
from . import Command, command, is_true, positive_int

AGGREGATES: dict[str, Callable[[str, str, Relation], tuple[str, str]]] = {}


def aggregate(*names: str):
    """Register a stats function ``fn(expr, kind, rel) -> (sql, kind)`` under its names."""

    def register(fn):
        for name in names:
            if name in AGGREGATES:
                raise ValueError(f"stats function {name!r} is registered twice")
            AGGREGATES[name] = fn
        return fn

    return register


def _text(expr: str, kind: str) -> str:
    return f"spl_num({expr})" if kind == NUM else f"{expr}[1]" if kind == LIST else expr


def _number(expr: str, kind: str) -> str:
    return expr if kind == NUM else f"TRY_CAST({_text(expr, kind)} AS DOUBLE)"


@aggregate("count", "c")
def _count(expr, kind, rel):
    if expr is None:
        return "count(*)", NUM
    return (f"coalesce(sum(len({expr})), 0)" if kind == LIST else f"count({expr})"), NUM


@aggregate("dc", "distinct_count")
def _dc(expr, kind, rel):
    if kind == LIST:
        return f"len(list_distinct(flatten(list({expr}))))", NUM
    return f"count(DISTINCT {_text(expr, kind)})", NUM


@aggregate("values")
def _values(expr, kind, rel):
    values = f"flatten(list({expr}))" if kind == LIST else f"list({_text(expr, kind)})"
    return f"list_sort(list_distinct({values}))", LIST


@aggregate("list")
def _list(expr, kind, rel):
    if kind == LIST:
        return f"list_slice(flatten(list({expr} {rel.order_by})), 1, 100)", LIST
    text = _text(expr, kind)
    return (
        f"list_slice(list({text} {rel.order_by}) FILTER (WHERE {text} IS NOT NULL), 1, 100)",
        LIST,
    )


def _extreme(fn: str):
    def build(expr, kind, rel):
        if kind == NUM:
            return f"{fn}({expr})", NUM
        text = _text(expr, kind)
        return f"coalesce(spl_num({fn}(TRY_CAST({text} AS DOUBLE))), {fn}({text}))", STR

    return build


aggregate("min")(_extreme("min"))
aggregate("max")(_extreme("max"))


@aggregate("avg", "mean")
def _avg(expr, kind, rel):
    return f"avg({_number(expr, kind)})", NUM


@aggregate("sum")
def _sum(expr, kind, rel):
    return f"sum({_number(expr, kind)})", NUM


@aggregate("range")
def _range(expr, kind, rel):
    number = _number(expr, kind)
    return f"max({number}) - min({number})", NUM


@aggregate("stdev")
def _stdev(expr, kind, rel):
    return f"stddev_samp({_number(expr, kind)})", NUM


@aggregate("median")
def _median(expr, kind, rel):
    return f"quantile_disc({_number(expr, kind)}, 0.5)", NUM


@aggregate("mode")
def _mode(expr, kind, rel):
    return f"mode({_text(expr, kind)})", STR


def _ordered(fn: str, by_time: str | None):
    def build(expr, kind, rel):
        text = _text(expr, kind)
        if by_time and "_time" in rel.kinds:
            return f"{by_time}({text}, _time) FILTER (WHERE {text} IS NOT NULL)", STR
        return f"{fn}({text} {rel.order_by}) FILTER (WHERE {text} IS NOT NULL)", STR

    return build


aggregate("first")(_ordered("first", None))
aggregate("last")(_ordered("last", None))
aggregate("earliest")(_ordered("last", "arg_min"))
aggregate("latest")(_ordered("first", "arg_max"))


@dataclass
class Aggregate:
    function: str
    field: str | None
    name: str


def read_once(rel: Relation, names: list[str]) -> tuple[Relation, dict[str, tuple[str, str]]]:
    """``rel`` plus a column per field, each event's JSON parsed once for all of them.

    Returns the relation and ``name -> (column, kind)``.
    """
    wanted = [n for n in dict.fromkeys(names) if n not in rel.kinds and n not in rel.columns]
    columns = {n: rel.field(n) for n in dict.fromkeys(names) if n not in wanted}
    if rel.wanted is not None:
        rel.wanted.update(wanted)  # the store extracts them next time
    scalars = [n for n in wanted if rel.events and "{}" not in n]
    selects = []
    if len(scalars) > 1:
        paths = ", ".join(lit(json_path(n)) for n in scalars)
        selects.append(f"json_extract_string(__doc, [{paths}]) AS __fields")
        columns.update({n: (f"__fields[{i}]", STR) for i, n in enumerate(scalars, 1)})
    for i, name in enumerate(n for n in wanted if n not in columns):
        expr, kind = rel.field(name)
        selects.append(f"{expr} AS __f{i}")
        columns[name] = (f"__f{i}", kind)
    if not selects:
        return rel, columns
    return rel.wrap(f"SELECT *, {', '.join(selects)} FROM {{rel}}", rel.kinds), columns


def parse_aggregates(cmd: Command, tokens) -> list[Aggregate]:
    """``count``, ``avg(x)``, ``dc(user) AS users``, separated by spaces or commas."""
    out, i = [], 0
    while i < len(tokens):
        t = tokens[i]
        if t.is_op(","):
            i += 1
            continue
        if t.kind != WORD:
            raise cmd.error(f"The argument '{t.value}' is invalid.")
        function, field, i = t.value.lower(), None, i + 1
        if i < len(tokens) and tokens[i].is_op("("):
            if (
                i + 2 >= len(tokens)
                or tokens[i + 1].kind not in (WORD, STRING)
                or not tokens[i + 2].is_op(")")
            ):
                raise cmd.error(f"The argument '{t.value}(' is invalid.")
            field, i = tokens[i + 1].value, i + 3
        label = f"{t.value}({field})" if field else t.value
        if function not in AGGREGATES or (field is None and function not in ("count", "c")):
            raise cmd.error(f"The argument '{label}' is invalid.")
        name = label
        if i + 1 < len(tokens) and tokens[i].is_keyword("as"):
            name, i = tokens[i + 1].value, i + 2
        out.append(Aggregate(function, field, name))
    return out


def aggregates_by(cmd: Command) -> tuple[list[Aggregate], list[str]]:
    """``<aggregate>... [BY <field>...]`` with at least one aggregate (stats, eventstats and
    streamstats read their arguments alike)."""
    head, tail = cmd.split_keyword("by")
    aggregates = parse_aggregates(cmd, head)
    if not aggregates:
        raise cmd.error("You must specify at least one function.")
    return aggregates, cmd.field_names(tail)


def grouped(rel: Relation, aggregates: list[Aggregate], by: list[str]) -> Relation:
    """The stats query: one row per by-field combination (multivalue by-fields count once per
    value, null ones not at all), sorted by the by-fields."""
    source, columns = read_once(rel, [*by, *(a.field for a in aggregates if a.field)])
    keys = [f"__g{i}" for i in range(len(by))]
    if by:
        unnested = ", ".join(
            f"{f'unnest({c})' if k == LIST else c} AS {g}"
            for g, (c, k) in zip(keys, (columns[n] for n in by), strict=True)
        )
        present = " AND ".join(f"{g} IS NOT NULL" for g in keys)
        source = source.wrap(f"SELECT *, {unnested} FROM {{rel}}", source.kinds)
        source = source.wrap(f"SELECT * FROM {{rel}} WHERE {present}", source.kinds)
    selects, out_kinds = [], {}
    for key, name in zip(keys, by, strict=True):
        selects.append(f"{key} AS {ident(name)}")
        out_kinds[name] = STR if columns[name][1] == LIST else columns[name][1]
    for agg in aggregates:
        expr, kind = columns[agg.field] if agg.field else (None, STR)
        sql, out_kind = AGGREGATES[agg.function](expr, kind, source)
        selects.append(f"{sql} AS {ident(agg.name)}")
        out_kinds[agg.name] = out_kind
    group = f" GROUP BY {', '.join(keys)}" if keys else ""
    order = ", ".join(ident(n) for n in by)
    return Relation(
        f"SELECT {', '.join(selects)} FROM ({source.sql}) AS rel{group}", out_kinds, order
    )


@command("stats")
class Stats(Command):
    """Aggregate: ``stats count min(_time) AS firstTime values(src) BY user, eventName``."""

    def parse(self) -> None:
        self.aggregates, self.by = aggregates_by(self)

    def sql(self, rel: Relation, ctx: Context) -> Relation:
        return grouped(rel, self.aggregates, self.by)


@command("top", "rare")
class Top(Command):
    """Most (``top``) or least (``rare``) common values with count and percent:
    ``top limit=5 eventName by userIdentity.arn``."""

    def parse(self) -> None:
        options = self.take_options("limit", "countfield", "percentfield", "showcount", "showperc")
        if self.tokens and self.tokens[0].kind == WORD and self.tokens[0].value.isdigit():
            options.setdefault("limit", self.tokens.pop(0).value)
        self.limit = positive_int(self, options.get("limit", "10"))
        self.countfield = options.get("countfield", "count")
        self.percentfield = options.get("percentfield", "percent")
        self.showcount = is_true(options.get("showcount", "t"))
        self.showperc = is_true(options.get("showperc", "t"))
        head, tail = self.split_keyword("by")
        self.fields, self.by = self.field_names(head), self.field_names(tail)
        if not self.fields:
            raise self.error("Did not find value for required attribute 'field-list'.")

    def sql(self, rel: Relation, ctx: Context) -> Relation:
        names = self.by + self.fields
        counts = grouped(rel, [Aggregate("count", None, "__count")], names)
        direction = "DESC" if self.name == "top" else "ASC"
        partition = f"PARTITION BY {', '.join(ident(n) for n in self.by)}" if self.by else ""
        ties = ", ".join(ident(n) for n in self.fields)
        rank = f"row_number() OVER ({partition} ORDER BY __count {direction}, {ties})"
        percent = f"printf('%.6f', __count * 100.0 / sum(__count) OVER ({partition}))"
        selects = [ident(n) for n in names]
        kinds = {n: counts.kinds[n] for n in names}
        if self.showcount:
            selects.append(f"__count AS {ident(self.countfield)}")
            kinds[self.countfield] = NUM
        if self.showperc:
            selects.append(f"{percent} AS {ident(self.percentfield)}")
            kinds[self.percentfield] = STR
        limit = f" QUALIFY {rank} <= {self.limit}" if self.limit else ""
        order = ", ".join([*(ident(n) for n in self.by), "__rank"])
        sql = f"SELECT {', '.join(selects)}, {rank} AS __rank FROM ({counts.sql}) AS rel{limit}"
        return Relation(sql, kinds, order)
