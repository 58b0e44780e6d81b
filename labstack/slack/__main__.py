"""``python -m labstack.slack``: serve the workspace on 127.0.0.1 until SIGTERM.

Reads ``LAB_FD_SLACK``/``LAB_PORT_SLACK``, ``LAB_STATE_DIR``, ``SLACK_BOT_TOKEN``,
``SLACK_SIGNING_SECRET``, ``SLACK_CHANNEL`` and ``AUTOMATION_URL`` (the default Request URL is
``$AUTOMATION_URL/slack/actions``).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from werkzeug.serving import WSGIRequestHandler

from helpers.runtime.serve import Server, listener, run
from labstack.slack.app import SlackApp
from labstack.slack.store import DEFAULT_CHANNELS, Store

#: Webhook keys, response_url tokens and ``token=`` arguments are secrets: never log them.
_SECRETS = [
    (re.compile(r"(/services/[^/\s]+/[^/\s]+/)[^\s?]+"), r"\1***"),
    (re.compile(r"(/actions/[^/\s]+/[^/\s]+/)[^\s?]+"), r"\1***"),
    (re.compile(r"(token=)[^&\s]+"), r"\1***"),
]


def redact(line: str) -> str:
    """A request line with its secrets masked.

    >>> redact("POST /services/T0LAB0001/B0LAB00001/abc123 HTTP/1.1")
    'POST /services/T0LAB0001/B0LAB00001/*** HTTP/1.1'
    """
    for pattern, replacement in _SECRETS:
        line = pattern.sub(replacement, line)
    return line


class _Handler(WSGIRequestHandler):
    def log_request(self, code="-", size="-") -> None:
        path, line = getattr(self, "path", None), self.requestline
        self.requestline = redact(line)
        if path is not None:
            self.path = redact(path)
        try:
            super().log_request(code, size)
        finally:
            self.requestline = line
            if path is not None:
                self.path = path


def _require(environ, name: str) -> str:
    value = environ.get(name)
    if not value:
        sys.exit(f"labstack.slack: environment variable {name} is not set (`lab up` sets it)")
    return value


def build_app(environ: dict | os._Environ = os.environ) -> SlackApp:
    """The app configured from environment variables."""
    state_dir = Path(environ.get("LAB_STATE_DIR") or ".lab/state/slack")
    first = (environ.get("SLACK_CHANNEL") or "#sec-alerts").removeprefix("#")
    channels = (first, *(c for c in DEFAULT_CHANNELS if c != first))
    automation = environ.get("AUTOMATION_URL")
    return SlackApp(
        Store(state_dir, channels),
        bot_token=_require(environ, "SLACK_BOT_TOKEN"),
        signing_secret=_require(environ, "SLACK_SIGNING_SECRET"),
        default_request_url=f"{automation.rstrip('/')}/slack/actions" if automation else None,
    )


def main() -> int:
    fd, port = listener("slack")
    server = Server(
        build_app(), port=port, fd=fd, setting="LAB_PORT_SLACK", request_handler=_Handler,
        name="slack",
    )  # fmt: skip
    print(f"slack: serving on {server.url}", flush=True)
    code = run([server])
    print("slack: stopped", flush=True)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
