"""Connect Splunk and Jira to the automation server, the way you would next to real products:

- the detection catalog as Splunk alerts whose webhook is ``AUTOMATION_SPLUNK_WEBHOOK_URL``;
- Jira's webhook for created and updated issues, signed with ``JIRA_WEBHOOK_SECRET``, to the
  server's ``/jira/webhook``.

Each step is idempotent. (The Slack app's Request URL is set in the app's settings on a real
workspace; ``lab up`` sets the local one.)

>>> connect()                                                         # doctest: +SKIP
{'detections': '11 saved searches alert the automation server', 'jira': 'webhook ...'}
"""

from __future__ import annotations

from helpers import jira, splunk
from helpers.config import Settings, get_settings

__all__ = ["WEBHOOK_NAME", "connect"]

WEBHOOK_NAME = "lab-automation"


def connect(settings: Settings | None = None, *, fresh_alerts: bool = False) -> dict[str, str]:
    """Wire detections -> automation and Jira -> automation; say what was done.

    ``fresh_alerts`` re-creates the saved searches, forgetting their throttles (so an attack
    repeated within a throttle period alerts again: demos, notebooks run back to back).
    """
    settings = settings or get_settings()
    automation = settings.require("automation_url", "the automation server's base URL")
    hook = settings.require("automation_splunk_webhook_url", "the Splunk webhook URL")
    installed = splunk.install_detections(hook, settings=settings, fresh=fresh_alerts)
    jira.register_webhook(
        f"{automation}/jira/webhook",
        events=("jira:issue_created", "jira:issue_updated"),
        name=WEBHOOK_NAME,
        secret=settings.require("jira_webhook_secret", "signing Jira's webhooks"),
        client=jira.connect(settings),
    )
    return {
        "detections": f"{len(installed)} saved searches alert the automation server",
        "jira": f"webhook {WEBHOOK_NAME} -> {automation}/jira/webhook (signed)",
    }
