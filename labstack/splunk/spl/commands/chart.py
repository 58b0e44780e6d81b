"""``chart``: a stats table turned into rows by one field and columns by another.

``chart count over host by status`` (or ``chart count by host status``) gives one row per
host, sorted, and one column per status: the ``limit`` (default 10) statuses with the largest
totals (of the first function), in sorted order; then ``NULL`` for results without a status
(``usenull=f`` leaves them out; it is not one of the ``limit``); then ``OTHER`` for the rest
(``useother=f`` drops them), computed again over their results.
Counts, distinct counts and sums of an absent combination are 0, other functions leave it
empty. With several functions and a column split, columns are named ``avg(bytes): 404``.
Without a column split, chart is stats by the row field (Search Reference, "chart").

>>> c = Chart("chart", "limit=5 avg(bytes) over host by status")
>>> (c.over, c.split, c.limit)
('host', 'status', 5)
"""

from __future__ import annotations

from ..relation import STR, Context, Relation, Rows, load, materialize
from ..sql import lit
from . import Command, command, is_true, positive_int
from .stats import grouped, parse_aggregates
from .timebins import ZERO_FILLED


@command("chart")
class Chart(Command):
    """``chart [limit=N] [useother=b] [usenull=b] <functions> [over <x>] [by <x> [<y>]]``."""

    def parse(self) -> None:
        options = self.take_options("limit", "useother", "usenull", "otherstr", "nullstr")
        self.limit = positive_int(self, options.get("limit", "10").removeprefix("top"))
        self.useother = is_true(options.get("useother", "t"))
        self.usenull = is_true(options.get("usenull", "t"))
        self.otherstr = options.get("otherstr", "OTHER")
        self.nullstr = options.get("nullstr", "NULL")
        head, by = self.split_keyword("by")
        self.tokens = head
        head, over = self.split_keyword("over")
        self.aggregates = parse_aggregates(self, head)
        if not self.aggregates:
            raise self.error("You must specify at least one function.")
        over_names, by_names = self.field_names(over), self.field_names(by)
        if over_names:
            if len(over_names) > 1 or len(by_names) > 1:
                raise self.error("Use one field after OVER and at most one after BY.")
            self.over, self.split = over_names[0], (by_names[0] if by_names else None)
        else:
            if len(by_names) > 2:
                raise self.error("The chart command takes at most two BY fields.")
            self.over = by_names[0] if by_names else None
            self.split = by_names[1] if len(by_names) == 2 else None

    def sql(self, rel: Relation, ctx: Context) -> Relation:
        if self.split is None:
            return grouped(rel, self.aggregates, [self.over] if self.over else [])
        source = rel
        if self.usenull:
            split = f"coalesce({rel.text(self.split)}, {lit(self.nullstr)})"
            source = rel.with_column(self.split, split, STR)
        by = [self.over, self.split] if self.over else [self.split]
        cells = materialize(grouped(source, self.aggregates, by), ctx)
        found = list(dict.fromkeys(r[self.split] for r in cells.rows))
        series = sorted(s for s in found if not (self.usenull and s == self.nullstr))
        nulls = [self.nullstr] if self.nullstr in found and self.usenull else []
        kept = series
        if self.limit and len(series) > self.limit:
            first = self.aggregates[0].name
            totals = dict.fromkeys(series, 0.0)
            for row in cells.rows:
                if row[self.split] in totals:
                    totals[row[self.split]] += _number(row.get(first))
            kept = sorted(sorted(series, key=lambda s: -totals[s])[: self.limit])
            if self.useother:
                names = ", ".join(lit(s) for s in [*kept, *nulls])
                value = source.text(self.split)
                other = f"CASE WHEN {value} IN ({names}) THEN {value} ELSE {lit(self.otherstr)} END"
                source = source.with_column(self.split, other, STR)
                cells = materialize(grouped(source, self.aggregates, by), ctx)
                return load(self._pivot(cells, [*kept, *nulls, self.otherstr]), ctx)
        return load(self._pivot(cells, [*kept, *nulls]), ctx)

    def _pivot(self, cells: Rows, series: list[str]) -> Rows:
        columns = [
            (agg, s, s if len(self.aggregates) == 1 else f"{agg.name}: {s}")
            for agg in self.aggregates
            for s in series
        ]
        rows: dict[object, dict] = {}
        for cell in cells.rows:
            if cell[self.split] not in series:
                continue
            key = cell.get(self.over) if self.over else None
            row = rows.setdefault(key, {self.over: key} if self.over else {})
            for agg, s, name in columns:
                if s == cell[self.split] and cell.get(agg.name) is not None:
                    row[name] = cell[agg.name]
        for row in rows.values():
            for agg, _, name in columns:
                if name not in row and agg.function in ZERO_FILLED:
                    row[name] = 0
        fields = ([self.over] if self.over else []) + [name for _, _, name in columns]
        return Rows(list(rows.values()), fields)


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0
