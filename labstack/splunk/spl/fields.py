"""Splunk's names for JSON fields, in Python (flatten) and in DuckDB SQL (json paths).

Objects nest with dots and arrays add ``{}``; a name with ``{}`` is multivalue.

>>> flatten({"a": {"b": 1}, "c": [{"d": "x"}, {"d": "y"}], "e": None})
{'a.b': '1', 'c{}.d': ['x', 'y']}
>>> json_path("requestParameters.items{}.cidrIp")
'$."requestParameters"."items"[*]."cidrIp"'
"""

from __future__ import annotations

import json
import re
from typing import Any


def scalar_text(value: Any) -> str:
    """JSON scalars as Splunk extracts them: ``true``, ``12``, ``1.5``, ``text``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def flatten(doc: Any) -> dict[str, str | list[str]]:
    """Every leaf of a JSON document under its Splunk field name (JSON nulls are left out)."""
    out: dict[str, list[str]] = {}

    def walk(value: Any, name: str) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, f"{name}.{key}" if name else key)
        elif isinstance(value, list):
            for inner in value:
                walk(inner, name + "{}")
        elif value is not None:
            out.setdefault(name, []).append(scalar_text(value))

    walk(doc, "")
    return {k: v if "{}" in k else v[0] for k, v in out.items() if k}


def parse_json_object(raw: str) -> dict | None:
    """The event's JSON object, or None for events that are not JSON objects."""
    if not raw.lstrip().startswith("{"):
        return None
    try:
        doc = json.loads(raw)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def json_path(field: str) -> str:
    """The DuckDB JSON path for a Splunk field name (``{}`` becomes ``[*]``)."""
    parts = []
    for piece in re.split(r"\.(?![^{]*})", field):
        key, braces = re.match(r"(.*?)((?:\{\})*)$", piece).groups()
        parts.append('"' + key.replace('"', '\\"') + '"' + "[*]" * (len(braces) // 2))
    return "$." + ".".join(parts)
