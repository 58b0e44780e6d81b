"""Test access to the Slack stand-in's admin API (``/_lab/...``) and a private service process."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from pathlib import Path

import requests

from labstack.process import spawn


class SlackAdmin:
    """The stand-in's test switches: channels, Request URL, clicks and the 429 fault."""

    def __init__(self, api_url: str, token: str):
        self.root = api_url.rstrip("/").removesuffix("/api")
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.headers["Authorization"] = f"Bearer {token}"

    def _call(self, verb: str, path: str, **kwargs) -> dict:
        resp = self.session.request(verb, self.root + path, timeout=10, **kwargs)
        resp.raise_for_status()
        return resp.json()

    def new_channel(self, prefix: str = "t") -> dict:
        """A fresh channel (with its webhook URL), so tests never see each other's messages."""
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        channels = self._call("POST", "/_lab/channels", json={"name": name})["channels"]
        return next(c for c in channels if c["name"] == name)

    def set_request_url(self, url: str | None) -> dict:
        return self._call("PUT", "/_lab/interactivity", json={"request_url": url})

    def click(self, channel: str, ts: str, action_id: str, **extra) -> dict:
        body = {"channel": channel, "ts": ts, "action_id": action_id, **extra}
        return self._call("POST", "/_lab/click", json=body)["interaction"]

    def rate_limit(self, count: int, retry_after: int = 1) -> None:
        self._call("PUT", "/_lab/faults", json={"rate_limit": count, "retry_after": retry_after})

    def clear_faults(self) -> None:
        self._call("DELETE", "/_lab/faults")

    def page(self, path: str) -> str:
        resp = self.session.get(self.root + path, timeout=10)
        resp.raise_for_status()
        return resp.text


@contextmanager
def slack_process(state_dir: Path, token: str, secret: str):
    """Run ``python -m labstack.slack`` on its own (for restart tests); yields its base URL.

    Its output goes to ``<state_dir>/service.log``.
    """
    env = {"SLACK_BOT_TOKEN": token, "SLACK_SIGNING_SECRET": secret}
    log = Path(state_dir) / "service.log"
    with spawn("slack", state_dir, env, log=log) as proc:
        yield proc.url
