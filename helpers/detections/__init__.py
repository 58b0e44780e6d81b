"""The detections catalog: one YAML file per detection, loaded, validated and installed.

A detection is SPL plus what a person needs around it: title, severity, MITRE ATT&CK ids, when it
runs (a cron schedule, or real time), how repeats are throttled, the fields of its dedup key,
the playbook that answers it, known false positives, tuning notes, and positive and negative
CloudTrail test events side by side. The file name is the id (``<id>.yml``).

The ``spl`` of a detection starts from the ``cloudtrail`` macro (index and sourcetype in one
place) and sets ``resource``, the thing the incident is about (and ``details`` when useful).
:attr:`Detection.search` appends the same output tail to every detection, so each alert's result
row carries the incident fields the automation server, Jira and Slack read: ``detection``,
``severity``, ``playbook``, ``resource``, ``account``, ``region``, ``actor``, ``source_ip``,
``user_agent``, ``event_time``, ``details``, ``eventID``, ``eventName`` and ``dedup_key`` (the
``dedup_key`` fields joined with ``:``, i.e. ``detection:resource:account``).

>>> from helpers import detections
>>> [d.id for d in detections.load()][:2]
['access-key-used-from-unexpected-country', 'cloudtrail-logging-reduced']
>>> detections.get("cloudtrail-logging-stopped").playbook
'restart-cloudtrail-logging'
>>> params = detections.saved_search_params(
...     detections.get("cloudtrail-logging-stopped"), "http://localhost:8000/splunk")
>>> params["actions"], params["alert.digest_mode"]
('webhook', '0')

Installing them on a Splunk is :func:`helpers.splunk.install_detections` (this package never
talks to Splunk itself, so ``helpers.splunk`` imports it and not the other way round).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "CATALOG_DIR",
    "MACRO",
    "OUTPUT_FIELDS",
    "SEVERITIES",
    "Detection",
    "DetectionError",
    "Example",
    "Schedule",
    "Throttle",
    "get",
    "load",
    "lookups",
    "macro_definition",
    "saved_search_params",
]

#: Where the YAML files live; ``lookups/`` beside them holds the CSV lookups they use.
CATALOG_DIR = Path(__file__).resolve().parent
LOOKUPS_DIR = CATALOG_DIR / "lookups"
#: The recorded scenario logs that ``recorded:`` test events refer to.
SAMPLES_DIR = CATALOG_DIR.parent.parent / "data" / "sample_cloudtrail"

#: The search macro every detection starts from, and its default definition.
MACRO = "cloudtrail"
MACRO_SOURCETYPE = "aws:cloudtrail"
SPL_PREFIX = f"search `{MACRO}`"

SEVERITIES = ("info", "low", "medium", "high", "critical")
#: Splunk's alert.severity numbers (the UI's Info..Critical).
SPLUNK_SEVERITY = {"info": 2, "low": 3, "medium": 4, "high": 5, "critical": 6}
#: The fields every detection's results carry (see the module docstring).
OUTPUT_FIELDS = (
    "_time",
    "eventID",
    "eventName",
    "detection",
    "severity",
    "playbook",
    "resource",
    "account",
    "region",
    "actor",
    "source_ip",
    "user_agent",
    "event_time",
    "details",
    "dedup_key",
)
NO_PLAYBOOK = "none"

_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_MITRE = re.compile(r"^T\d{4}(?:\.\d{3})?$")
_PERIOD = re.compile(r"^\d+[smhd]$")
_REQUIRED = {
    "id",
    "title",
    "description",
    "severity",
    "mitre",
    "spl",
    "schedule",
    "realtime",
    "throttle",
    "dedup_key",
    "playbook",
    "known_false_positives",
    "tuning",
    "enabled",
    "tests",
}
_OPTIONAL = {"references"}


class DetectionError(ValueError):
    """A catalog file that is not a valid detection; the message names the file."""


@dataclass(frozen=True)
class Schedule:
    """When a scheduled detection runs and over which window (Splunk time modifiers)."""

    cron_schedule: str
    earliest: str
    latest: str


@dataclass(frozen=True)
class Throttle:
    """Suppress repeats for ``period`` (``1h``) per distinct value of ``fields``."""

    period: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Example:
    """One test event: hand-written (``event``) or taken from a recorded scenario."""

    name: str
    event: dict | None = None
    scenario: str | None = None
    event_name: str | None = None

    def records(self, samples_dir: Path | None = None) -> list[dict]:
        """The CloudTrail records of this example (recorded ones are read from the samples)."""
        if self.event is not None:
            return [self.event]
        from helpers import cloudtrail

        folder = (samples_dir or SAMPLES_DIR) / str(self.scenario)
        if not folder.is_dir():
            raise DetectionError(f"example {self.name!r}: no recorded scenario at {folder}")
        found = [
            r
            for r in cloudtrail.read_files(folder)
            if self.event_name is None or r.get("eventName") == self.event_name
        ]
        if not found:
            raise DetectionError(
                f"example {self.name!r}: scenario {self.scenario} has no "
                f"{self.event_name or 'records'}"
            )
        return found


@dataclass(frozen=True)
class Detection:
    """One catalog entry; :func:`load` builds these from the YAML files."""

    id: str
    title: str
    description: str
    severity: str
    mitre: tuple[str, ...]
    spl: str
    schedule: Schedule
    realtime: bool
    throttle: Throttle
    dedup_key: tuple[str, ...]
    playbook: str
    known_false_positives: str
    tuning: str
    enabled: bool
    positives: tuple[Example, ...]
    negatives: tuple[Example, ...]
    references: tuple[str, ...] = ()
    path: Path | None = field(default=None, compare=False)

    @property
    def search(self) -> str:
        """The full search: the detection's SPL, then the incident fields every result carries."""
        account = "coalesce(recipientAccountId, 'userIdentity.accountId')"
        actor = "coalesce('userIdentity.arn', 'userIdentity.principalId', 'userIdentity.type')"
        return (
            self.spl.strip()
            + f'\n| eval detection="{self.id}", severity="{self.severity}", '
            + f'playbook="{self.playbook}", account={account}, region=awsRegion, '
            + f"actor={actor}, source_ip=sourceIPAddress, user_agent=userAgent, "
            + "event_time=eventTime"
            + "\n| eval dedup_key="
            + '.":".'.join(self.dedup_key)
            + "\n| table "
            + " ".join(OUTPUT_FIELDS)
        )

    def examples(self, kind: str, samples_dir: Path | None = None) -> list[tuple[str, dict]]:
        """``(example name, record)`` for ``kind`` ``"positive"`` or ``"negative"``."""
        chosen = {"positive": self.positives, "negative": self.negatives}[kind]
        return [(ex.name, rec) for ex in chosen for rec in ex.records(samples_dir)]


