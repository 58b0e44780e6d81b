"""The incident: what every consumer (tickets, Slack threads, enrichment, remediation) agrees on.

An :class:`Incident` is built from one Splunk alert result row (the fields every detection's
search ends with, see :attr:`helpers.detections.Detection.search`). Its :attr:`~Incident.dedup_key`
(``detection:resource:account``) keys the Jira ticket, the Slack thread and remediation
idempotency: the same alert twice lands on the same incident.

:class:`Severity` is the one severity vocabulary: detections, Jira priorities, Slack and Splunk's
``alert.severity`` numbers all map through it.

>>> row = {"detection": "security-group-open-to-world", "severity": "high",
...        "resource": "sg-0123456789abcdef0", "account": "123456789012",
...        "source_ip": "198.51.100.7", "eventName": "AuthorizeSecurityGroupIngress"}
>>> incident = Incident.from_result(row)
>>> incident.dedup_key, incident.severity.jira_priority
('security-group-open-to-world:sg-0123456789abcdef0:123456789012', 'High')
>>> Severity.parse("info") is Severity.INFORMATIONAL
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

__all__ = ["Incident", "Severity", "as_incident", "dedup_key", "field"]

#: Result fields that are the incident's own; the rest of the row is kept as evidence.
_ROW_FIELDS = {
    "detection": ("detection", "detection_id", "search_name"),
    "title": ("title", "summary"),
    "severity": ("severity",),
    "resource": ("resource",),
    "account": ("account", "account_id", "recipientAccountId"),
    "region": ("region", "awsRegion"),
    "actor": ("actor", "user"),
    "source_ip": ("source_ip", "src", "sourceIPAddress"),
    "event_time": ("event_time", "eventTime", "_time"),
    "playbook": ("playbook",),
    "details": ("details",),
}


class Severity(StrEnum):
    """Incident severity, lowest first. Parse any spelling with :meth:`parse`."""

    INFORMATIONAL = "informational"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @classmethod
    def parse(cls, value: Any, default: Severity | None = None) -> Severity:
        """``"info"``, ``"Informational"``, Splunk's ``alert.severity`` numbers (1-6) and the
        names all map; anything else is ``default`` (or ``ValueError`` without one).

        >>> Severity.parse("5"), Severity.parse("CRITICAL"), Severity.parse("?", Severity.LOW)
        (<Severity.HIGH: 'high'>, <Severity.CRITICAL: 'critical'>, <Severity.LOW: 'low'>)
        """
        if isinstance(value, Severity):
            return value
        text = str(value if value is not None else "").strip().lower()
        found = _ALIASES.get(text)
        if found is None:
            if default is not None:
                return default
            names = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown severity {value!r}; use one of: {names}")
        return found

    @property
    def rank(self) -> int:
        """0 (informational) to 4 (critical), for comparisons and sorting."""
        return list(Severity).index(self)

    @property
    def jira_priority(self) -> str:
        """The priority in Jira's default scheme."""
        return _JIRA[self]

    @property
    def splunk(self) -> int:
        """Splunk's ``alert.severity`` number (2 info ... 6 critical)."""
        return self.rank + 2

    @property
    def emoji(self) -> str:
        """The Slack emoji shown next to it."""
        return _EMOJI[self]


_ALIASES = {s.value: s for s in Severity} | {
    "info": Severity.INFORMATIONAL,
    "debug": Severity.INFORMATIONAL,
    "1": Severity.INFORMATIONAL,
    "2": Severity.INFORMATIONAL,
    "3": Severity.LOW,
    "4": Severity.MEDIUM,
    "5": Severity.HIGH,
    "6": Severity.CRITICAL,
}
_JIRA = dict(zip(Severity, ("Lowest", "Low", "Medium", "High", "Highest"), strict=True))
_EMOJI = dict(
    zip(
        Severity,
        (":white_circle:", ":large_blue_circle:", ":large_orange_circle:", ":red_circle:",
         ":rotating_light:"),
        strict=True,
    )
)  # fmt: skip


