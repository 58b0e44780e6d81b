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
from pydantic import SecretStr

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


#: The checks of ``lab doctor`` that say whether each product answers at all.
REACH = ("AWS identity", "Splunk REST login", "Jira myself", "Slack auth")


def check(settings: Settings | None = None) -> pd.DataFrame:
    """Reach each configured product once; one row each with what answered (or why not).
    ``lab doctor`` (:func:`helpers.doctor.run`) checks everything else."""
    from helpers import doctor

    rows = [
        {"product": f.product, "ok": f.status == "ok", "detail": f.detail}
        for f in doctor.run(settings, checks=REACH)
        if f.status != "skip"
    ]
    return pd.DataFrame(rows, columns=["product", "ok", "detail"])
