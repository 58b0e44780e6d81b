"""``lookup``, ``append`` and ``join``: results combined with a CSV table or a subsearch.

>>> rows = Rows([{"user": "alice"}], ["user"])
>>> j = Join("join", "type=left user [| makeresults]")
>>> (j.kind, j.fields)
('left', ['user'])
"""

from __future__ import annotations

import pandas as pd

from ..relation import LIST, NUM, STR, Context, Relation, Rows, to_text
from ..sql import ident
from . import Command, command, is_true, positive_int
from .generating import csv_rows


def _key(value) -> tuple:
    text = to_text(value)
    return tuple(text) if isinstance(text, list) else (text,)


@command("lookup")
class Lookup(Command):
    """Add fields from a CSV lookup: ``lookup users.csv user AS userName OUTPUT team, owner``.

    Matching is exact and case-sensitive; several matching rows give multivalue outputs.
    ``OUTPUT`` overwrites fields, ``OUTPUTNEW`` only fills missing ones; no clause = all columns.
    """

    def parse(self) -> None:
        self.take_options("local", "update")
        if not self.tokens:
            raise self.error(
                "Usage: lookup <table> <field> [AS <field>] [OUTPUT|OUTPUTNEW <field>...]."
            )
        self.table = self.tokens.pop(0).value
        split = next(
            (i for i, t in enumerate(self.tokens) if t.is_keyword("output", "outputnew")), None
        )
        head = self.tokens if split is None else self.tokens[:split]
        tail = [] if split is None else self.tokens[split + 1 :]
        self.only_new = split is not None and self.tokens[split].is_keyword("outputnew")
        self.inputs = self._pairs(head)
        self.outputs = self._pairs(tail)
        if not self.inputs:
            raise self.error(
                f"Could not construct lookup '{self.table}'. See search.log for more details."
            )

    def _pairs(self, tokens) -> list[tuple[str, str]]:
        names = [t for t in tokens if not t.is_op(",")]
        pairs, i = [], 0
        while i < len(names):
            if i + 2 < len(names) and names[i + 1].is_keyword("as"):
                pairs.append((names[i].value, names[i + 2].value))
                i += 3
            else:
                pairs.append((names[i].value, names[i].value))
                i += 1
        return pairs

    def _table(self, ctx: Context) -> Rows:
        try:
            return csv_rows(ctx.store.get_lookup(self.table))
        except KeyError:
            names = ", ".join([self.table, *(i for i, _ in self.inputs)])
            raise self.error(
                f"Could not construct lookup '{names}'. See search.log for more details."
            ) from None

    def sql(self, rel: Relation, ctx: Context) -> Relation | None:
        """A join with the table, when each key gives at most one value per output (then the
        output is one value or none, as in the Python path) and the keys are single values."""
        if len(self.inputs) != 1:
            return None
        (column, local), table = self.inputs[0], self._table(ctx)
        expr, kind = rel.field(local)
        if kind == LIST:
            return None
        outputs = self.outputs or [(f, f) for f in table.fields if f != column]
        found: dict[str, list[dict]] = {}
        for entry in table.rows:
            if entry.get(column) is None:
                return None  # an empty key cell matches results without the field: Python
            found.setdefault(entry[column], []).append(entry)
        keys, values = list(found), {t: [] for _, t in outputs}
        for key in keys:
            for out, target in outputs:
                distinct = {m[out] for m in found[key] if m.get(out) is not None}
                if len(distinct) > 1:
                    return None  # a multivalue output: Python
                values[target].append(next(iter(distinct), None))
        targets = [t for _, t in outputs]
        frame = pd.DataFrame({"__key": keys, **{f"__o{i}": values[t] for i, t in
                              enumerate(targets)}}, dtype=object)  # fmt: skip
        name = ctx.register("lookup", frame)
        key = f"spl_text(CAST({expr} AS DOUBLE))" if kind == NUM else expr
        source = rel.with_column("__key", key, STR)
        selects = []
        for i, target in enumerate(targets):
            found_value = f"CAST(lk.__o{i} AS VARCHAR)"
            if self.only_new:
                current = source.field(target)[0] if target in rel.kinds else None
                found_value = f"coalesce({current}, {found_value})" if current else found_value
            selects.append(f"{found_value} AS {ident(target)}")
        kept = ["__key", *(t for t in targets if t in rel.kinds)]
        sql = (
            f"SELECT rel.* EXCLUDE ({', '.join(ident(k) for k in kept)}), {', '.join(selects)} "
            f"FROM ({source.sql}) AS rel LEFT JOIN {name} AS lk ON lk.__key = rel.__key"
        )
        kinds = {**rel.kinds, **dict.fromkeys(targets, STR)}
        added = (*rel.added, *(t for t in targets if t not in rel.kinds and t not in rel.added))
        return Relation(sql, kinds, rel.order, rel.events, added, rel.columns, rel.wanted)

    def run(self, rows: Rows, ctx: Context) -> Rows:
        table = self._table(ctx)
        outputs = self.outputs or [
            (f, f) for f in table.fields if f not in {i for i, _ in self.inputs}
        ]
        index: dict[tuple, list[dict]] = {}
        for entry in table.rows:
            index.setdefault(tuple(entry.get(i) for i, _ in self.inputs), []).append(entry)
        for row in rows.rows:
            keys = [
                _key(row.get(local)) if row.get(local) is not None else (None,)
                for _, local in self.inputs
            ]
            matches = [e for combo in _product(keys) for e in index.get(combo, [])]
            for column, target in outputs:
                if self.only_new and row.get(target) is not None:
                    continue
                values = list(
                    dict.fromkeys(m[column] for m in matches if m.get(column) is not None)
                )
                if values:
                    row[target] = values[0] if len(values) == 1 else values
                else:
                    row.pop(target, None)
        rows.add_fields(t for _, t in outputs if any(t in r for r in rows.rows))
        return rows


