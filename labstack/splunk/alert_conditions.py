"""Reading a saved search's alert settings: when it runs, whether it triggers, how it throttles.

Pure functions over the attributes as stored (``saved.content()``), so the scheduler, the
real-time path and ``dispatch`` decide the same way (wire spec 1.7 and 1.10).

>>> triggered({"alert_type": "number of events", "alert_comparator": "greater than",
...            "alert_threshold": "2"}, [{}] * 3)
True
>>> period_seconds("10m"), period_seconds("1h"), period_seconds("30s"), period_seconds("45")
(600.0, 3600.0, 30.0, 45.0)
>>> realtime_window({"dispatch.earliest_time": "rt-30s"})
'-30s'
"""

from __future__ import annotations

import re
from collections.abc import Callable

from labstack.splunk.saved import flag

__all__ = [
    "ConditionError",
    "is_realtime",
    "period_seconds",
    "realtime_window",
    "suppress_key",
    "triggered",
    "validate",
]

COMPARATORS = (
    "greater than",
    "less than",
    "equal to",
    "not equal to",
    "drops by",
    "rises by",
    "drops by perc",
    "rises by perc",
)
_UNITS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
}  # fmt: skip
_PERIOD = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.I)


class ConditionError(ValueError):
    """A saved search's alert settings cannot be read (the message names the attribute)."""


def period_seconds(text: str) -> float:
    """``alert.suppress.period`` / ``alert.expires`` (``30s``, ``10m``, ``1h``, ``2d``; bare
    numbers are seconds) in seconds; ConditionError for anything else."""
    match = _PERIOD.match(str(text or ""))
    if not match or match.group(2).lower() not in {**_UNITS, "": 1}:
        raise ConditionError(f"Invalid time period '{text}' (use e.g. 30s, 10m, 1h, 1d).")
    return float(match.group(1)) * _UNITS.get(match.group(2).lower(), 1)


def is_realtime(attrs: dict) -> bool:
    """Whether the search is a real-time search (``dispatch.earliest_time`` starts with rt)."""
    return str(attrs.get("dispatch.earliest_time") or "").strip().lower().startswith("rt")


def realtime_window(attrs: dict) -> str | None:
    """The window of a real-time search as a relative time (``rt-30s`` -> ``-30s``), or None
    for an all-time real-time search (``rt``)."""
    text = str(attrs.get("dispatch.earliest_time") or "").strip()
    window = text[2:].strip() if text.lower().startswith("rt") else text
    return window or None


ALERT_TYPES = (
    "always",
    "number of events",
    "number of results",
    "number of hosts",
    "number of sources",
    "custom",
)


def validate(attrs: dict) -> None:
    """Reject alert settings Splunk would reject on save; ConditionError names the attribute.

    >>> validate({"cron_schedule": "*/5 * * * *", "alert.suppress.period": "10m"})
    >>> try:
    ...     validate({"alert_comparator": "bigger than"})
    ... except ConditionError as exc:
    ...     print(str(exc)[:52])
    Invalid value for alert_comparator: 'bigger than' (o
    """
    from croniter import croniter

    cron = str(attrs.get("cron_schedule") or "").strip()
    if cron and not croniter.is_valid(cron):
        raise ConditionError(f"Invalid value for cron_schedule: '{cron}'.")
    kind = str(attrs.get("alert_type") or "").strip().lower()
    if kind and kind not in ALERT_TYPES:
        raise ConditionError(
            f"Invalid value for alert_type: '{attrs['alert_type']}' (one of: "
            f"{', '.join(ALERT_TYPES)})."
        )
    comparator = str(attrs.get("alert_comparator") or "").strip().lower()
    if comparator and comparator not in COMPARATORS:
        raise ConditionError(
            f"Invalid value for alert_comparator: '{attrs['alert_comparator']}' (one of: "
            f"{', '.join(COMPARATORS)})."
        )
    _number(attrs, "alert_threshold")
    for key in ("alert.suppress.period", "alert.expires"):
        if str(attrs.get(key) or "").strip():
            try:
                period_seconds(attrs[key])
            except ConditionError as exc:
                raise ConditionError(f"Invalid value for {key}: {exc}") from None


def _number(attrs: dict, key: str) -> float:
    value = str(attrs.get(key) or "").strip().rstrip("%")
    try:
        return float(value) if value else 0.0
    except ValueError:
        raise ConditionError(f"{key} must be a number, got '{attrs.get(key)}'.") from None


def measure(attrs: dict, rows: list[dict]) -> int:
    """The number ``alert_type`` counts: events/results, or distinct hosts or sources."""
    kind = str(attrs.get("alert_type") or "always").strip().lower()
    if kind == "number of hosts":
        return len({str(r.get("host")) for r in rows if r.get("host") is not None})
    if kind == "number of sources":
        return len({str(r.get("source")) for r in rows if r.get("source") is not None})
    return len(rows)


def triggered(
    attrs: dict,
    rows: list[dict],
    previous: int | None = None,
    custom: Callable[[str, list[dict]], bool] | None = None,
) -> bool:
    """Whether a run with these result ``rows`` triggers the alert.

    ``previous`` is the last run's measure (for ``drops by``/``rises by``); ``custom(condition,
    rows)`` runs an ``alert_condition`` search over the rows and says whether it found any.
    """
    kind = str(attrs.get("alert_type") or "always").strip().lower()
    if kind == "always":
        return True
    if kind == "custom":
        condition = str(attrs.get("alert_condition") or "").strip()
        if not condition:
            raise ConditionError("alert_type is custom but alert_condition is empty.")
        if custom is None:
            raise ConditionError("custom alert conditions need a search engine.")
        return custom(condition, rows)
    if kind not in ("number of events", "number of results", "number of hosts",
                    "number of sources"):  # fmt: skip
        raise ConditionError(f"Unknown alert_type '{attrs.get('alert_type')}'.")
    comparator = str(attrs.get("alert_comparator") or "greater than").strip().lower()
    threshold = _number(attrs, "alert_threshold")
    count = measure(attrs, rows)
    if comparator == "greater than":
        return count > threshold
    if comparator == "less than":
        return count < threshold
    if comparator == "equal to":
        return count == threshold
    if comparator == "not equal to":
        return count != threshold
    if comparator in ("drops by", "rises by", "drops by perc", "rises by perc"):
        if previous is None:
            return False  # nothing to compare with on the first run
        change = previous - count if comparator.startswith("drops") else count - previous
        if comparator.endswith("perc"):
            change = 100.0 * change / previous if previous else (100.0 if change > 0 else 0.0)
        return change > threshold
    raise ConditionError(
        f"Unknown alert_comparator '{attrs.get('alert_comparator')}' "
        f"(one of: {', '.join(COMPARATORS)})."
    )


def suppress_fields(attrs: dict) -> list[str]:
    return [
        f.strip() for f in str(attrs.get("alert.suppress.fields") or "").split(",") if f.strip()
    ]


def throttled(attrs: dict) -> bool:
    return flag(attrs.get("alert.suppress", "0"))


def suppress_key(attrs: dict, row: dict | None) -> str:
    """The throttle key of a result: its values of ``alert.suppress.fields`` (``""`` when no
    fields are named: the whole alert is suppressed).

    >>> suppress_key({"alert.suppress.fields": "user, src"}, {"user": "alice", "src": ["a", "b"]})
    'user=alice\\x1fsrc=a,b'
    """
    parts = []
    for name in suppress_fields(attrs):
        value = (row or {}).get(name)
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        parts.append(f"{name}={'' if value is None else value}")
    return "\x1f".join(parts)
