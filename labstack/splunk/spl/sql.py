"""Small helpers for writing DuckDB SQL text.

>>> ident('userIdentity.arn'), lit("it's")
('"userIdentity.arn"', "'it''s'")
>>> ilike("*Security_Group*")
"ILIKE '%Security\\\\_Group%' ESCAPE '\\\\'"
>>> like_pattern("*Security_Group*")
'%Security\\\\_Group%'
"""

from __future__ import annotations

import functools
import ipaddress

_BLANKS = "' ' || chr(9) || chr(10) || chr(13)"
_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
# Numbers as Splunk prints them: 3 not 3.0, 2.5 as 2.5.
SETUP = [
    "CREATE OR REPLACE TEMP MACRO spl_num(x) AS CASE WHEN x IS NULL THEN NULL "
    "WHEN x = trunc(x) AND abs(x) < 1e15 THEN CAST(CAST(x AS BIGINT) AS VARCHAR) "
    "ELSE CAST(x AS VARCHAR) END",
    # The eval path's exact twins of functions.as_number and relation.to_text.
    "CREATE OR REPLACE TEMP MACRO spl_tonum(x) AS CASE "
    "WHEN regexp_full_match(x, '[ \\t\\n\\r]*[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)"
    "([eE][+-]?[0-9]+)?[ \\t\\n\\r]*') AND NOT isinf(CAST(trim(x, " + _BLANKS + ") AS DOUBLE)) "
    "THEN CAST(trim(x, " + _BLANKS + ") AS DOUBLE) END",
    "CREATE OR REPLACE TEMP MACRO spl_text(x) AS CASE WHEN x IS NULL THEN NULL "
    "WHEN x = trunc(x) AND abs(x) < 1e15 THEN CAST(CAST(x AS BIGINT) AS VARCHAR) "
    "ELSE spl_float_text(x) END",
    # A dotted IPv4 address as Python's ipaddress reads it (no leading zeros), as a number.
    "CREATE OR REPLACE TEMP MACRO spl_ipv4(x) AS CASE WHEN regexp_full_match(x, "
    f"'{_OCTET}(\\.{_OCTET}){{3}}') "
    "THEN CAST(split_part(x, '.', 1) AS BIGINT) * 16777216 + CAST(split_part(x, '.', 2) AS BIGINT) "
    "* 65536 + CAST(split_part(x, '.', 3) AS BIGINT) * 256 + CAST(split_part(x, '.', 4) AS BIGINT) "
    "END",
    # A JSON field as the Python path extracts it: objects and arrays are not values.
    "CREATE OR REPLACE TEMP MACRO spl_scalar(v, doc, path) AS CASE "
    "WHEN (starts_with(v, '{') OR starts_with(v, '[')) "
    "AND json_type(doc, path) IN ('OBJECT', 'ARRAY') THEN NULL ELSE v END",
    "CREATE OR REPLACE TEMP MACRO spl_values(doc, path) AS list_transform(list_filter("
    "json_extract(doc, path), lambda j: json_type(j) NOT IN ('OBJECT', 'ARRAY', 'NULL')), "
    "lambda j: j->>'$')",
    "CREATE OR REPLACE TEMP MACRO spl_list(x, doc, path) AS CASE "
    "WHEN x IS NULL OR len(x) = 0 THEN NULL "
    "WHEN list_bool_or(list_transform(x, lambda v: v IS NULL OR starts_with(v, '{') "
    "OR starts_with(v, '['))) THEN (CASE WHEN len(spl_values(doc, path)) > 0 "
    "THEN spl_values(doc, path) END) ELSE x END",
]


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def like_pattern(value: str) -> str:
    """A Splunk wildcard value as a LIKE pattern (``*`` matches anything)."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%")


def ilike(value: str) -> str:
    """``ILIKE 'pattern'`` for a Splunk wildcard value; ESCAPE only when the value needs it."""
    pattern = like_pattern(value)
    return f"ILIKE {lit(pattern)}" + (" ESCAPE '\\'" if "\\" in pattern else "")


def is_number(text: str) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return text.strip().lower() not in ("nan", "inf", "-inf", "infinity", "+inf")


@functools.lru_cache(maxsize=65536)
def _cidrmatch(cidr: str | None, ip: str | None) -> bool | None:
    if cidr is None or ip is None:
        return None
    try:
        network = ipaddress.ip_network(cidr, strict=False)
        return ipaddress.ip_address(ip.strip()) in network
    except ValueError:
        return False


def _float_text(x: float) -> str:
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


def register_functions(con) -> None:
    """The Python functions SQL calls where only Python gives the exact answer (once per
    DuckDB database: its cursors share them)."""
    udfs = [
        ("spl_cidrmatch", _cidrmatch, ["VARCHAR", "VARCHAR"], "BOOLEAN"),
        ("spl_py_lower", str.lower, ["VARCHAR"], "VARCHAR"),
        ("spl_py_upper", str.upper, ["VARCHAR"], "VARCHAR"),
        ("spl_float_text", _float_text, ["DOUBLE"], "VARCHAR"),
    ]
    for name, fn, args, result in udfs:
        special = "special" if name == "spl_cidrmatch" else "default"
        con.create_function(name, fn, args, result, null_handling=special, side_effects=False)
