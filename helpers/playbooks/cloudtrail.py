"""``restart-cloudtrail-logging``: the trail logs every management event again.

Three ways a trail goes quiet, three fixes: ``StartLogging`` for a stopped trail; the baseline
event selectors (all management events, read and write) for selectors that were reduced, keeping
any data-event selectors; and, for a deleted trail, a new trail as the account defines it (the
name from the incident, the bucket from ``CLOUDTRAIL_BUCKET``, multi-region with global service
events), then ``StartLogging``.

>>> from helpers.incident import Incident
>>> incident = Incident("cloudtrail-logging-stopped", "lab-trail", "123456789012")
>>> RestartLogging().plan(incident, clients).describe()                    # doctest: +SKIP
'- start logging on lab-trail: cloudtrail.start_logging(Name=...)'
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from helpers.clients import Clients
from helpers.incident import Incident
from helpers.playbooks import Change, Plan, Playbook, Verification, playbook

__all__ = ["BASELINE_SELECTOR", "RestartLogging"]

#: What every trail must record: all management events, reads and writes.
BASELINE_SELECTOR = {"ReadWriteType": "All", "IncludeManagementEvents": True}


def _trail(clients: Clients, name: str) -> dict | None:
    trails = clients.aws("cloudtrail").describe_trails(includeShadowTrails=False)["trailList"]
    return next((t for t in trails if name in (t["Name"], t.get("TrailARN"))), None)


def _selectors(clients: Clients, arn: str) -> list[dict] | None:
    """The trail's basic selectors; None when it has none at all (AWS's default: everything)."""
    found = clients.aws("cloudtrail").get_event_selectors(TrailName=arn)
    if not found.get("EventSelectors") and not found.get("AdvancedEventSelectors"):
        return None
    return found.get("EventSelectors") or []


def _complete(selectors: list[dict] | None) -> bool:
    """True when the trail records every management event (reads and writes).

    >>> _complete(None), _complete([{"ReadWriteType": "WriteOnly"}])
    (True, False)
    """
    if selectors is None:
        return True
    return any(
        s.get("IncludeManagementEvents", True) and s.get("ReadWriteType", "All") == "All"
        for s in selectors
    )


def _restored(selectors: list[dict] | None) -> list[dict]:
    """The baseline selector, plus the data-event selectors that were there."""
    data = [
        {
            "ReadWriteType": s.get("ReadWriteType", "All"),
            "IncludeManagementEvents": False,
            "DataResources": s["DataResources"],
        }
        for s in selectors or []
        if s.get("DataResources")
    ]
    return [dict(BASELINE_SELECTOR), *data]


@playbook
class RestartLogging(Playbook):
    """Start logging, restore reduced event selectors, or recreate a deleted trail."""

    name = "restart-cloudtrail-logging"
    description = "Start logging again; restore reduced selectors; recreate a deleted trail."
    permissions = (
        "cloudtrail:CreateTrail",
        "cloudtrail:DescribeTrails",
        "cloudtrail:GetEventSelectors",
        "cloudtrail:GetTrailStatus",
        "cloudtrail:ListTags",
        "cloudtrail:PutEventSelectors",
        "cloudtrail:StartLogging",
        "cloudtrail:StopLogging",  # the rollback
    )

    def plan(self, incident: Incident, clients: Clients) -> Plan:
        name = incident.resource
        plan = Plan(self.name, name)
        trail = _trail(clients, name)
        if trail is None:
            bucket = clients.settings.cloudtrail_bucket
            if not bucket:
                plan.nothing_to_do = (
                    f"trail {name} is gone and CLOUDTRAIL_BUCKET is not set, so it cannot be "
                    "recreated"
                )
                return plan
            create = {
                "Name": name,
                "S3BucketName": bucket,
                "IsMultiRegionTrail": True,
                "IncludeGlobalServiceEvents": True,
            }
            plan.changes += [
                Change("cloudtrail", "CreateTrail", create, f"recreate the deleted trail {name}"),
                Change("cloudtrail", "StartLogging", {"Name": name}, f"start logging on {name}"),
            ]
            plan.diff = f"Trail {name}: deleted -> recreated (bucket {bucket}), logging"
            return plan
        arn = trail["TrailARN"]
        tags = clients.aws("cloudtrail").list_tags(ResourceIdList=[arn])["ResourceTagList"]
        tag_map = {t["Key"]: t["Value"] for r in tags for t in r.get("TagsList", [])}
        if clients.policy.protected(tag_map):
            plan.exempt = f"trail {name} is tagged {clients.policy.protected_key}=off"
            return plan
        lines = []
        selectors = _selectors(clients, arn)
        if not _complete(selectors):
            wanted = _restored(selectors)
            plan.changes.append(
                Change(
                    "cloudtrail",
                    "PutEventSelectors",
                    {"TrailName": arn, "EventSelectors": wanted},
                    f"restore all management events on {name}",
                )
            )
            plan.rollback.append(
                Change(
                    "cloudtrail",
                    "PutEventSelectors",
                    {"TrailName": arn, "EventSelectors": selectors},
                    f"put back the reduced selectors of {name}",
                )
            )
            lines.append(f"- selectors {selectors} -> {wanted}")
        status = clients.aws("cloudtrail").get_trail_status(Name=arn)
        if not status.get("IsLogging"):
            plan.changes.append(
                Change("cloudtrail", "StartLogging", {"Name": arn}, f"start logging on {name}")
            )
            plan.rollback.append(
                Change("cloudtrail", "StopLogging", {"Name": arn}, f"stop logging on {name}")
            )
            lines.append("- logging: stopped -> started")
        if not plan.changes:
            plan.nothing_to_do = f"trail {name} is logging every management event"
        plan.diff = "\n".join([f"Trail {name}:", *lines])
        return plan

    def verify(self, incident: Incident, clients: Clients) -> Verification:
        name = incident.resource
        trail = _trail(clients, name)
        if trail is None:
            return Verification(False, f"trail {name} does not exist")
        arn = trail["TrailARN"]
        try:
            logging = bool(clients.aws("cloudtrail").get_trail_status(Name=arn).get("IsLogging"))
            selectors = _selectors(clients, arn)
        except ClientError as err:
            return Verification(False, f"cannot read trail {name}: {err}")
        observed = {"is_logging": logging, "event_selectors": selectors}
        if logging and _complete(selectors):
            return Verification(True, f"{name} is logging all management events", observed)
        problems = [
            p
            for p, bad in (
                ("not logging", not logging),
                ("management events not all recorded", not _complete(selectors)),
            )
            if bad
        ]
        return Verification(False, f"{name}: " + ", ".join(problems), observed)
