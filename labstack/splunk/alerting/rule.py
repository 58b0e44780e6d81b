"""A saved search's alert settings, read once into a typed, frozen :class:`AlertRule`.

Splunk keeps the settings as flat text attributes (``cron_schedule``, ``alert_type``,
``alert.suppress.period``, ``action.webhook.param.url`` ...). :meth:`AlertRule.parse` reads them
once, when the saved search is stored or changed, so the scheduler, the real-time path,
``dispatch`` and the alert actions all decide from the same values (wire spec 1.7 and 1.10).

>>> rule = AlertRule.parse("Lab Alert", {"search": "index=main", "is_scheduled": "1",
...     "cron_schedule": "*/5 * * * *", "alert.suppress": "1", "alert.suppress.period": "10m",
...     "actions": "webhook", "action.webhook.param.url": "http://127.0.0.1:9/hook"})
>>> rule.search, rule.active, rule.suppress_period, rule.actions
('search index=main', True, 600.0, ('webhook',))
>>> rule.param("webhook", "url")
'http://127.0.0.1:9/hook'
>>> period_seconds("10m"), period_seconds("1h"), period_seconds("30s"), period_seconds("45")
(600.0, 3600.0, 30.0, 45.0)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from croniter import croniter

from labstack.splunk.namespace import Namespace, identity
from labstack.splunk.saved import DEFAULTS, flag, qualified

__all__ = ["ALERT_TYPES", "COMPARATORS", "AlertRule", "ConditionError", "period_seconds"]

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
ALERT_TYPES = (
    "always",
    "number of events",
    "number of results",
    "number of hosts",
    "number of sources",
    "custom",
)
#: How long a fired alert is kept when ``alert.expires`` says nothing (Splunk's default).
DEFAULT_EXPIRES = "24h"
_UNITS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
}  # fmt: skip
_PERIOD = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.I)
_PARAM = re.compile(r"^action\.([^.]+)\.param\.(.+)$")


class ConditionError(ValueError):
    """A saved search's alert settings cannot be read (the message names the attribute)."""


def period_seconds(text: str) -> float:
    """``alert.suppress.period`` / ``alert.expires`` (``30s``, ``10m``, ``1h``, ``2d``; bare
    numbers are seconds) in seconds; ConditionError for anything else."""
    match = _PERIOD.match(str(text or ""))
    if not match or match.group(2).lower() not in {**_UNITS, "": 1}:
        raise ConditionError(f"Invalid time period '{text}' (use e.g. 30s, 10m, 1h, 1d).")
    return float(match.group(1)) * _UNITS.get(match.group(2).lower(), 1)


def _text(attrs: Mapping[str, str], key: str) -> str:
    value = attrs.get(key)
    return "" if value is None else str(value).strip()


def _period(attrs: Mapping[str, str], key: str, default: str) -> float:
    text = _text(attrs, key) or default
    try:
        return period_seconds(text)
    except ConditionError as exc:
        raise ConditionError(f"Invalid value for {key}: {exc}") from None


def _choice(attrs: Mapping[str, str], key: str, choices: tuple[str, ...], default: str) -> str:
    value = _text(attrs, key).lower() or default
    if value and value not in choices:
        raise ConditionError(
            f"Invalid value for {key}: '{attrs[key]}' (one of: {', '.join(choices)})."
        )
    return value


def _number(attrs: Mapping[str, str], key: str) -> float:
    value = _text(attrs, key).rstrip("%")
    try:
        return float(value) if value else 0.0
    except ValueError:
        raise ConditionError(f"{key} must be a number, got '{attrs.get(key)}'.") from None


