"""Registers the Slack-compatible workspace as a lab service."""

from labstack.services import Service, register
from labstack.slack.webhooks import webhook_path

CHANNEL = "#sec-alerts"
#: The channel id the store gives the first channel (the one SLACK_CHANNEL names).
FIRST_CHANNEL_ID = "C0LAB00001"


def bot_token(secrets: dict[str, str]) -> str:
    return f"xoxb-lab-{secrets['SLACK_BOT_TOKEN']}"


def _settings(ports: dict[str, int], secrets: dict[str, str], scheme: str) -> dict[str, str]:
    base = f"{scheme}://127.0.0.1:{ports['api']}"
    token = bot_token(secrets)
    return {
        "SLACK_WEBHOOK_URL": base + webhook_path(token, FIRST_CHANNEL_ID),
        "SLACK_API_URL": f"{base}/api/",
        "SLACK_BOT_TOKEN": token,
        "SLACK_SIGNING_SECRET": secrets["SLACK_SIGNING_SECRET"],
        "SLACK_CHANNEL": CHANNEL,
    }


register(
    Service(
        name="slack",
        module="labstack.slack",
        ports={"api": 9002},
        settings=_settings,
        secrets=("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"),
        description="Slack-compatible workspace: webhooks, Web API, interactivity, web view",
        views=("/",),
    )
)
