"""``reverse``, ``regex`` and ``mvexpand``: small row-wise commands detections often use.

>>> rows = Rows([{"ip": ["10.0.0.1", "8.8.8.8"], "n": 1}], ["ip", "n"])
>>> MvExpand("mvexpand", "ip").run(rows, None).rows
[{'ip': '10.0.0.1', 'n': 1}, {'ip': '8.8.8.8', 'n': 1}]
"""

from __future__ import annotations

from ..lexer import STRING, WORD
from ..regexes import RegexError, compile_regex
from ..relation import Context, Rows, to_text
from . import Command, command, positive_int


@command("reverse")
class Reverse(Command):
    """Results in the opposite order: ``... | reverse``."""

    def parse(self) -> None:
        if self.tokens:
            raise self.error(f"Invalid argument: '{self.tokens[0].value}'.")

    def run(self, rows: Rows, ctx: Context) -> Rows:
        return Rows(rows.rows[::-1], rows.fields)


@command("regex")
class Regex(Command):
    """Keep (``=``) or drop (``!=``) results whose field matches a regex:
    ``regex userAgent!="^aws-internal"``; without a field, ``_raw`` is matched."""

    def parse(self) -> None:
        tokens = self.tokens
        self.field, self.keep = "_raw", True
        if len(tokens) == 3 and tokens[0].kind == WORD and tokens[1].is_op("=", "!="):
            self.field, self.keep = tokens[0].value, tokens[1].value == "="
            tokens = tokens[2:]
        if len(tokens) != 1 or tokens[0].kind not in (STRING, WORD):
            raise self.error('Usage: regex [<field>=|!=]"<regex>".')
        try:
            self.regex = compile_regex(tokens[0].value)
        except RegexError as exc:
            raise self.error(f"Invalid regex '{tokens[0].value}': {exc.msg}.") from None

    def run(self, rows: Rows, ctx: Context) -> Rows:
        def matches(row: dict) -> bool:
            value = row.get(self.field)
            values = value if isinstance(value, list) else [] if value is None else [value]
            return any(self.regex.search(to_text(v)) for v in values)

        return Rows([r for r in rows.rows if matches(r) == self.keep], rows.fields)


@command("mvexpand")
class MvExpand(Command):
    """One result per value of a multivalue field: ``mvexpand cidr``."""

    def parse(self) -> None:
        self.limit = positive_int(self, self.take_options("limit").get("limit", "0"))
        names = self.field_names()
        if len(names) != 1:
            raise self.error("Usage: mvexpand <field> [limit=<int>].")
        self.field = names[0]

    def run(self, rows: Rows, ctx: Context) -> Rows:
        out = []
        for row in rows.rows:
            value = row.get(self.field)
            if isinstance(value, list):
                out.extend({**row, self.field: v} for v in value[: self.limit or None])
            else:
                out.append(row)
        return Rows(out, rows.fields)
