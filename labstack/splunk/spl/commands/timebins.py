"""``bin``/``bucket`` and ``timechart``: values into spans, and a time series table.

>>> Bin("bin", "_time span=1h").span
(3600.0, 0)
"""

from __future__ import annotations

import re

from ..relation import NUM, STR, Context, Relation, Rows, load, materialize
from ..timeutil import SECONDS, UNITS, relative_time
from . import Command, command, is_true, positive_int
from .stats import Aggregate, grouped, parse_aggregates

AUTO_SPANS = ("1s", "5s", "10s", "30s", "1m", "5m", "10m", "30m", "1h", "1d", "7d", "1mon")
MAX_AUTO_BUCKETS = 100
ZERO_FILLED = ("count", "c", "dc", "distinct_count", "sum")


def parse_span(cmd: Command, text: str, time_field: bool) -> tuple[float, int]:
    """``(seconds, 0)`` or ``(0, months)`` for times; ``(width, 0)`` for numbers."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([a-zA-Z]*)", text.strip())
    if not match:
        raise cmd.error(f"The value for option span ({text}) is invalid.")
    size, unit = float(match.group(1)), match.group(2).lower()
    if not unit:
        return size, 0
    unit = UNITS.get(unit)
    if unit is None or size <= 0:
        raise cmd.error(f"The value for option span ({text}) is invalid.")
    if unit in SECONDS:
        return size * SECONDS[unit], 0
    return 0, int(size) * {"mon": 1, "q": 3, "y": 12}[unit]


def time_bucket(expr: str, span: tuple[float, int]) -> str:
    seconds, months = span
    if seconds:
        return f"floor({expr} / {seconds!r}) * {seconds!r}"
    stamp = f"to_timestamp({expr})"
    month = f"(floor((year({stamp}) * 12 + month({stamp}) - 1) / {months}) * {months})"
    year, month_of_year = (
        f"CAST(floor({month} / 12) AS BIGINT)",
        f"CAST({month} % 12 + 1 AS BIGINT)",
    )
    return f"epoch(make_timestamp({year}, {month_of_year}, 1, 0, 0, 0))"


def next_bucket(t: float, span: tuple[float, int]) -> float:
    seconds, months = span
    return t + seconds if seconds else relative_time(t, f"+{months}mon")


@command("bin", "bucket")
class Bin(Command):
    """Put values into spans: ``bin _time span=1h``, ``bin bytes span=100 AS size``."""

    def parse(self) -> None:
        options = self.take_options("span")
        names = self.field_names()
        self.target = names[0] if names else None
        if len(names) == 3 and names[1].lower() == "as":
            self.target = names[2]
        elif len(names) != 1:
            raise self.error("Usage: bin [span=<span>] <field> [AS <newfield>].")
        self.field = names[0]
        self.is_time = self.field == "_time"
        if "span" not in options:
            raise self.error("The option 'span' is required in this lab (bins= is not supported).")
        self.span = parse_span(self, options["span"], self.is_time)
        self.is_time = self.is_time or bool(re.search(r"[a-zA-Z]", options["span"]))

    def sql(self, rel: Relation, ctx: Context) -> Relation:
        if self.is_time:
            expr, kind = rel.field(self.field)
            number = expr if kind == NUM else f"TRY_CAST({rel.text(self.field)} AS DOUBLE)"
            return rel.with_column(self.target, time_bucket(number, self.span), NUM)
        width = self.span[0]
        value = f"TRY_CAST({rel.text(self.field)} AS DOUBLE)"
        low = f"floor({value} / {width!r}) * {width!r}"
        label = f"spl_num({low}) || '-' || spl_num({low} + {width!r})"
        expr = f"CASE WHEN {value} IS NULL THEN NULL ELSE {label} END"
        return rel.with_column(self.target, expr, STR)


@command("timechart")
class Timechart(Command):
    """Series over time: ``timechart span=1h count BY eventName`` (top ``limit=10`` series,
    the rest as ``OTHER``; events without the split field as ``NULL``; empty spans filled)."""

    def parse(self) -> None:
        options = self.take_options("span", "limit", "useother", "usenull", "otherstr", "nullstr")
        head, tail = self.split_keyword("by")
        self.aggregates = parse_aggregates(self, head) or [Aggregate("count", None, "count")]
        self.by = self.field_names(tail)
        if len(self.by) > 1:
            raise self.error("The timechart command accepts only one split-by field.")
        self.span = parse_span(self, options["span"], True) if "span" in options else None
        self.limit = positive_int(self, options.get("limit", "10"))
        self.useother = is_true(options.get("useother", "t"))
        self.usenull = is_true(options.get("usenull", "t"))
        self.otherstr, self.nullstr = (
            options.get("otherstr", "OTHER"),
            options.get("nullstr", "NULL"),
        )

    def _auto_span(self, low: float, high: float) -> tuple[float, int]:
        for text in AUTO_SPANS:
            span = parse_span(self, text, True)
            if span[1] or (high - low) / span[0] < MAX_AUTO_BUCKETS:
                return span
        return parse_span(self, AUTO_SPANS[-1], True)

    def sql(self, rel: Relation, ctx: Context) -> Relation:
        if "_time" not in rel.kinds:
            return load(Rows([], ["_time"]), ctx)
        bounds = ctx.con.execute(
            f"SELECT min(_time), max(_time) FROM ({rel.sql}) AS rel"
        ).fetchall()[0]
        low = ctx.earliest if ctx.earliest is not None else bounds[0]
        high = ctx.latest - 1e-6 if ctx.latest is not None else bounds[1]
        if low is None or high is None:
            return load(Rows([], ["_time"]), ctx)
        span = self.span or self._auto_span(low, high)
        source = rel.with_column("_time", time_bucket("_time", span), NUM)
        if self.by and self.usenull:
            source = source.with_column(
                self.by[0], f"coalesce({source.text(self.by[0])}, '{self.nullstr}')", STR
            )
        counts = materialize(grouped(source, self.aggregates, ["_time", *self.by]), ctx)
        start = ctx.con.execute(
            f"SELECT {time_bucket(repr(float(low)), span)}, {time_bucket(repr(float(high)), span)}"
        ).fetchall()[0]
        return load(self._pivot(counts, span, *start), ctx)

    def _pivot(self, counts: Rows, span, first: float, last: float) -> Rows:
        series: dict[str, dict[float, object]] = {}
        fill = {}
        for agg in self.aggregates:
            for row in counts.rows:
                name = agg.name
                if self.by:
                    value = row[self.by[0]]
                    name = value if len(self.aggregates) == 1 else f"{agg.name}: {value}"
                series.setdefault(name, {})[row["_time"]] = row.get(agg.name)
                fill[name] = 0 if agg.function in ZERO_FILLED else None
        names = [a.name for a in self.aggregates] if not self.by else sorted(series)
        if self.by and self.limit and len(names) > self.limit:
            totals = {n: sum(float(v or 0) for v in series[n].values()) for n in names}
            kept = sorted(sorted(names, key=lambda n: -totals[n])[: self.limit])
            dropped = [n for n in names if n not in kept]
            names = kept
            if self.useother:
                other: dict[float, float] = {}
                for n in dropped:
                    for t, v in series[n].items():
                        other[t] = other.get(t, 0) + float(v or 0)
                series[self.otherstr], fill[self.otherstr] = other, 0
                names.append(self.otherstr)
        rows, t = [], first
        while t <= last:
            rows.append(
                {"_time": t, **{n: series.get(n, {}).get(t, fill.get(n, 0)) for n in names}}
            )
            t = next_bucket(t, span)
        for row in rows:
            for key in [k for k, v in row.items() if v is None]:
                del row[key]
        return Rows(rows, ["_time", *names])
