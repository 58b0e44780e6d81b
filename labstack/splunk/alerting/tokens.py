"""Splunk's ``$token$`` substitution in alert action parameters.

``$result.<field>$`` is the field of the result the action handles (the first value of a
multivalue field; empty when the result lacks it); ``$name$``/``$search_name$``,
``$results_link$``, ``$trigger_time$``, ``$app$``, ``$owner$`` and ``$job.sid$`` describe the
alert. Any other ``$...$`` text is left as written.

>>> substitute("$search_name$: $result.user$ from $result.src$ ($price$)",
...            {"search_name": "Lab Alert"}, {"user": ["alice", "bob"]})
'Lab Alert: alice from  ($price$)'
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["substitute"]

_TOKEN = re.compile(r"\$(result\.[^$]+|[A-Za-z_][\w.]*)\$")


def _value(value) -> str:
    if isinstance(value, list):
        value = value[0] if value else None
    return "" if value is None else str(value)


def substitute(text: str, context: Mapping[str, str], row: Mapping | None) -> str:
    """``text`` with its tokens replaced from ``context`` (alert tokens) and ``row``."""

    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name.startswith("result."):
            return _value((row or {}).get(name[len("result.") :]))
        if name in context:
            return context[name]
        return match.group(0)

    return _TOKEN.sub(replace, text or "")
