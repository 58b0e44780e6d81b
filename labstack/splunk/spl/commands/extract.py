"""``rex``, ``spath`` and ``fillnull``: fields from text, from JSON, and for missing values.

>>> rows = Rows([{"_raw": "user=alice src=10.0.0.1"}], ["_raw"])
>>> Rex("rex", '"user=(?<user>\\\\w+)"').run(rows, None).rows[0]["user"]
'alice'
"""

from __future__ import annotations

import json
import re

from ..fields import flatten, scalar_text
from ..lexer import STRING, WORD
from ..regexes import RegexError, compile_regex
from ..relation import Context, Rows, to_text
from . import Command, command, positive_int


@command("rex")
class Rex(Command):
    """Extract named groups with a regex: ``rex field=userAgent "^(?<tool>[^/]+)/"``;
    ``max_match=0`` for all matches (multivalue); ``mode=sed "s/x/y/g"`` rewrites the field."""

    def parse(self) -> None:
        options = self.take_options("field", "max_match", "mode")
        self.field = options.get("field", "_raw")
        self.max_match = positive_int(self, options.get("max_match", "1"))
        self.sed = options.get("mode") == "sed"
        if len(self.tokens) != 1 or self.tokens[0].kind not in (STRING, WORD):
            raise self.error('The regex is missing or malformed; quote it: rex "(?<name>...)".')
        text = self.tokens[0].value
        if self.sed:
            self.sed_parts = self._sed(text)
            return
        try:
            self.regex = compile_regex(text)
        except RegexError as exc:
            raise self.error(
                f"Encountered the following error while compiling the regex '{text}': {exc.msg}."
            ) from None
        if not self.regex.groupindex:
            raise self.error(
                f"The regex '{text}' does not extract anything. "
                "It should specify at least one named group. Format: (?<name>...)."
            )

    def _sed(self, text: str):
        match = re.fullmatch(r"s/((?:\\.|[^/])*)/((?:\\.|[^/])*)/(g|\d*)", text)
        if not match:
            raise self.error(
                f"Failed to initialize sed. Failed to parse the replacement string '{text}'."
            )
        pattern, replacement, flag = match.groups()
        count = 0 if flag == "g" else int(flag or 1)
        try:
            regex = compile_regex(pattern)
        except RegexError as exc:
            raise self.error(
                f"Failed to initialize sed. The regex '{pattern}' is invalid: {exc.msg}."
            ) from None
        return regex, re.sub(r"\\(\d)", r"\\\1", replacement), count

    def run(self, rows: Rows, ctx: Context) -> Rows:
        for row in rows.rows:
            value = row.get(self.field)
            if value is None:
                continue
            text = to_text(value[0] if isinstance(value, list) else value)
            if self.sed:
                regex, replacement, count = self.sed_parts
                row[self.field] = regex.sub(replacement, text, count=count)
                continue
            found: dict[str, list] = {}
            for n, match in enumerate(self.regex.finditer(text)):
                if self.max_match and n >= self.max_match:
                    break
                for name, group in match.groupdict().items():
                    if group is not None:
                        found.setdefault(name, []).append(group)
            for name, values in found.items():
                row[name] = values[0] if len(values) == 1 else values
        if not self.sed:
            rows.add_fields(n for n in self.regex.groupindex if any(n in r for r in rows.rows))
        return rows


def json_at(doc, path: str) -> list:
    """Values at a Splunk JSON path (``a.b{}.c``, ``a{0}``); objects come back as JSON text."""
    current = [doc]
    for step in re.findall(r"[^.{}]+|\{\d*\}", path):
        following = []
        for node in current:
            if step.startswith("{"):
                if isinstance(node, list):
                    following.extend(
                        node if step == "{}" else node[int(step[1:-1]) : int(step[1:-1]) + 1]
                    )
            elif isinstance(node, dict) and step in node:
                following.append(node[step])
        current = following
    return [
        json.dumps(v, separators=(",", ":")) if isinstance(v, dict | list) else scalar_text(v)
        for v in current
        if v is not None
    ]


@command("spath")
class Spath(Command):
    """Extract from JSON: ``spath`` (every field), ``spath path=a.b{}.c output=c``,
    ``spath input=json_field``."""

    def parse(self) -> None:
        options = self.take_options("input", "output", "path")
        self.input = options.get("input", "_raw")
        self.path = options.get("path")
        if self.path is None and self.tokens:
            self.path = self.tokens.pop(0).value
        if self.tokens:
            raise self.error(f"Invalid argument: '{self.tokens[0].value}'.")
        self.output = options.get("output", self.path)

    def run(self, rows: Rows, ctx: Context) -> Rows:
        added = []
        for row in rows.rows:
            value = row.get(self.input)
            try:
                doc = json.loads(to_text(value[0] if isinstance(value, list) else value))
            except (TypeError, ValueError):
                continue
            if self.path is None:
                extracted = flatten(doc) if isinstance(doc, dict | list) else {}
                row.update(extracted)
                added.extend(extracted)
            elif values := json_at(doc, self.path):
                row[self.output] = values if "{}" in self.path or len(values) > 1 else values[0]
        rows.add_fields(
            added
            if self.path is None
            else [self.output]
            if any(self.output in r for r in rows.rows)
            else []
        )
        return rows


@command("fillnull")
class Fillnull(Command):
    """Give missing values a value (default 0): ``fillnull value="n/a" user src``."""

    def parse(self) -> None:
        self.value = self.take_options("value").get("value", "0")
        self.fields = self.field_names()

    def run(self, rows: Rows, ctx: Context) -> Rows:
        fields = self.fields or [f for f in rows.fields if not f.startswith("_")]
        for row in rows.rows:
            for name in fields:
                if row.get(name) in (None, ""):
                    row[name] = self.value
        rows.add_fields(fields)
        return rows
