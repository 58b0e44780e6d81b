"""Small HTTP receivers for notebooks, tests and benchmarks: see what a service actually sends.

One :class:`Receiver` listens on a free loopback port (``helpers.runtime.serve``), on a thread,
and keeps every POST it is sent. Point a Splunk alert, a Jira webhook or a Slack app's Request
URL at ``receiver.url`` and :meth:`~Receiver.wait` for what arrives. Two thin variants check
signatures first, and answer a forged, stale or missing one with 401, recording nothing:

- :class:`JiraWebhookReceiver`: Jira's ``X-Hub-Signature: sha256=<HMAC-SHA256>`` with a secret
  (generated unless given; register it with the webhook).
- :class:`SlackActionReceiver`: Slack's ``v0`` request signature with the signing secret; the
  payloads are parsed clicks (:class:`helpers.slack.Interaction`).

>>> from helpers.receivers import Receiver
>>> with Receiver() as receiver:                                       # doctest: +SKIP
...     # ... create the alert with action.webhook.param.url=receiver.url, trigger it ...
...     [payload] = receiver.wait(1, timeout=30)
>>> payload["search_name"]                                            # doctest: +SKIP
'security-group-open-to-world'

They are for one machine; the automation server is the real receiver.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from helpers.runtime.serve import BIND_HOST, Server

__all__ = ["JiraWebhookReceiver", "Received", "Receiver", "SlackActionReceiver", "jira_event"]

#: ``verify(headers, body) -> bool``: False answers 401 and records nothing.
Verify = Callable[[dict[str, str], bytes], bool]
#: ``parse(body) -> payload``: a ValueError answers 400 and records nothing.
Parse = Callable[[bytes], Any]


@dataclass
class Received:
    """One accepted POST: its path, its payload, headers, raw body and arrival time."""

    path: str
    payload: Any
    headers: dict[str, str]
    body: bytes = b""
    time: float = field(default_factory=time.time)


def json_or_raw(body: bytes) -> Any:
    """The JSON body, or ``{"_raw": text}`` when it is not JSON."""
    text = body.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return {"_raw": text}


class Receiver:
    """Collects POSTs on ``http://127.0.0.1:<port><path>`` (any path is accepted); a context
    manager.

    ``port=0`` picks a free port; ``status`` is what an accepted POST is answered with (set it
    to 500 to play a failing receiver). ``verify`` and ``parse`` check and read each body.
    """

    def __init__(
        self,
        port: int = 0,
        host: str = BIND_HOST,
        path: str = "/hook",
        status: int = 200,
        *,
        verify: Verify | None = None,
        parse: Parse = json_or_raw,
    ):
        self.path, self.status = path, status
        self.verify, self.parse = verify, parse
        self.received: list[Received] = []
        self.rejected = 0
        self._arrived = threading.Condition()
        self._server = Server(self._app, host=host, port=port, name=f"{type(self).__name__}")
        self.host, self.port = host, self._server.port

    @property
    def url(self) -> str:
        return f"{self._server.url}{self.path}"

    @property
    def payloads(self) -> list[Any]:
        with self._arrived:
            return [r.payload for r in self.received]

    def _app(self, environ, start_response):
        if environ["REQUEST_METHOD"] != "POST":
            return self._answer(start_response, 405)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {
            key[5:].replace("_", "-").title(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        if self.verify is not None and not self.verify(headers, body):
            with self._arrived:
                self.rejected += 1
            return self._answer(start_response, 401)
        try:
            payload = self.parse(body)
        except ValueError:
            return self._answer(start_response, 400)
        path = environ.get("PATH_INFO", "")
        if environ.get("QUERY_STRING"):
            path += "?" + environ["QUERY_STRING"]
        with self._arrived:
            self.received.append(Received(path, payload, headers, body))
            self._arrived.notify_all()
        return self._answer(start_response, self.status)

    @staticmethod
    def _answer(start_response, status: int):
        start_response(f"{status} {'OK' if status < 400 else 'Refused'}", [("Content-Length", "0")])
        return [b""]

    def wait(self, count: int = 1, timeout: float = 30.0, where=None) -> list[Any]:
        """Block until ``count`` payloads (those for which ``where(payload)`` is true, if given)
        have arrived; return all that match. TimeoutError says how many came."""
        deadline = time.monotonic() + timeout

        def matching() -> list[Any]:
            return [r.payload for r in self.received if where is None or where(r.payload)]

        with self._arrived:
            while len(found := matching()) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"{len(found)} of {count} payload(s) arrived at {self.url} within "
                        f"{timeout} s ({self.rejected} rejected)"
                    )
                self._arrived.wait(left)
            return found

    def start(self) -> Receiver:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url}, {len(self.received)} received)"


def jira_event(name: str) -> Callable[[Any], bool]:
    """A ``where`` for :meth:`Receiver.wait`: payloads of one Jira webhook event.

    >>> jira_event("comment_created")({"webhookEvent": "comment_created"})
    True
    """
    return lambda payload: isinstance(payload, dict) and payload.get("webhookEvent") == name


def _json(body: bytes) -> Any:
    return json.loads(body)  # a ValueError answers 400


class JiraWebhookReceiver(Receiver):
    """Jira webhooks, signed: ``secret`` is generated unless given; register it with the hook.

    >>> from helpers import jira                                         # doctest: +SKIP
    >>> with JiraWebhookReceiver() as receiver:                          # doctest: +SKIP
    ...     jira.register_webhook(receiver.url, secret=receiver.secret)
    ...     [payload] = receiver.wait(where=jira_event("jira:issue_created"))
    """

    def __init__(self, secret: str | None = None, port: int = 0, host: str = BIND_HOST, **kw):
        from helpers.jira import verify_signature

        self.secret = secret or secrets.token_urlsafe(24)
        super().__init__(
            port,
            host,
            kw.pop("path", "/jira/webhook"),
            kw.pop("status", 204),
            verify=lambda headers, body: verify_signature(
                body, headers.get("X-Hub-Signature"), self.secret
            ),
            parse=_json,
            **kw,
        )


class SlackActionReceiver(Receiver):
    """A Slack app's Request URL: verified, parsed clicks (:class:`helpers.slack.Interaction`).

    ``signing_secret`` defaults to ``SLACK_SIGNING_SECRET``.

    >>> with SlackActionReceiver() as receiver:                          # doctest: +SKIP
    ...     [click] = receiver.wait(timeout=10)
    """

    def __init__(
        self, signing_secret: str | None = None, port: int = 0, host: str = BIND_HOST, **kw
    ):
        from helpers import slack
        from helpers.config import get_settings

        self.signing_secret = signing_secret or get_settings().require(
            "slack_signing_secret", "verifying Slack requests"
        )

        def parse(body: bytes):
            try:
                return slack.parse_interaction(body)
            except slack.SlackError as exc:
                raise ValueError(str(exc)) from exc

        super().__init__(
            port,
            host,
            kw.pop("path", "/slack/actions"),
            kw.pop("status", 200),
            verify=lambda headers, body: slack.verify_request(
                headers, body, signing_secret=self.signing_secret
            ),
            parse=parse,
            **kw,
        )
