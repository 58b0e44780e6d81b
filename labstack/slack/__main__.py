"""``python -m labstack.slack``: serve the workspace on 127.0.0.1 until SIGTERM.

Sockets come from ``LAB_FD_SLACK``/``LAB_PORT_SLACK``; every other setting is in :mod:`.config`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from werkzeug.serving import WSGIRequestHandler

from helpers.runtime.serve import Server, listener, run
from labstack.slack.app import SlackApp
from labstack.slack.config import Config
from labstack.slack.store import Store

#: Webhook keys, response_url tokens and ``token=`` arguments are secrets: never log them.
_SECRETS = [
    (re.compile(r"(/services/[^/\s]+/[^/\s]+/)[^\s?]+"), r"\1***"),
    (re.compile(r"(/actions/[^/\s]+/[^/\s]+/)[^\s?]+"), r"\1***"),
    (re.compile(r"(/commands/[^/\s]+/[^/\s]+/)[^\s?]+"), r"\1***"),
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


def build_app(environ: Mapping[str, str] = os.environ) -> SlackApp:
    """The app configured from environment variables (:class:`~labstack.slack.config.Config`)."""
    config = Config.from_env(environ)
    return SlackApp(
        Store(config.state_dir, config.channels),
        bot_token=config.bot_token,
        signing_secret=config.signing_secret,
        default_request_url=config.default_request_url,
        default_commands=config.default_commands,
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
