"""Whether a run triggers and how it throttles: pure functions over an :class:`AlertRule`.

>>> rule = AlertRule.parse("a", {"alert_type": "number of events",
...                              "alert_comparator": "greater than", "alert_threshold": "2"})
>>> triggered(rule, [{}] * 3)
True
"""

from __future__ import annotations

from collections.abc import Callable

from labstack.splunk.alerting.rule import COMPARATORS, AlertRule, ConditionError

__all__ = ["measure", "suppress_key", "triggered"]


def measure(rule: AlertRule, rows: list[dict]) -> int:
    """The number ``alert_type`` counts: events/results, or distinct hosts or sources."""
    if rule.kind == "number of hosts":
        return len({str(r.get("host")) for r in rows if r.get("host") is not None})
    if rule.kind == "number of sources":
        return len({str(r.get("source")) for r in rows if r.get("source") is not None})
    return len(rows)


def triggered(
    rule: AlertRule,
    rows: list[dict],
    previous: int | None = None,
    custom: Callable[[str, list[dict]], bool] | None = None,
) -> bool:
    """Whether a run with these result ``rows`` triggers the alert.

    ``previous`` is the last run's measure (for ``drops by``/``rises by``); ``custom(condition,
    rows)`` runs an ``alert_condition`` search over the rows and says whether it found any.
    """
    if rule.kind == "always":
        return True
    if rule.kind == "custom":
        if not rule.condition:
            raise ConditionError("alert_type is custom but alert_condition is empty.")
        if custom is None:
            raise ConditionError("custom alert conditions need a search engine.")
        return custom(rule.condition, rows)
    comparator = rule.comparator or "greater than"
    count = measure(rule, rows)
    if comparator == "greater than":
        return count > rule.threshold
    if comparator == "less than":
        return count < rule.threshold
    if comparator == "equal to":
        return count == rule.threshold
    if comparator == "not equal to":
        return count != rule.threshold
    if comparator in ("drops by", "rises by", "drops by perc", "rises by perc"):
        if previous is None:
            return False  # nothing to compare with on the first run
        change = previous - count if comparator.startswith("drops") else count - previous
        if comparator.endswith("perc"):
            change = 100.0 * change / previous if previous else (100.0 if change > 0 else 0.0)
        return change > rule.threshold
    raise ConditionError(  # parse() admits only COMPARATORS: this is a programming error
        f"Unknown alert_comparator '{rule.comparator}' (one of: {', '.join(COMPARATORS)})."
    )


def suppress_key(rule: AlertRule, row: dict | None) -> str:
    """The throttle key of a result: its values of ``alert.suppress.fields`` (``""`` when no
    fields are named: the whole alert is suppressed).

    >>> suppress_key(AlertRule.parse("a", {"alert.suppress.fields": "user, src"}),
    ...              {"user": "alice", "src": ["a", "b"]})
    'user=alice\\x1fsrc=a,b'
    """
    parts = []
    for name in rule.suppress_fields:
        value = (row or {}).get(name)
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        parts.append(f"{name}={'' if value is None else value}")
    return "\x1f".join(parts)
