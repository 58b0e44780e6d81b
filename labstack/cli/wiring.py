"""Wire the local world end to end (what ``lab up`` does unless ``--bare``).

- the detection catalog installed as Splunk alerts whose webhook is the automation server's
  ``AUTOMATION_SPLUNK_WEBHOOK_URL``;
- Jira's webhook for created and updated issues, signed with ``JIRA_WEBHOOK_SECRET``, pointing at
  the automation server's ``/jira/webhook``;
- the Slack app's interactivity Request URL (``/slack/actions``) and its ``/secbot`` slash command
  (``/slack/commands``) on the automation server.

Each step is idempotent, so wiring twice changes nothing.
"""

from __future__ import annotations

import requests

__all__ = ["loopback_session", "wire"]

SLASH_COMMAND = "/secbot"


def loopback_session() -> requests.Session:
    """An HTTP session for the local world: addressed directly, never through a proxy."""
    session = requests.Session()
    session.trust_env = False
    return session


def wire(settings, *, fresh_alerts: bool = False) -> dict[str, str]:
    """Wire detections and Jira to the automation (``helpers.automation.wiring.connect``), and
    the local Slack app to it; say what was done.

    ``fresh_alerts`` re-creates the saved searches, forgetting their throttles (``lab demo``).
    """
    from helpers.automation import wiring

    done = wiring.connect(settings, fresh_alerts=fresh_alerts)
    automation = settings.require("automation_url", "the automation server's base URL")
    _slack_app(settings, automation)
    return {**done, "slack": f"interactivity and {SLASH_COMMAND} -> {automation}/slack/..."}


def _slack_app(settings, automation: str) -> None:
    """Point the local Slack app's Request URL and slash command at the automation server."""
    root = settings.require("slack_api_url").rstrip("/").removesuffix("/api")
    token = settings.require("slack_bot_token")
    headers = {"Authorization": f"Bearer {token}"}
    with loopback_session() as session:
        resp = session.put(
            f"{root}/_lab/interactivity",
            json={
                "request_url": f"{automation}/slack/actions",
                "commands": {SLASH_COMMAND: f"{automation}/slack/commands"},
            },
            headers=headers,
            timeout=10,
        )
        resp.raise_for_status()
