"""Test access to the Slack stand-in's admin API (``/_lab/...``) and a private service process."""

from __future__ import annotations

import html
import json
import re
import threading
import uuid
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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

    def interactivity(self) -> dict:
        return self._call("GET", "/_lab/interactivity")

    @contextmanager
    def commands(self, commands: dict[str, str]):
        """The app's slash commands set to ``commands`` for a while, then put back."""
        before = self.interactivity()
        keep = {"request_url": before["configured"]}
        self._call("PUT", "/_lab/interactivity", json={**keep, "commands": commands})
        try:
            yield
        finally:
            self._call(
                "PUT",
                "/_lab/interactivity",
                json={**keep, "commands": before["configured_commands"]},
            )

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


class ViewUser:
    """A person using the web view: a browser-like session signed in as ``user`` (``?as=``)."""

    def __init__(self, root: str, user: str = "alice"):
        self.root = root.rstrip("/")
        self.user = user
        self.http = requests.Session()
        self.http.trust_env = False

    def page(self, channel_id: str, **params) -> str:
        resp = self.http.get(
            f"{self.root}/archives/{channel_id}", params={"as": self.user, **params}, timeout=10
        )
        resp.raise_for_status()
        return resp.text

    def csrf(self, channel_id: str) -> str:
        match = re.search(r'name="csrf" value="([^"]+)"', self.page(channel_id))
        assert match, "the page has no CSRF token"
        return html.unescape(match.group(1))

    def send(self, channel_id: str, text: str, **headers) -> requests.Response:
        """Type ``text`` in the message box and press Enter."""
        data = {"csrf": self.csrf(channel_id), "text": text}
        return self.post(f"/archives/{channel_id}/message", data, **headers)

    def click(self, channel_id: str, ts: str, action_id: str, **headers) -> requests.Response:
        data = {"csrf": self.csrf(channel_id), "ts": ts, "action_id": action_id}
        return self.post(f"/archives/{channel_id}/click", data, **headers)

    def post(self, path: str, data: dict, **headers) -> requests.Response:
        headers = {k.replace("_", "-"): v for k, v in headers.items()}
        return self.http.post(self.root + path, data=data, headers=headers, timeout=15)


class CommandReceiver:
    """A slash command's Request URL: records each request, answers ``status`` and ``answer``."""

    def __init__(self, answer: dict | str | None = None, status: int = 200):
        self.requests: list[dict] = []
        self.answer, self.status = answer, status
        self.got = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append({"headers": dict(self.headers.items()), "body": body})
                answer = receiver.answer
                if isinstance(answer, dict):
                    data, kind = json.dumps(answer).encode(), "application/json"
                else:
                    data, kind = (answer or "").encode(), "text/plain"
                self.send_response(receiver.status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                receiver.got.set()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/slack/commands"

    def __enter__(self) -> CommandReceiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


#: An incident as the Slack helpers take it (tests give each one a unique resource).
INCIDENT = {
    "detection": "security-group-open-to-world",
    "title": "Security group opened to the world",
    "severity": "high",
    "actor": "arn:aws:iam::123456789012:user/dev-alice",
    "resource": "sg-0123456789abcdef0",
    "account": "123456789012",
    "account_owner": "platform-team",
    "source_ip": "77.88.8.8",
}
