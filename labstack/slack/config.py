"""The lab Slack's settings, read from the environment once, at start (``lab up`` sets them).

>>> config = Config.from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s",
...                           "SLACK_CHANNEL": "#soc", "AUTOMATION_URL": "http://127.0.0.1:8000/"})
>>> config.channels[:2], config.default_request_url
(('soc', 'sec-alerts'), 'http://127.0.0.1:8000/slack/actions')
>>> config.default_commands
{'/secbot': 'http://127.0.0.1:8000/slack/commands'}
>>> Config.from_env({})  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
...
SystemExit: labstack.slack: missing environment variable(s): SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from labstack.envconfig import require
from labstack.slack.store import DEFAULT_CHANNELS

__all__ = ["Config"]

REQUIRED = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
DEFAULT_STATE_DIR = ".lab/state/slack"
DEFAULT_CHANNEL = "#sec-alerts"


@dataclass(frozen=True)
class Config:
    """``SLACK_BOT_TOKEN``, ``SLACK_SIGNING_SECRET`` (required), ``SLACK_CHANNEL`` (listed
    first), ``AUTOMATION_URL`` (the default interactivity Request URL is
    ``$AUTOMATION_URL/slack/actions``, its ``/secbot`` command ``$AUTOMATION_URL/slack/commands``)
    and ``LAB_STATE_DIR``."""

    bot_token: str
    signing_secret: str
    channels: tuple[str, ...] = DEFAULT_CHANNELS
    default_request_url: str | None = None
    default_commands: dict[str, str] = field(default_factory=dict)
    state_dir: Path = Path(DEFAULT_STATE_DIR)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Config:
        require(environ, REQUIRED, "labstack.slack")
        first = (environ.get("SLACK_CHANNEL") or DEFAULT_CHANNEL).removeprefix("#")
        automation = (environ.get("AUTOMATION_URL") or "").rstrip("/")
        return cls(
            bot_token=environ["SLACK_BOT_TOKEN"],
            signing_secret=environ["SLACK_SIGNING_SECRET"],
            channels=(first, *(c for c in DEFAULT_CHANNELS if c != first)),
            default_request_url=f"{automation}/slack/actions" if automation else None,
            default_commands={"/secbot": f"{automation}/slack/commands"} if automation else {},
            state_dir=Path(environ.get("LAB_STATE_DIR") or DEFAULT_STATE_DIR),
        )
