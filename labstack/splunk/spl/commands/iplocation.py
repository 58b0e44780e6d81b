"""``iplocation``: City, Country, Region, lat and lon for an IP field (offline GeoLite2).

Each distinct address is looked up once in Python; the answers join back in DuckDB, so the
command stays fast on millions of events.

>>> IpLocation("iplocation", "prefix=src_ sourceIPAddress").outputs[:2]
['src_City', 'src_Country']
"""

from __future__ import annotations

import pandas as pd

from ..geo import ALL_FIELDS, FIELDS, locate
from ..relation import STR, Context, Relation
from ..sql import ident
from . import Command, command, is_true


@command("iplocation")
class IpLocation(Command):
    """``iplocation [prefix=p] [allfields=true] field``."""

    def parse(self) -> None:
        options = self.take_options("prefix", "allfields", "lang")
        if len(self.tokens) != 1:
            raise self.error(
                "Usage: iplocation [prefix=<string>] [allfields=<bool>] <ip-address-fieldname>."
            )
        self.field = self.tokens[0].value
        self.names = ALL_FIELDS if is_true(options.get("allfields", "f")) else FIELDS
        self.outputs = [options.get("prefix", "") + n for n in self.names]
        self.lang = options.get("lang", "en")

    def sql(self, rel: Relation, ctx: Context) -> Relation:
        ip = rel.text(self.field)
        source = rel.with_column("__ip", ip, STR)
        if rel.events and self.field not in rel.kinds and self.field in rel.columns:
            # The store extracted the field for the whole batch: its distinct values there are
            # a superset of the relation's, found without running the relation twice.
            column = rel.columns[self.field]
            distinct = f"SELECT DISTINCT {column} FROM events WHERE {column} IS NOT NULL"
        else:
            distinct = f"SELECT DISTINCT __ip FROM ({source.sql}) AS rel WHERE __ip IS NOT NULL"
        addresses = ctx.con.execute(distinct).fetchall()
        located = {a: locate(a, self.lang) for (a,) in addresses}
        frame = pd.DataFrame(
            {
                "__ip": list(located),
                **{
                    out: [(g or {}).get(n) for g in located.values()]
                    for out, n in zip(self.outputs, self.names, strict=True)
                },
            },
            dtype=object,
        )
        table = ctx.register("geo", frame)
        clashing = [ident(o) for o in self.outputs if o in rel.kinds]
        keep = f"rel.* EXCLUDE ({', '.join(clashing)})" if clashing else "rel.*"
        geo = ", ".join(f"CAST(geo.{ident(o)} AS VARCHAR) AS {ident(o)}" for o in self.outputs)
        sql = (
            f"SELECT {keep}, {geo} FROM ({source.sql}) AS rel LEFT JOIN {table} AS geo USING (__ip)"
        )
        kinds = {**rel.kinds, **dict.fromkeys(self.outputs, STR)}
        return Relation(sql, kinds, rel.order, rel.events, rel.added, rel.columns, rel.wanted)
