"""The webhook alert action: Splunk's payload, and an outbox that delivers it with retries.

A fired alert's webhooks are written to the outbox (a :class:`helpers.runtime.queue.Queue` in
``alerts.sqlite``, see :mod:`~labstack.splunk.alert_state`) before anything is sent, so a
receiver that is down, or a restart, loses nothing: the :class:`Outbox` workers POST each due
delivery, retry connection errors and 5xx/408/429 answers with exponential backoff (a 429's
Retry-After is honoured), and after ``attempts`` tries keep it as a dead letter, ``failed`` on the
alerts page and in ``alerts/fired_alerts``. Like Splunk, the
receiver's answer is otherwise ignored; a 4xx other than 408/429 fails at once, since repeating
it cannot help.

>>> payload({"user": "alice", "count": 3}, "sid1", "Lab Alert", "admin", "search",
...         "http://127.0.0.1:8089")["results_link"]
'http://127.0.0.1:8089/app/search/@go?sid=sid1'
"""

from __future__ import annotations

import http.client
import json
import logging
import urllib.error
import urllib.request
from urllib.parse import quote

from helpers.runtime.queue import Message, Permanent, Retry, Worker
from labstack.splunk.alert_state import AlertState
from labstack.splunk.atom import VERSION

log = logging.getLogger("labstack.splunk.alerts")

#: Tries per delivery before it is marked failed.
ATTEMPTS = 8
#: Seconds before the first retry; doubled after each failure, capped at MAX_BACKOFF.
BACKOFF = 1.0
MAX_BACKOFF = 60.0
#: Each backoff delay is spread over +-10%, so retries of many deliveries do not bunch up.
JITTER = 0.1
#: Seconds one POST may take (connect + answer).
TIMEOUT = 10.0
#: POSTs in flight at once (a slow receiver must not hold up the others).
WORKERS = 4
RETRYABLE = {408, 429}
USER_AGENT = f"Splunk/{VERSION}"

# Loopback receivers must be reached directly, whatever proxy the environment names.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _text(value):
    if isinstance(value, list):
        return [_text(v) for v in value]
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def payload(row: dict | None, sid: str, search_name: str, owner: str, app: str, web: str) -> dict:
    """The JSON body Splunk's webhook action POSTs (wire spec 1.10); values are strings."""
    return {
        "result": {str(k): _text(v) for k, v in (row or {}).items()},
        "sid": sid,
        "results_link": f"{web}/app/{quote(app)}/@go?sid={quote(sid, safe='')}",
        "search_name": search_name,
        "owner": owner,
        "app": app,
    }


def post(url: str, body: dict, timeout: float = TIMEOUT) -> tuple[int, float | None]:
    """POST ``body`` as JSON: the HTTP status (an ``HTTPError`` status too) and the answer's
    Retry-After seconds, if any. Connection problems raise ``OSError``."""
    data = json.dumps(body).encode()
    request = urllib.request.Request(
        url,
        data=data,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read()
            return response.status, None
    except urllib.error.HTTPError as exc:
        return exc.code, _retry_after(exc.headers.get("Retry-After"))


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: the backoff decides


class Outbox:
    """Delivers the queued webhooks (``state.webhooks``) on a few worker threads until stopped."""

    def __init__(self, state: AlertState, timeout: float = TIMEOUT, workers: int = WORKERS):
        self.state = state
        self.queue = state.webhooks
        self.timeout = timeout
        # Several workers: a slow receiver must not hold up the others.
        self._workers = [
            Worker(self.queue, self.deliver, name=f"webhook-{n}", batch=1) for n in range(workers)
        ]

    def start(self) -> None:
        for worker in self._workers:
            worker.start()

    def stop(self) -> None:
        for worker in self._workers:
            worker.stop(timeout=0)
        for worker in self._workers:
            worker.join(timeout=5)

    def wake(self) -> None:
        """New deliveries were queued: look now rather than at the next retry time."""
        self.queue.wake()

    def deliver(self, message: Message) -> str:
        """One attempt at one delivery (the queue's handler): a note, or Retry / Permanent."""
        body = message.body
        try:
            status, after = post(body["url"], body["payload"], self.timeout)
        except ValueError as exc:  # a bad URL: repeating it cannot help
            self._gave_up(message, str(exc))
            raise Permanent(str(exc)) from None
        except (OSError, http.client.HTTPException) as exc:  # refused, timed out, garbled
            error = str(getattr(exc, "reason", None) or exc) or type(exc).__name__
            self._retrying(message, error)
            raise Retry(error) from None
        if status < 400:
            return f"HTTP {status}"
        error = f"HTTP {status}"
        if status >= 500 or status in RETRYABLE:
            self._retrying(message, error)
            raise Retry(error, after=after if status == 429 else None)
        self._gave_up(message, error)
        raise Permanent(error)

    def _retrying(self, message: Message, error: str) -> None:
        if message.attempts >= self.queue.max_attempts:
            self._gave_up(message, error)
        else:
            log.info("webhook for %r to %s: %s; retrying", message.body["search"],
                     message.body["url"], error)  # fmt: skip

    def _gave_up(self, message: Message, error: str) -> None:
        log.warning(
            "webhook for %r to %s failed after %d attempt(s): %s",
            message.body["search"], message.body["url"], message.attempts, error,
        )  # fmt: skip