# -- loading -----------------------------------------------------------------------------------
def load(directory: str | Path | None = None) -> list[Detection]:
    """Every detection in the catalog, sorted by id; any invalid file raises DetectionError.

    >>> len(load()) >= 11
    True
    """
    folder = Path(directory) if directory is not None else CATALOG_DIR
    found: dict[str, Detection] = {}
    for path in sorted(folder.glob("*.y*ml")):
        detection = _parse(path)
        if detection.id in found:
            raise DetectionError(
                f"{path}: duplicate detection id {detection.id!r} "
                f"(also in {found[detection.id].path})"
            )
        found[detection.id] = detection
    return [found[i] for i in sorted(found)]


def get(detection_id: str, directory: str | Path | None = None) -> Detection:
    """The detection with this id; KeyError names the known ids."""
    catalog = {d.id: d for d in load(directory)}
    if detection_id not in catalog:
        raise KeyError(f"unknown detection {detection_id!r}; known: {', '.join(catalog)}")
    return catalog[detection_id]


def lookups(directory: str | Path | None = None) -> dict[str, str]:
    """``file name -> CSV text`` of the lookups the catalog ships (``lookups/*.csv``)."""
    folder = Path(directory) / "lookups" if directory is not None else LOOKUPS_DIR
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.csv"))}


def macro_definition(index: str = "main") -> str:
    """The ``cloudtrail`` macro's definition for an index.

    >>> macro_definition("security")
    'index=security sourcetype=aws:cloudtrail'
    """
    return f"index={index} sourcetype={MACRO_SOURCETYPE}"


