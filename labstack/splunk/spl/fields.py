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

from helpers.runtime.fields import flatten as flatten  # the one flatten (re-exported)
from helpers.runtime.fields import scalar_text as scalar_text


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
