"""Registers ``helpers.automation`` (the automation server) as a lab service.

The server is toolkit code, not a stand-in: it reads the settings ``lab up`` gives every service
(JIRA_*, SLACK_*, SPLUNK_*, AWS_*) plus its own secrets, and acts in AWS as the lab account's
``automation`` user (least privilege, never remediated itself).
"""

from labstack.aws.account import load_account
from labstack.services import Service, register

#: The automation's IAM user in labstack/aws/account.yaml.
AUTOMATION_USER = "automation"


def _settings(ports: dict[str, int], secrets: dict[str, str], scheme: str) -> dict[str, str]:
    base = f"{scheme}://127.0.0.1:{ports['api']}"
    token = secrets["AUTOMATION_TOKEN"]
    account = load_account()
    key = account.access_key_of(AUTOMATION_USER)
    values = {
        "AUTOMATION_URL": base,
        "AUTOMATION_SPLUNK_WEBHOOK_URL": f"{base}/splunk/webhook/{token}",
        "AUTOMATION_TOKEN": token,
        "JIRA_WEBHOOK_SECRET": secrets["JIRA_WEBHOOK_SECRET"],
        "AUTOMATION_AWS_ACCESS_KEY_ID": key.id,
        "AUTOMATION_AWS_SECRET_ACCESS_KEY": key.secret,
    }
    if account.alerts is not None:
        values["AUTOMATION_ALERT_TOPIC"] = account.alerts.topic
        values["AUTOMATION_ALERT_QUEUE"] = account.alerts.queue
    return values


register(
    Service(
        name="automation",
        module="helpers.automation",
        ports={"api": 8787},
        settings=_settings,
        secrets=("AUTOMATION_TOKEN", "JIRA_WEBHOOK_SECRET"),
        description="the automation server: alerts in, incidents, tickets, threads, fixes out",
        views=("/",),
    )
)