def _product(keys: list[tuple]) -> list[tuple]:
    combos = [()]
    for options in keys:
        combos = [(*c, o) for c in combos for o in options]
    return combos


@command("append")
class Append(Command):
    """Add a subsearch's results after the current ones: ``append [search index=other]``."""

    def parse(self) -> None:
        self.text = self.subsearch()
        self.take_options("extendtimerange", "maxtime", "maxout", "timeout")

    def run(self, rows: Rows, ctx: Context) -> Rows:
        extra = ctx.run_subsearch(self.text)
        return Rows(rows.rows + extra.rows, list(dict.fromkeys(rows.fields + extra.fields)))


@command("join")
class Join(Command):
    """Join a subsearch on fields: ``join type=left user [search index=hr | fields user dept]``.

    ``type`` is inner (default), left or outer (same as left); ``max`` matches per row (default
    1, 0 = all); without fields, the fields both sides share are used.
    """

    def parse(self) -> None:
        self.text = self.subsearch()
        options = self.take_options("type", "max", "overwrite")
        self.kind = options.get("type", "inner").lower()
        if self.kind not in ("inner", "left", "outer"):
            raise self.error(f"Invalid join type '{self.kind}'; use inner, left or outer.")
        self.max = positive_int(self, options.get("max", "1"))
        self.overwrite = is_true(options.get("overwrite", "t"))
        self.fields = self.field_names()

    def run(self, rows: Rows, ctx: Context) -> Rows:
        other = ctx.run_subsearch(self.text)
        fields = self.fields or [
            f for f in rows.fields if f in other.fields and not f.startswith("_")
        ]
        index: dict[tuple, list[dict]] = {}
        for entry in other.rows:
            if all(entry.get(f) is not None for f in fields):
                index.setdefault(tuple(_key(entry[f]) for f in fields), []).append(entry)
        joined = []
        for row in rows.rows:
            key = (
                tuple(_key(row[f]) for f in fields)
                if all(row.get(f) is not None for f in fields)
                else None
            )
            matches = index.get(key, []) if key is not None else []
            matches = matches[: self.max] if self.max else matches
            if not matches and self.kind != "inner":
                joined.append(row)
            for match in matches:
                merged = {**row, **match} if self.overwrite else {**match, **row}
                joined.append(merged)
        return Rows(joined, list(dict.fromkeys(rows.fields + other.fields)))
