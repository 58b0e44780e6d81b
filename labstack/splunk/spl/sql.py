"""Small helpers for writing DuckDB SQL text.

>>> ident('userIdentity.arn'), lit("it's")
('"userIdentity.arn"', "'it''s'")
>>> ilike("*Security_Group*")
"ILIKE '%Security\\\\_Group%' ESCAPE '\\\\'"
>>> like_pattern("*Security_Group*")
'%Security\\\\_Group%'
"""

from __future__ import annotations

# Numbers as Splunk prints them: 3 not 3.0, 2.5 as 2.5.
SETUP = [
    "CREATE OR REPLACE TEMP MACRO spl_num(x) AS CASE WHEN x IS NULL THEN NULL "
    "WHEN x = trunc(x) AND abs(x) < 1e15 THEN CAST(CAST(x AS BIGINT) AS VARCHAR) "
    "ELSE CAST(x AS VARCHAR) END",
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
