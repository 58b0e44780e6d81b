"""Generating commands that start a search: ``makeresults`` and ``inputlookup``;
and ``outputlookup``, which writes results to a lookup.

>>> MakeResults("makeresults", "count=2").run(Rows([], []), type("C", (), {"now": 5})).rows
[{'_time': 5}, {'_time': 5}]
"""

from __future__ import annotations

import csv
import io
import json

from ..limits import MAKERESULTS_MAX
from ..relation import Context, Rows, to_text
from . import Command, command, is_true, positive_int


@command("makeresults")
class MakeResults(Command):
    """``makeresults count=3``, or rows from data: ``makeresults format=csv data="a,b
    1,2"``."""

    generating = True

    def parse(self) -> None:
        options = self.take_options("count", "format", "data")
        if self.tokens:
            raise self.error(f"Invalid argument: '{self.tokens[0].value}'.")
        self.count = positive_int(self, options.get("count", "1"))
        if self.count > MAKERESULTS_MAX:
            raise self.error(
                f"Invalid argument: 'count={self.count}'. The maximum is {MAKERESULTS_MAX} "
                "(limits.conf [makeresults] maxresultrows)."
            )
        self.format, self.data = options.get("format"), options.get("data")
        if self.format not in (None, "csv", "json") or (self.format and self.data is None):
            raise self.error('Invalid format or missing data: use format=csv|json data="...".')

    def run(self, rows: Rows, ctx: Context) -> Rows:
        if self.format == "csv":
            return csv_rows(self.data)
        if self.format == "json":
            try:
                data = json.loads(self.data)
            except ValueError as exc:
                raise self.error(f"Invalid JSON in data: {exc}.") from None
            records = [
                {k: v for k, v in d.items()} for d in (data if isinstance(data, list) else [data])
            ]
            return Rows(records, list(dict.fromkeys(k for r in records for k in r)))
        return Rows([{"_time": int(ctx.now)} for _ in range(self.count)], ["_time"])


def csv_rows(text: str) -> Rows:
    """Rows of a CSV table; empty cells are missing values."""
    reader = csv.DictReader(io.StringIO(text.strip()))
    records = [
        {k: v for k, v in r.items() if k is not None and v not in (None, "")} for r in reader
    ]
    return Rows(records, list(reader.fieldnames or []))


def lookup_rows(cmd: Command, ctx: Context, name: str) -> Rows:
    try:
        return csv_rows(ctx.store.get_lookup(name))
    except KeyError:
        raise cmd.error(
            f"The lookup table '{name}' requires a .csv or KV store lookup definition."
        ) from None


@command("inputlookup")
class InputLookup(Command):
    """The rows of a CSV lookup: ``| inputlookup users.csv``."""

    generating = True

    def parse(self) -> None:
        self.take_options("append")
        if len(self.tokens) != 1:
            raise self.error("Usage: inputlookup <lookup-table-name>.")
        self.table = self.tokens[0].value

    def run(self, rows: Rows, ctx: Context) -> Rows:
        return lookup_rows(self, ctx, self.table)


@command("outputlookup")
class OutputLookup(Command):
    """Write results to a CSV lookup (``append=true`` adds rows): ``outputlookup seen.csv``."""

    def parse(self) -> None:
        self.append = is_true(self.take_options("append").get("append", "f"))
        if len(self.tokens) != 1:
            raise self.error("Usage: outputlookup [append=<bool>] <lookup-table-name>.")
        self.table = self.tokens[0].value

    def run(self, rows: Rows, ctx: Context) -> Rows:
        fields = [f for f in rows.fields if not f.startswith("_")]
        records = [dict(r) for r in rows.rows]
        if self.append:
            try:
                existing = csv_rows(ctx.store.get_lookup(self.table))
                fields = list(dict.fromkeys([*existing.fields, *fields]))
                records = existing.rows + records
            except KeyError:
                pass
        out = io.StringIO()
        writer = csv.DictWriter(out, fields, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for record in records:
            writer.writerow({k: _cell(v) for k, v in record.items() if k in fields})
        ctx.store.put_lookup(self.table, out.getvalue())
        return rows


def _cell(value) -> str:
    text = to_text(value)
    return "\n".join(text) if isinstance(text, list) else text
