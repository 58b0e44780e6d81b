"""``search``, ``where`` and ``eval``.

>>> Where("where", "count > 1").run(Rows([{"count": 2}, {"count": 1}], ["count"]), None).rows
[{'count': 2}]
"""

from __future__ import annotations

from ..eval_expr import fields_of, parse_eval, to_python
from ..eval_sql import BOOL, NULL, NoSQL, bind_fields, to_sql, truth_sql
from ..functions import truth
from ..lexer import read_quoted
from ..relation import LIST, NUM, STR, Context, Relation, Rows
from ..search_expr import parse_search
from . import Command, command


@command("search")
class Search(Command):
    """Filter with a search expression: ``search eventName=*SecurityGroup* NOT user=admin``."""

    def __init__(self, name: str, args: str):
        self.name = name
        self.expr = parse_search(args)

    def sql(self, rel: Relation, ctx: Context) -> Relation:
        return rel.wrap(f"SELECT * FROM {{rel}} WHERE {self.expr.sql(rel, ctx)}", rel.kinds)


@command("where")
class Where(Command):
    """Keep rows whose eval expression is true: ``where count > 5 AND user!="root"``."""

    def __init__(self, name: str, args: str):
        self.name = name
        self.node = parse_eval(args, name)
        self.expr = to_python(self.node, name)

    def sql(self, rel: Relation, ctx: Context) -> Relation | None:
        try:
            source, bound = bind_fields(rel, self.node, ctx)
            test = truth_sql(to_sql(self.node, source, ctx, bound))
        except NoSQL:
            return None  # the Python path: run()
        return source.wrap(f"SELECT * FROM {{rel}} WHERE coalesce({test}, FALSE)", rel.kinds)

    def run(self, rows: Rows, ctx: Context) -> Rows:
        return Rows([r for r in rows.rows if truth(self.expr(r, ctx)) is True], rows.fields)


def split_top_level(text: str, separator: str = ",") -> list[str]:
    """Split at separators outside quotes and parentheses."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            i = read_quoted(text, i)[1]
            continue
        if ch == "'":
            i = text.find("'", i + 1) + 1 or len(text)
            continue
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == separator and depth == 0:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return parts


@command("eval")
class Eval(Command):
    """Compute fields in order: ``eval mb=bytes/1024/1024, label=if(mb>1, "big", "small")``."""

    def __init__(self, name: str, args: str):
        self.name = name
        self.assignments, self.nodes = [], []
        for part in split_top_level(args):
            target, eq, expr = part.partition("=")
            target = target.strip().strip("'\"")
            if not eq or not target or expr.startswith("="):
                raise self.error(
                    f"The expression is malformed. An unexpected character is reached at "
                    f"'{part.strip()}'."
                )
            node = parse_eval(expr, name)
            self.nodes.append((target, node))
            self.assignments.append((target, to_python(node, name)))

    def sql(self, rel: Relation, ctx: Context) -> Relation | None:
        """Each assignment as a column over the previous ones, when all of them have SQL."""
        group: list[tuple[str, str, str]] = []  # assignments that share one SELECT
        targets = {t for t, _ in self.nodes}
        wanted, rel = rel.wanted, rel.reading(None)  # eval reads from the events kept
        try:
            rel, bound = bind_fields(rel, [n for _, n in self.nodes], ctx, skip=targets)
            for target, node in self.nodes:
                if any(t == target or t in fields_of(node) for t, _, _ in group):
                    rel, group = rel.with_columns(group), []  # it reads an earlier one
                expr = to_sql(node, rel, ctx, bound)
                if expr.kind == BOOL:
                    raise NoSQL  # Python says whether a boolean is really assigned
                kind = expr.kind if expr.kind in (NUM, LIST) else STR
                sql = f"CAST({expr.sql} AS VARCHAR)" if expr.kind == NULL else expr.sql
                group.append((target, sql, kind))
        except NoSQL:
            return None
        return rel.with_columns(group).reading(wanted)

    def run(self, rows: Rows, ctx: Context) -> Rows:
        for row in rows.rows:
            for target, expr in self.assignments:
                value = expr(row, ctx)
                if isinstance(value, bool):
                    raise self.error(
                        "Fields cannot be assigned a boolean result. "
                        "Instead, try if([bool expr], [expr], [expr])."
                    )
                if value is None:
                    row.pop(target, None)
                else:
                    row[target] = value
        rows.add_fields(t for t, _ in self.assignments if any(t in r for r in rows.rows))
        return rows
