"""What every incident consumer (tickets, Slack threads, remediation) agrees on.

An incident is a mapping or an object carrying the fields a detection puts on its results
(``detection``, ``resource``, ``account``, ``dedup_key``...).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["dedup_key", "field"]


def field(incident: Any, *names: str, default: Any = None) -> Any:
    """The first present, non-empty attribute or key of an incident.

    >>> field({"resource": "", "group_id": "sg-1"}, "resource", "group_id")
    'sg-1'
    """
    for name in names:
        if isinstance(incident, Mapping):
            value = incident.get(name)
        else:
            value = getattr(incident, name, None)
        if value not in (None, ""):
            return value
    return default


def dedup_key(incident: Any) -> str:
    """The incident's dedup key: its own, else ``detection:resource:account``.

    It keys the Jira ticket, the Slack thread and remediation idempotency alike.

    >>> dedup_key({"detection": "cloudtrail_stopped", "resource": "trail", "account": "1234"})
    'cloudtrail_stopped:trail:1234'
    """
    key = field(incident, "dedup_key")
    if key:
        return str(key)
    parts = [field(incident, n, default="-") for n in ("detection", "resource", "account")]
    return ":".join(str(p) for p in parts)
