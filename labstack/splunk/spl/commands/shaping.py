"""``table``, ``fields`` and ``rename``: which fields results carry, in which order, named how.

>>> Rename("rename", "src* AS source_*").run(Rows([{"srcip": "1"}], ["srcip"]), None).rows
[{'source_ip': '1'}]
"""

from __future__ import annotations

from ..relation import Context, Relation, Rows
from ..sql import ident
from . import Command, command, wildcard_regex


def project(rel: Relation, columns: dict[str, tuple[str, str]]) -> Relation:
    """Only ``columns`` (name -> (SQL, kind)), keeping the row order in a hidden ``__ord``."""
    selects = [f"{expr} AS {ident(name)}" for name, (expr, _) in columns.items()]
    selects.append(f"row_number() OVER ({rel.order_by.strip()}) AS __ord")
    kinds = {name: kind for name, (_, kind) in columns.items()}
    return Relation(f"SELECT {', '.join(selects)} FROM ({rel.sql}) AS rel", kinds, "__ord")


def matching(patterns: list[str], fields: list[str]) -> list[str]:
    """Fields matching any pattern, in pattern order then field order; plain names kept."""
    out = []
    for pattern in patterns:
        if "*" in pattern:
            regex = wildcard_regex(pattern)
            out.extend(f for f in fields if regex.match(f) and f not in out)
        elif pattern not in out:
            out.append(pattern)
    return out


def fill_wildcards(template: str, values) -> str:
    """``fill_wildcards("user_*", ["arn"]) == "user_arn"``: each ``*`` takes the next value."""
    values = iter(values)
    return "".join(p if i == 0 else next(values, "") + p for i, p in enumerate(template.split("*")))


@command("table")
class Table(Command):
    """Only the listed fields, in that order (wildcards allowed): ``table _time user src*``."""

    def parse(self) -> None:
        self.patterns = self.field_names()

    def sql(self, rel: Relation, ctx: Context) -> Relation | None:
        if any("*" in p for p in self.patterns):
            return None  # the names wildcards match are known only once events are read
        reader = rel.reading(None)  # the table's fields come from the few events kept
        return project(rel, {n: reader.field(n) for n in dict.fromkeys(self.patterns)})

    def run(self, rows: Rows, ctx: Context) -> Rows:
        fields = matching(self.patterns, rows.fields)
        return Rows([{f: r[f] for f in fields if f in r} for r in rows.rows], fields)


@command("fields")
class Fields(Command):
    """Keep (``fields a b``, internal ``_`` fields stay) or drop (``fields - a b``) fields."""

    def parse(self) -> None:
        self.remove = False
        if self.tokens and self.tokens[0].value in ("+", "-"):
            self.remove = self.tokens.pop(0).value == "-"
        elif (
            self.tokens and self.tokens[0].value[:1] in ("+", "-") and len(self.tokens[0].value) > 1
        ):
            first = self.tokens[0]
            self.remove = first.value[0] == "-"
            self.tokens[0] = type(first)(first.kind, first.value[1:], first.pos)
        self.patterns = self.field_names()
        if not self.patterns:
            raise self.error("Did not find value for required attribute 'field-list'.")

    def run(self, rows: Rows, ctx: Context) -> Rows:
        listed = [f for f in matching(self.patterns, rows.fields) if f in rows.fields]
        if self.remove:
            keep = [f for f in rows.fields if f not in listed]
        else:
            keep = [*listed, *(f for f in rows.fields if f.startswith("_") and f not in listed)]
        return Rows([{f: r[f] for f in keep if f in r} for r in rows.rows], keep)


@command("rename")
class Rename(Command):
    """Rename fields, wildcards carried over: ``rename userIdentity.arn AS user, req* AS r*``."""

    def parse(self) -> None:
        self.pairs = []
        names = [t for t in self.tokens if not t.is_op(",")]
        for i in range(0, len(names), 3):
            chunk = names[i : i + 3]
            if len(chunk) != 3 or not chunk[1].is_keyword("as"):
                raise self.error("Usage: rename [old_name AS new_name]...")
            self.pairs.append((chunk[0].value, chunk[2].value))

    def run(self, rows: Rows, ctx: Context) -> Rows:
        for old, new in self.pairs:
            regex = wildcard_regex(old)
            mapping = {}
            for f in rows.fields:
                if match := regex.match(f):
                    mapping[f] = fill_wildcards(new, match.groups())
            for row in rows.rows:
                moved = {mapping[k]: row.pop(k) for k in list(row) if k in mapping}
                row.update(moved)
            fields = [mapping.get(f, f) for f in rows.fields]
            rows.fields = list(dict.fromkeys(fields))
        return rows
