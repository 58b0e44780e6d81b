"""Registers the Jira-compatible service with the lab."""

import json

from labstack.jira.catalog import SEEDED_USERS
from labstack.services import Service, register

#: The automation account the helpers sign in as (its token is generated per lab home).
JIRA_USER = "lab-automation"
#: The lab's teams (helpers/detections/lookups/teams.csv) and their owners, for assign_to_team.
TEAM_OWNERS = dict(
    zip(("platform", "payments", "secops"), (u.name for u in SEEDED_USERS), strict=True)
)


def _settings(ports: dict[str, int], secrets: dict[str, str], scheme: str) -> dict[str, str]:
    return {
        "JIRA_URL": f"{scheme}://127.0.0.1:{ports['api']}",
        "JIRA_USER": JIRA_USER,
        "JIRA_TOKEN": secrets["JIRA_TOKEN"],
        "JIRA_PROJECT": "SEC",
        "JIRA_TEAM_OWNERS": json.dumps(TEAM_OWNERS),
    }


register(
    Service(
        name="jira",
        module="labstack.jira",
        ports={"api": 8081},
        settings=_settings,
        secrets=("JIRA_TOKEN",),
        description="Jira-compatible REST API, webhooks and board",
        views=("/board", "/webhooks"),
    )
)
