"""``restart-cloudtrail-logging``: the trail logs every management event again.

Four ways a trail goes quiet, four fixes: ``StartLogging`` for a stopped trail; the baseline
event selectors (all management events, read and write) for selectors that were reduced, keeping
any data-event selectors (basic or advanced, whichever the trail uses); ``UpdateTrail`` back to
multi-region with global service events when an UpdateTrail narrowed it; and, when the account's
audit trail (``CLOUDTRAIL_TRAIL``) was deleted, a new trail as the account defines it (that
name, the bucket from ``CLOUDTRAIL_BUCKET``, multi-region with global service events), then
``StartLogging``. Another deleted trail is not recreated (its tags, gone with it, cannot say
whether it was protected).

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

__all__ = ["BASELINE_SELECTOR", "RestartLogging", "records_all_management"]

#: What every trail must record: all management events, reads and writes.
BASELINE_SELECTOR = {"ReadWriteType": "All", "IncludeManagementEvents": True}
#: The same as an advanced event selector (for trails that use advanced selectors).
BASELINE_ADVANCED = {
    "Name": "All management events",
    "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}],
}
#: What every trail must cover besides its selectors (as the account defines the lab trail).
BASELINE_SCOPE = {"IsMultiRegionTrail": True, "IncludeGlobalServiceEvents": True}


def _trail(clients: Clients, name: str) -> dict | None:
    trails = clients.aws("cloudtrail").describe_trails(includeShadowTrails=False)["trailList"]
    return next((t for t in trails if name in (t["Name"], t.get("TrailARN"))), None)


def _selectors(clients: Clients, arn: str) -> tuple[list[dict] | None, list[dict]]:
    """``(basic, advanced)`` selectors of the trail; basic is None when it has none at all
    (AWS's default: every management event)."""
    found = clients.aws("cloudtrail").get_event_selectors(TrailName=arn)
    basic, advanced = found.get("EventSelectors") or [], found.get("AdvancedEventSelectors") or []
    if not basic and not advanced:
        return None, []
    return basic, advanced


def _all_management(selector: dict) -> bool:
    """An advanced selector that records every management event (reads and writes).

    >>> _all_management({"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]})
    True
    >>> _all_management({"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]},
    ...                                     {"Field": "readOnly", "Equals": ["true"]}]})
    False
    """
    fields = selector.get("FieldSelectors", [])
    category = [f for f in fields if f.get("Field") == "eventCategory"]
    return (
        len(category) == 1
        and "Management" in category[0].get("Equals", [])
        and len(fields) == 1  # no readOnly or eventSource filter narrowing it
    )


def records_all_management(selectors: list[dict] | None, advanced: list[dict] = ()) -> bool:
    """True when the trail records every management event (reads and writes).

    >>> records_all_management(None), records_all_management([{"ReadWriteType": "WriteOnly"}])
    (True, False)
    """
    if advanced:
        return any(_all_management(s) for s in advanced)
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


def _restored_advanced(advanced: list[dict]) -> list[dict]:
    """An all-management-events advanced selector, plus the data-event ones that were there."""
    data = [
        s
        for s in advanced
        if not any(
            f.get("Field") == "eventCategory" and "Management" in f.get("Equals", [])
            for f in s.get("FieldSelectors", [])
        )
    ]
    return [dict(BASELINE_ADVANCED), *data]


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
        "cloudtrail:UpdateTrail",
    )

    def plan(self, incident: Incident, clients: Clients) -> Plan:
        name = incident.resource
        plan = Plan(self.name, name)
        trail = _trail(clients, name)
        if trail is None:
            account_trail = clients.settings.cloudtrail_trail
            if name != account_trail:
                plan.nothing_to_do = (
                    f"trail {name} is gone; only the account's audit trail "
                    f"(CLOUDTRAIL_TRAIL={account_trail or 'not set'}) is recreated, so a trail "
                    "someone deleted on purpose is not brought back into the audit bucket"
                )
                return plan
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
        policy = clients.policy
        if policy.protected(tag_map):
            plan.exempt = (
                f"trail {name} is tagged {policy.protected_key}={tag_map[policy.protected_key]}"
            )
            return plan
        lines = []
        scope = {k: bool(trail.get(k)) for k in BASELINE_SCOPE}
        if scope != BASELINE_SCOPE:
            plan.changes.append(
                Change(
                    "cloudtrail",
                    "UpdateTrail",
                    {"Name": arn, **BASELINE_SCOPE},
                    f"record global service events and every region on {name} again",
                )
            )
            plan.rollback.append(
                Change(
                    "cloudtrail",
                    "UpdateTrail",
                    {"Name": arn, **scope},
                    f"put back the narrower scope of {name}",
                )
            )
            lines.append(f"- scope {scope} -> {BASELINE_SCOPE}")
        selectors, advanced = _selectors(clients, arn)
        if not records_all_management(selectors, advanced):
            # Advanced selectors are restored as advanced ones (basic ones would drop them).
            field, before = (
                ("AdvancedEventSelectors", advanced) if advanced else ("EventSelectors", selectors)
            )
            wanted = _restored_advanced(advanced) if advanced else _restored(selectors)
            kind = "advanced selectors" if advanced else "selectors"
            plan.changes.append(
                Change(
                    "cloudtrail",
                    "PutEventSelectors",
                    {"TrailName": arn, field: wanted},
                    f"restore all management events on {name}",
                )
            )
            plan.rollback.append(
                Change(
                    "cloudtrail",
                    "PutEventSelectors",
                    {"TrailName": arn, field: before},
                    f"put back the reduced {kind} of {name}",
                )
            )
            lines.append(f"- {kind} {before} -> {wanted}")
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
            selectors, advanced = _selectors(clients, arn)
        except ClientError as err:
            return Verification(False, f"cannot read trail {name}: {err}")
        complete = records_all_management(selectors, advanced)
        scope = {k: bool(trail.get(k)) for k in BASELINE_SCOPE}
        observed = {
            "is_logging": logging,
            "event_selectors": selectors,
            "advanced_event_selectors": advanced,
            **scope,
        }
        problems = [
            p
            for p, bad in (
                ("not logging", not logging),
                ("management events not all recorded", not complete),
                ("global service events or other regions not recorded", scope != BASELINE_SCOPE),
            )
            if bad
        ]
        if not problems:
            return Verification(True, f"{name} is logging all management events", observed)
        return Verification(False, f"{name}: " + ", ".join(problems), observed)