def _parse(path: Path) -> Detection:
    def fail(message: str) -> DetectionError:
        return DetectionError(f"{path}: {message}")

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise fail(f"not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise fail("expected a mapping of detection fields")
    unknown = sorted(set(doc) - _REQUIRED - _OPTIONAL)
    if unknown:
        raise fail(f"unknown key(s): {', '.join(map(str, unknown))}")
    missing = sorted(_REQUIRED - set(doc))
    if missing:
        raise fail(f"missing field(s): {', '.join(missing)}")

    def text(key: str) -> str:
        value = doc[key]
        if not isinstance(value, str) or not value.strip():
            raise fail(f"{key} must be non-empty text")
        return value.strip()

    def names(value: Any, key: str, allowed: Iterable[str] | None = None) -> tuple[str, ...]:
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise fail(f"{key} must be a non-empty list of names")
        if allowed is not None and (bad := [v for v in value if v not in allowed]):
            raise fail(f"{key}: {', '.join(bad)} not among the output fields {OUTPUT_FIELDS}")
        return tuple(value)

    def flag(key: str) -> bool:
        if not isinstance(doc[key], bool):
            raise fail(f"{key} must be true or false")
        return doc[key]

    detection_id = text("id")
    if not _ID.match(detection_id):
        raise fail(f"id {detection_id!r} must be lower-case words joined by '-'")
    if path.stem != detection_id:
        raise fail(f"file name must be the id: {detection_id}{path.suffix}")
    severity = text("severity")
    if severity not in SEVERITIES:
        raise fail(f"severity must be one of {', '.join(SEVERITIES)}")
    mitre = names(doc["mitre"], "mitre")
    if bad := [m for m in mitre if not _MITRE.match(m)]:
        raise fail(f"mitre: {', '.join(bad)} are not ATT&CK technique ids (T1234 or T1234.001)")
    spl = text("spl")
    if not spl.startswith(SPL_PREFIX):
        raise fail(f"spl must start from the macro: {SPL_PREFIX} ...")
    if not re.search(r"\bresource\s*=", spl):
        raise fail("spl must set the resource field (eval resource=...)")
    playbook = text("playbook")
    if playbook != NO_PLAYBOOK and not _ID.match(playbook):
        raise fail(f"playbook must be a playbook name or {NO_PLAYBOOK!r}")
    references = doc.get("references") or []
    if not isinstance(references, list) or not all(isinstance(r, str) for r in references):
        raise fail("references must be a list of URLs")
    return Detection(
        id=detection_id,
        title=text("title"),
        description=text("description"),
        severity=severity,
        mitre=mitre,
        spl=spl,
        schedule=_schedule(doc["schedule"], fail),
        realtime=flag("realtime"),
        throttle=_throttle(doc["throttle"], fail, names),
        dedup_key=names(doc["dedup_key"], "dedup_key", OUTPUT_FIELDS),
        playbook=playbook,
        known_false_positives=text("known_false_positives"),
        tuning=text("tuning"),
        enabled=flag("enabled"),
        positives=_examples(doc["tests"], "positive", fail),
        negatives=_examples(doc["tests"], "negative", fail),
        references=tuple(references),
        path=path,
    )


def _schedule(value: Any, fail) -> Schedule:
    keys = {"cron_schedule", "earliest", "latest"}
    if not isinstance(value, dict) or set(value) != keys:
        raise fail(f"schedule must have exactly: {', '.join(sorted(keys))}")
    if not all(isinstance(v, str) and v for v in value.values()):
        raise fail("schedule values must be text")
    from croniter import croniter

    if not croniter.is_valid(value["cron_schedule"]):
        raise fail(f"schedule.cron_schedule {value['cron_schedule']!r} is not a cron expression")
    return Schedule(value["cron_schedule"], value["earliest"], value["latest"])


def _throttle(value: Any, fail, names) -> Throttle:
    if not isinstance(value, dict) or set(value) != {"period", "fields"}:
        raise fail("throttle must have exactly: fields, period")
    period = value["period"]
    if not isinstance(period, str) or not _PERIOD.match(period):
        raise fail(f"throttle.period {period!r} must look like 30m, 1h or 1d")
    return Throttle(period, names(value["fields"], "throttle.fields", OUTPUT_FIELDS))


def _examples(tests: Any, kind: str, fail) -> tuple[Example, ...]:
    if not isinstance(tests, dict) or not set(tests) <= {"defaults", "positive", "negative"}:
        raise fail("tests must have positive, negative (and optionally defaults)")
    defaults = tests.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise fail("tests.defaults must be a mapping of CloudTrail fields")
    items = tests.get(kind)
    if not isinstance(items, list) or not items:
        raise fail(f"tests.{kind} must be a non-empty list")
    examples = []
    for number, item in enumerate(items, start=1):
        where = f"tests.{kind}[{number}]"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise fail(f"{where} needs a name")
        extra = set(item) - {"name", "event", "recorded"}
        if extra or ("event" in item) == ("recorded" in item):
            raise fail(f"{where} ({item['name']}) needs exactly one of event, recorded")
        if "event" in item:
            event = item["event"]
            if not isinstance(event, dict):
                raise fail(f"{where} ({item['name']}): event must be a CloudTrail record")
            event = {**defaults, **event}
            if not {"eventID", "eventName"} <= set(event):
                raise fail(f"{where} ({item['name']}): event needs eventID and eventName")
            examples.append(Example(item["name"], event=event))
        else:
            recorded = item["recorded"]
            if not isinstance(recorded, dict) or not set(recorded) <= {"scenario", "eventName"}:
                raise fail(f"{where} ({item['name']}): recorded needs scenario (and eventName)")
            if not isinstance(recorded.get("scenario"), str):
                raise fail(f"{where} ({item['name']}): recorded needs scenario")
            examples.append(
                Example(item["name"], None, recorded["scenario"], recorded.get("eventName"))
            )
    ids = [ex.event["eventID"] for ex in examples if ex.event is not None]
    if dupes := sorted({i for i in ids if ids.count(i) > 1}):
        raise fail(f"tests.{kind}: duplicate eventID(s): {', '.join(dupes)}")
    return tuple(examples)


# -- Splunk ------------------------------------------------------------------------------------
#: What the Splunk Add-on for AWS SNS alert action carries of each result (its parameters).
SNS_FIELDS = {
    "correlation_id": "$result.dedup_key$",
    "entity": "$result.resource$",
    "source": "$result.detection$",
    "timestamp": "$result.event_time$",
    "message": "$result.details$",
}


def saved_search_params(
    detection: Detection,
    webhook_url: str | None = None,
    *,
    sns_topic: str | None = None,
    sns_account: str = "lab",
    sns_region: str | None = None,
) -> dict[str, str]:
    """The Splunk saved-search attributes that make ``detection`` a per-result alert.

    The action is the webhook to ``webhook_url``, or, with ``sns_topic``, the Splunk Add-on for
    AWS SNS alert action (``aws_sns_alert``) publishing every result to that topic, through the
    add-on's configured AWS account ``sns_account`` (the seed's path: SNS -> SQS -> automation).

    A real-time detection runs as an all-time real-time search (``rt``/``rt``) that triggers on
    every result; a scheduled one runs on its cron over its window and triggers when it finds
    anything. Both alert once per result (``alert.digest_mode=0``) and suppress repeats by the
    throttle fields.

    >>> p = saved_search_params(get("security-group-open-to-world"), "http://a:8000/splunk")
    >>> p["dispatch.earliest_time"], p["alert.suppress.fields"]
    ('rt', 'resource,account')
    """
    params = {
        "search": detection.search,
        "description": f"{detection.title}. {detection.description}",
        "is_scheduled": "1",
        "cron_schedule": detection.schedule.cron_schedule,
        "alert.digest_mode": "0",
        "alert.severity": str(SPLUNK_SEVERITY[detection.severity]),
        "alert.track": "1",
        "alert.suppress": "1",
        "alert.suppress.period": detection.throttle.period,
        "alert.suppress.fields": ",".join(detection.throttle.fields),
        "disabled": "0" if detection.enabled else "1",
    }
    if sns_topic:
        prefix = "action.aws_sns_alert.param."
        params.update({"actions": "aws_sns_alert", "action.aws_sns_alert": "1",
                       prefix + "account": sns_account, prefix + "topic_name": sns_topic,
                       prefix + "publish_all": "1"})  # fmt: skip
        params.update({prefix + name: value for name, value in SNS_FIELDS.items()})
        if sns_region:
            params[prefix + "region"] = sns_region
    elif webhook_url:
        params.update({
            "actions": "webhook",
            "action.webhook": "1",  # real Splunk sets it from actions; sent so all readers see it
            "action.webhook.param.url": webhook_url,
        })  # fmt: skip
    else:
        raise ValueError("an alert needs webhook_url or sns_topic")
    if detection.realtime:
        params.update(
            {
                "dispatch.earliest_time": "rt",
                "dispatch.latest_time": "rt",
                "alert_type": "always",
            }
        )
    else:
        params.update(
            {
                "dispatch.earliest_time": detection.schedule.earliest,
                "dispatch.latest_time": detection.schedule.latest,
                "alert_type": "number of events",
                "alert_comparator": "greater than",
                "alert_threshold": "0",
            }
        )
    return params