def _first(row: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        value = row.get(name)
        if isinstance(value, list):  # a multivalue field: its first value
            value = value[0] if value else None
        if value not in (None, ""):
            return value
    return None


@dataclass
class Incident:
    """One security incident, whichever way it came in.

    ``evidence`` holds the result rows that raised it (the newest last); ``enrichment`` the facts
    enrichers add (account owner, geo-IP, key owner, ...), by enricher name.
    """

    detection: str
    resource: str
    account: str
    severity: Severity = Severity.MEDIUM
    title: str = ""
    region: str = ""
    actor: str = ""
    source_ip: str = ""
    event_time: str = ""
    playbook: str = ""
    details: str = ""
    dedup_key: str = ""
    evidence: list[dict] = field(default_factory=list)
    enrichment: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.severity = Severity.parse(self.severity, Severity.MEDIUM)
        for name in ("detection", "resource", "account"):
            setattr(self, name, str(getattr(self, name) or "").strip() or "-")
        if not self.dedup_key:
            self.dedup_key = f"{self.detection}:{self.resource}:{self.account}"
        if not self.title:
            self.title = self.detection

    @classmethod
    def from_result(cls, row: Mapping[str, Any], *, title: str = "", **overrides) -> Incident:
        """The incident a detection's result row describes (the whole row is the evidence)."""
        if not isinstance(row, Mapping):
            raise TypeError(f"a result row must be a mapping of fields, not {type(row).__name__}")
        values = {name: _first(row, names) for name, names in _ROW_FIELDS.items()}
        values = {k: str(v) for k, v in values.items() if v is not None}
        values["dedup_key"] = str(_first(row, ("dedup_key",)) or "")
        if title:
            values["title"] = title
        values.update(overrides)
        values.setdefault("detection", "-")
        values.setdefault("resource", "-")
        values.setdefault("account", "-")
        return cls(evidence=[dict(row)], **values)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``from_dict`` reads it back)."""
        data = asdict(self)
        data["severity"] = self.severity.value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Incident:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def summary(self) -> str:
        """One line: ``title (resource)``."""
        return " ".join(f"{self.title} ({self.resource})".split())


def field(incident: Any, *names: str, default: Any = None) -> Any:
    """The first present, non-empty attribute or key of an incident (or a result row).

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


#: Keys of a mapping that are not result fields but what a caller says about the incident.
_CALLER_FACTS = {"account_owner": ("account_owner", "owner"), "labels": ("labels",)}


def as_incident(value: Any) -> Incident:
    """An :class:`Incident` from an incident, a result row or any mapping (or object) of fields.

    A mapping's ``evidence`` (a list of events) replaces the row as the evidence; its
    ``description`` becomes ``details`` when there are none; ``account_owner`` (or ``owner``) and
    ``labels`` go to ``enrichment``.

    >>> incident = as_incident({"detection": "s3-bucket-made-public", "resource": "payroll",
    ...     "account": "123456789012", "severity": "info", "owner": "data-team",
    ...     "evidence": [{"eventName": "PutBucketAcl"}]})
    >>> incident.severity.jira_priority, incident.enrichment, incident.evidence
    ('Lowest', {'account_owner': 'data-team'}, [{'eventName': 'PutBucketAcl'}])
    """
    if isinstance(value, Incident):
        return value
    row = value if isinstance(value, Mapping) else vars(value)
    incident = Incident.from_result(row)
    evidence = row.get("evidence", row.get("events"))
    if evidence is not None:
        incident.evidence = list(evidence) if isinstance(evidence, list | tuple) else [evidence]
    if not incident.details and row.get("description"):
        incident.details = str(row["description"])
    for fact, names in _CALLER_FACTS.items():
        found = field(row, *names)
        if found is not None:
            incident.enrichment.setdefault(fact, found)
    return incident


def dedup_key(incident: Any) -> str:
    """The dedup key of an :class:`Incident`, a result row, or any mapping of incident fields.

    >>> dedup_key({"detection": "cloudtrail-logging-stopped", "resource": "lab-trail",
    ...            "account": "123456789012"})
    'cloudtrail-logging-stopped:lab-trail:123456789012'
    """
    return as_incident(incident).dedup_key
