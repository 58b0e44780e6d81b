"""Registers the Jira-compatible service with the lab."""

from labstack.services import Service, register

#: The automation account the helpers sign in as (its token is generated per lab home).
JIRA_USER = "lab-automation"


def _settings(ports: dict[str, int], secrets: dict[str, str]) -> dict[str, str]:
    return {
        "JIRA_URL": f"http://127.0.0.1:{ports['api']}",
        "JIRA_USER": JIRA_USER,
        "JIRA_TOKEN": secrets["JIRA_TOKEN"],
        "JIRA_PROJECT": "SEC",
    }


register(
    Service(
        name="jira",
        module="labstack.jira",
        ports={"api": 8081},
        health="/status",
        settings=_settings,
        secrets=("JIRA_TOKEN",),
        description="Jira-compatible REST API, webhooks and board",
    )
)
