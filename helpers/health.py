"""Which world am I in, and can I reach it? (notebook 00_setup)

>>> from helpers import health
>>> health.settings_table()                                           # doctest: +SKIP
>>> health.check()                                                    # doctest: +SKIP
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import requests
from pydantic import SecretStr

from helpers.aws import session
from helpers.config import Settings, get_settings

#: Settings shown by ``settings_table``, by product.
SHOWN = {
    "AWS": ["aws_endpoint_url", "aws_default_region", "aws_access_key_id", "aws_profile",
            "cloudtrail_bucket", "cloudtrail_queue"],
    "Splunk": ["splunk_url", "splunk_username", "splunk_password", "splunk_hec_url",
               "splunk_hec_token"],
    "Jira": ["jira_url", "jira_user", "jira_token", "jira_project"],
    "Slack": ["slack_api_url", "slack_webhook_url", "slack_bot_token", "slack_channel"],
    "Automation": ["automation_url"],
}  # fmt: skip


def settings_table(settings: Settings | None = None) -> pd.DataFrame:
    """The settings in use, secrets shown only as set / not set."""
    settings = settings or get_settings()
    rows = []
    for product, names in SHOWN.items():
        for name in names:
            value = getattr(settings, name)
            if isinstance(value, SecretStr):
                value = "(secret, set)" if value.get_secret_value() else None
            rows.append({"product": product, "setting": name.upper(), "value": value or "-"})
    return pd.DataFrame(rows)


def start_local_world() -> str:
    """Start the local world (``lab up --detach``; idempotent) and re-read the settings."""
    lab = shutil.which("lab", path=str(Path(sys.executable).parent)) or shutil.which("lab")
    if lab is None:
        raise RuntimeError("the `lab` command is not installed here: run `make demo` first")
    done = subprocess.run([lab, "up", "--detach"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"lab up failed:\n{done.stderr or done.stdout}")
    get_settings.cache_clear()
    return done.stdout


def check(settings: Settings | None = None, timeout: float = 5.0) -> pd.DataFrame:
    """Reach each configured product once; one row each with what answered (or why not)."""
    settings = settings or get_settings()
    rows = [_check_aws(settings)]
    if settings.splunk_url:
        rows.append(
            _http("Splunk", f"{settings.splunk_url.rstrip('/')}/services/server/info",
                  timeout, params={"output_mode": "json"}, auth=_splunk_auth(settings))
        )  # fmt: skip
    if settings.jira_url:
        rows.append(
            _http("Jira", f"{settings.jira_url.rstrip('/')}/rest/api/2/serverInfo", timeout)
        )
    if settings.slack_api_url or settings.slack_bot_token:
        rows.append(_check_slack(settings, timeout))
    return pd.DataFrame(rows, columns=["product", "ok", "detail"])


def _check_aws(settings: Settings) -> dict:
    try:
        who = session(settings).client("sts").get_caller_identity()
    except Exception as exc:  # shown to the student, not raised
        return {"product": "AWS", "ok": False, "detail": str(exc).splitlines()[0]}
    where = settings.aws_endpoint_url or "AWS"
    return {"product": "AWS", "ok": True, "detail": f"{who['Arn']} via {where}"}


def _splunk_auth(settings: Settings):
    if settings.splunk_username and settings.splunk_password:
        return (settings.splunk_username, settings.splunk_password.get_secret_value())
    return None


def _http(product: str, url: str, timeout: float, **kwargs) -> dict:
    try:
        response = requests.get(url, timeout=timeout, **kwargs)
    except requests.RequestException as exc:
        return {"product": product, "ok": False, "detail": f"{url}: {type(exc).__name__}"}
    return {"product": product, "ok": response.ok, "detail": f"{url}: HTTP {response.status_code}"}


def _check_slack(settings: Settings, timeout: float) -> dict:
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    kwargs = {"base_url": settings.slack_api_url} if settings.slack_api_url else {}
    try:
        answer = WebClient(token=token, timeout=int(timeout), **kwargs).auth_test()
    except (SlackApiError, OSError) as exc:
        return {"product": "Slack", "ok": False, "detail": str(exc).splitlines()[0]}
    return {"product": "Slack", "ok": True, "detail": f"team {answer.get('team')}"}