@dataclass(frozen=True)
class AlertRule:
    """When a saved search runs, whether a run triggers, how it throttles, what it does."""

    name: str
    search: str  # the qualified search (``search ...`` or ``| ...``)
    owner: str = "nobody"
    app: str = "search"
    sharing: str = "app"
    scheduled: bool = False
    disabled: bool = False
    cron: str = ""
    earliest: str | None = None
    latest: str | None = None
    alert_type: str = "always"  # as the client spelled it (the fired alert echoes it)
    kind: str = "always"  # alert_type, lower case
    comparator: str = ""
    threshold: float = 0.0
    condition: str = ""
    digest: bool = True
    suppress: bool = False
    suppress_fields: tuple[str, ...] = ()
    suppress_period: float = 0.0
    expires: float = 86400.0
    severity: str = "3"
    track: bool = False
    actions: tuple[str, ...] = ()
    #: ``action.<name>.param.<key>`` as {name: {key: value}}.
    params: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def parse(
        cls,
        name: str,
        attrs: Mapping[str, str],
        owner: str = "nobody",
        app: str = "search",
        sharing: str = "app",
    ) -> AlertRule:
        """Read stored attributes (missing ones take Splunk's defaults); ConditionError names
        the first attribute Splunk would reject."""
        attrs = {**DEFAULTS, **attrs}
        cron = _text(attrs, "cron_schedule")
        if cron and not croniter.is_valid(cron):
            raise ConditionError(f"Invalid value for cron_schedule: '{cron}'.")
        params: dict[str, dict[str, str]] = {}
        for key, value in attrs.items():
            match = _PARAM.match(key)
            if match:
                params.setdefault(match.group(1), {})[match.group(2)] = str(value)
        return cls(
            name=name,
            search=qualified(str(attrs.get("search") or "")),
            owner=owner,
            app=app,
            sharing=sharing,
            scheduled=flag(attrs.get("is_scheduled", "0")),
            disabled=flag(attrs.get("disabled", "0")),
            cron=cron,
            earliest=_text(attrs, "dispatch.earliest_time") or None,
            latest=_text(attrs, "dispatch.latest_time") or None,
            alert_type=_text(attrs, "alert_type") or "always",
            kind=_choice(attrs, "alert_type", ALERT_TYPES, "always"),
            comparator=_choice(attrs, "alert_comparator", COMPARATORS, ""),
            threshold=_number(attrs, "alert_threshold"),
            condition=_text(attrs, "alert_condition"),
            digest=flag(attrs.get("alert.digest_mode", "1")),
            suppress=flag(attrs.get("alert.suppress", "0")),
            suppress_fields=tuple(
                f.strip() for f in _text(attrs, "alert.suppress.fields").split(",") if f.strip()
            ),
            suppress_period=_period(attrs, "alert.suppress.period", "0"),
            expires=_period(attrs, "alert.expires", DEFAULT_EXPIRES),
            severity=_text(attrs, "alert.severity") or "3",
            track=flag(attrs.get("alert.track", "0")),
            actions=tuple(a.strip() for a in _text(attrs, "actions").split(",") if a.strip()),
            params=MappingProxyType({k: MappingProxyType(v) for k, v in params.items()}),
        )

    @classmethod
    def of(cls, saved) -> AlertRule:
        """The rule of a :class:`~labstack.splunk.saved.SavedSearch`."""
        return cls.parse(
            saved.name, saved.attrs, owner=saved.owner, app=saved.app, sharing=saved.sharing
        )

    @property
    def key(self) -> tuple[str, str, str]:
        """Its saved search's :attr:`~labstack.splunk.saved.SavedSearch.key`."""
        return identity(self.name, self.owner, self.app, self.sharing)

    @property
    def namespace(self) -> Namespace:
        """Where it runs (the macros it expands): as its owner, in its app."""
        return Namespace(self.owner, self.app)

    @property
    def state_name(self) -> str:
        """Its name in the alert state (throttles, last counts): its name for a search shared
        in the search app (as before namespaces), else told apart by where it lives.

        >>> AlertRule("x", "search *", owner="admin", sharing="user").state_name
        'x [search/admin]'
        """
        _, app, private = self.key
        if (app, private) == ("search", ""):
            return self.name
        return f"{self.name} [{app}/{private}]" if private else f"{self.name} [{app}]"

    @property
    def active(self) -> bool:
        """Scheduled and not disabled: the search alerts."""
        return self.scheduled and not self.disabled

    @property
    def realtime(self) -> bool:
        """A real-time search (``dispatch.earliest_time`` starts with rt)."""
        return (self.earliest or "").lower().startswith("rt")

    @property
    def window(self) -> str | None:
        """The window of a real-time search as a relative time (``rt-30s`` -> ``-30s``), or None
        for an all-time real-time search (``rt``); a scheduled search's earliest time."""
        text = self.earliest or ""
        window = text[2:].strip() if text.lower().startswith("rt") else text
        return window or None

    def param(self, action: str, key: str, default: str = "") -> str:
        """``action.<action>.param.<key>``, stripped; ``default`` when unset or empty."""
        value = self.params.get(action, {}).get(key, "")
        return value.strip() or default

    def action_enabled(self, action: str) -> bool:
        return action in self.actions
