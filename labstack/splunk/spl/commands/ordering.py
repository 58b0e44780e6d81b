"""``sort``, ``head``, ``tail`` and ``dedup``: which results, in which order.

Sorting compares numbers numerically and before strings, strings lexicographically, and puts
missing values last (Search Reference, "sort"); descending (``-``) reverses the order of the
values, and missing values stay last.

>>> rows = Rows([{"n": "10"}, {"n": "9"}, {"n": "b"}, {}], ["n"])
>>> [r.get("n") for r in Sort("sort", "n").run(rows, None).rows]
['9', '10', 'b', None]
>>> [r.get("n") for r in Sort("sort", "- n").run(rows, None).rows]
['b', '10', '9', None]
"""

from __future__ import annotations

from ..functions import as_number
from ..lexer import WORD
from ..relation import NUM, Context, Relation, Rows, to_text
from . import Command, command, is_true, positive_int

SORT_LIMIT = 10000


def sort_key(value, how: str = "auto"):
    """Key for one value: numbers first (numerically), then strings."""
    if isinstance(value, list):
        value = value[0] if value else None
    number = None if how == "str" else as_number(value)
    if number is not None:
        return (0, number, "")
    return (1, 0, to_text(value) if value is not None else "")


@command("sort")
class Sort(Command):
    """``sort [N] [-|+]field ...``; ``-`` descending, ``num(f)``/``str(f)`` force a kind."""

    def parse(self) -> None:
        self.limit = SORT_LIMIT
        options = self.take_options("limit")
        tokens = [t for t in self.tokens if not t.is_op(",")]
        if tokens and tokens[0].kind == WORD and tokens[0].value.isdigit():
            self.limit = int(tokens.pop(0).value)
        self.limit = positive_int(self, options.get("limit", str(self.limit)))
        self.keys, descending, how = [], False, "auto"
        i = 0
        while i < len(tokens):
            t = tokens[i]
            if t.value in ("-", "+"):
                descending = t.value == "-"
            elif (
                t.kind == WORD
                and t.value.lower() in ("num", "str", "auto", "ip")
                and i + 1 < len(tokens)
                and tokens[i + 1].is_op("(")
            ):
                how = t.value.lower()
                i += 1
            elif t.is_op(")"):
                pass
            elif t.is_keyword("d", "desc"):
                self.keys = [(f, not d, h) for f, d, h in self.keys]
            else:
                name = t.value
                if name[:1] in ("-", "+") and len(name) > 1:
                    descending, name = name[0] == "-", name[1:]
                self.keys.append((name, descending, how))
                descending, how = False, "auto"
            i += 1
        if not self.keys:
            raise self.error("Did not find value for required attribute 'field-list'.")

    def sql(self, rel: Relation, ctx: Context) -> Relation:
        keys = []
        for name, descending, how in self.keys:
            expr, kind = rel.field(name)
            text = rel.text(name)
            number = (
                "NULL" if how == "str" else expr if kind == NUM else f"TRY_CAST({text} AS DOUBLE)"
            )
            way = " DESC" if descending else ""
            keys += [
                f"({expr} IS NULL)",
                f"({number} IS NULL){way}",
                f"{number}{way}",
                f"{text}{way}",
            ]
        if rel.order:
            keys.append(rel.order)  # ties keep their order, as a stable sort would
        column = ctx.unique("__sort")
        limit = f" QUALIFY {column} <= {self.limit}" if self.limit else ""
        ordered = f"row_number() OVER (ORDER BY {', '.join(keys)}) AS {column}"
        sql = f"SELECT *, {ordered} FROM ({rel.sql}) AS rel{limit}"
        return Relation(sql, rel.kinds, column, rel.events)

    def run(self, rows: Rows, ctx: Context) -> Rows:
        ordered = list(rows.rows)
        for name, descending, how in reversed(self.keys):
            present = [r for r in ordered if r.get(name) is not None]
            present.sort(key=lambda r: sort_key(r[name], how), reverse=descending)
            ordered = present + [r for r in ordered if r.get(name) is None]
        return Rows(ordered[: self.limit] if self.limit else ordered, rows.fields)


def _count(cmd: Command) -> int:
    options = cmd.take_options("limit")
    if cmd.tokens:
        if len(cmd.tokens) > 1 or "limit" in options:
            raise cmd.error("The argument must be a positive number.")
        options["limit"] = cmd.tokens[0].value
    return positive_int(cmd, options.get("limit", "10"))


@command("head")
class Head(Command):
    """The first N results (default 10): ``head 5``."""

    def parse(self) -> None:
        self.count = _count(self)

    def sql(self, rel: Relation, ctx: Context) -> Relation:
        return rel.wrap(f"SELECT * FROM {{rel}}{rel.order_by} LIMIT {self.count}", rel.kinds)

    def run(self, rows: Rows, ctx: Context) -> Rows:
        return Rows(rows.rows[: self.count], rows.fields)


@command("tail")
class Tail(Command):
    """The last N results (default 10), last first: ``tail 5``."""

    def parse(self) -> None:
        self.count = _count(self)

    def run(self, rows: Rows, ctx: Context) -> Rows:
        return Rows(rows.rows[::-1][: self.count], rows.fields)


@command("dedup")
class Dedup(Command):
    """Keep the first N results (default 1) per combination of values: ``dedup 2 user src``.
    Results missing any of the fields are dropped unless ``keepempty=true``; ``sortby -_time``
    sorts what is kept."""

    def parse(self) -> None:
        self.tokens, sortby = self.split_keyword("sortby")
        self.sortby = Sort(self.name, "0 " + " ".join(t.value for t in sortby)) if sortby else None
        options = self.take_options("keepempty", "consecutive")
        self.keepempty = is_true(options.get("keepempty", "f"))
        self.consecutive = is_true(options.get("consecutive", "f"))
        self.count = 1
        if self.tokens and self.tokens[0].kind == WORD and self.tokens[0].value.isdigit():
            self.count = positive_int(self, self.tokens.pop(0).value)
        self.fields = self.field_names()
        if not self.fields:
            raise self.error("Did not find value for required attribute 'field-list'.")

    def run(self, rows: Rows, ctx: Context) -> Rows:
        seen: dict[tuple, int] = {}
        kept, previous = [], None
        for row in rows.rows:
            values = [row.get(f) for f in self.fields]
            if any(v is None for v in values):
                if self.keepempty:
                    kept.append(row)
                continue
            key = tuple(tuple(v) if isinstance(v, list) else v for v in values)
            if self.consecutive:
                if key != previous:
                    kept.append(row)
                previous = key
                continue
            seen[key] = seen.get(key, 0) + 1
            if seen[key] <= self.count:
                kept.append(row)
        kept_rows = Rows(kept, rows.fields)
        return self.sortby.run(kept_rows, ctx) if self.sortby else kept_rows
