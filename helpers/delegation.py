"""Delegation: which team owns an incident, and where it is told.

The owner is, in this order: the resource's ``team`` tag, the team of the access key's user,
the team that owns the AWS account (the enrichment's ``resource-tags``, ``key-owner`` and
``account-owner`` facts). The teams table (``teams.csv``, beside the Splunk lookups) gives the
team's Jira component and assignee, its Slack channel and its on-call. An incident nobody owns
goes to the security team, and the route says why.

>>> from helpers.incident import Incident
>>> incident = Incident("security-group-open-to-world", "sg-1", "123456789012", severity="high")
>>> incident.enrichment = {"resource-tags": {"ok": True, "facts": {"team": "payments"}}}
>>> r = route(incident)
>>> r.team, r.jira_component, r.assignee, r.channel, r.mention
('payments', 'Payments', 'bob', '#team-payments', 'bob')
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from helpers.enrich import lookups
from helpers.incident import Incident, Severity

__all__ = ["SECURITY_TEAM", "Route", "route"]

#: Who gets what nobody else owns.
SECURITY_TEAM = "secops"
#: From this severity up the team's on-call is mentioned.
PAGE_FROM = Severity.HIGH
#: Where the owner is looked for, in order: (enricher, fact).
OWNER_FACTS = (("resource-tags", "team"), ("key-owner", "team"), ("account-owner", "team"))


@dataclass(frozen=True)
class Route:
    team: str
    jira_component: str
    assignee: str
    channel: str
    oncall: str
    mention: str  # the on-call to mention (empty below PAGE_FROM)
    reason: str

    def as_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        parts = [f"Routed to {self.team} ({self.reason})"]
        if self.assignee:
            parts.append(f"assignee {self.assignee}")
        if self.jira_component:
            parts.append(f"component {self.jira_component}")
        if self.channel:
            parts.append(f"channel {self.channel}")
        if self.mention:
            parts.append(f"on-call @{self.mention} paged")
        return "; ".join(parts)


def _facts(incident: Incident, enricher: str) -> dict:
    result = incident.enrichment.get(enricher) or {}
    return result.get("facts") or {} if result.get("ok") else {}


def route(incident: Incident) -> Route:
    """The owning team of an enriched incident and how to reach it."""
    team, reason = "", ""
    for enricher, fact in OWNER_FACTS:
        value = str(_facts(incident, enricher).get(fact) or "").strip()
        if value:
            team, reason = value, f"{fact} from {enricher}"
            break
    row = lookups.team(team) if team else None
    if row is None:
        why = (f"team {team!r} is not in teams.csv" if team
               else "no owner found in the resource tags, key owner or account table")  # fmt: skip
        team, reason = SECURITY_TEAM, f"unknown owner: {why}"
        row = lookups.team(SECURITY_TEAM) or {}
    paged = incident.severity.rank >= PAGE_FROM.rank
    return Route(
        team=team,
        jira_component=row.get("jira_component", ""),
        assignee=row.get("jira_assignee", ""),
        channel=row.get("slack_channel", ""),
        oncall=row.get("oncall", ""),
        mention=row.get("oncall", "") if paged else "",
        reason=reason,
    )
