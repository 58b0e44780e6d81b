"""Splunk's field names for JSON documents: the one ``flatten`` (``KV_MODE=json``, ``spath``).

Objects nest with ``.`` and arrays add ``{}``. A name with ``{}`` is always multivalue (a list,
even when it holds one value), any other name is one string, so a field's type depends on its
name only, never on the data. Values are Splunk's text (``"true"``, ``"80"``, ``"1.5"``); JSON
nulls, empty objects and empty arrays produce no field, as in Splunk.

Both the toolkit (:func:`helpers.cloudtrail.flatten`) and the local Splunk's SPL engine use it,
so a field a notebook sees is the field a search sees.

>>> flatten({"a": {"b": 1}, "c": [{"d": "x"}, {"d": "y"}], "e": [True], "f": None})
{'a.b': '1', 'c{}.d': ['x', 'y'], 'e{}': ['true']}
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["flatten", "scalar_text"]


def scalar_text(value: Any) -> str:
    """A JSON scalar as Splunk extracts it.

    >>> scalar_text(True), scalar_text(12), scalar_text(1.5), scalar_text("text")
    ('true', '12', '1.5', 'text')
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def flatten(doc: Any) -> dict[str, str | list[str]]:
    """Every leaf of a JSON document under its Splunk field name (see the module docstring).

    >>> flatten({"items": [{"cidrIp": "0.0.0.0/0"}], "readOnly": False})
    {'items{}.cidrIp': ['0.0.0.0/0'], 'readOnly': 'false'}
    """
    out: dict[str, list[str]] = {}

    def walk(value: Any, name: str) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, f"{name}.{key}" if name else str(key))
        elif isinstance(value, list):
            for inner in value:
                walk(inner, name + "{}")
        elif value is not None:
            out.setdefault(name, []).append(scalar_text(value))

    walk(doc, "")
    return {k: v if "{}" in k else v[0] for k, v in out.items() if k}
