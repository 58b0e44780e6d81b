"""The webhook alert action: Splunk's payload, and an outbox that delivers it with retries.

A fired alert's webhooks are written to the outbox (``alerts.sqlite``, see
:mod:`~labstack.splunk.alert_state`) before anything is sent, so a receiver that is down, or a
restart, loses nothing: the :class:`Outbox` thread POSTs each due delivery, retries connection
errors and 5xx/408/429 answers with exponential backoff, and after ``attempts`` tries marks it
``failed`` (shown on the alerts page and in ``alerts/fired_alerts``). Like Splunk, the
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
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

from labstack.splunk.alert_state import AlertState, Delivery
from labstack.splunk.atom import VERSION

log = logging.getLogger("labstack.splunk.alerts")

#: Tries per delivery before it is marked failed.
ATTEMPTS = 8
#: Seconds before the first retry; doubled after each failure, capped at MAX_BACKOFF.
BACKOFF = 1.0
MAX_BACKOFF = 60.0
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


def post(url: str, body: dict, timeout: float = TIMEOUT) -> int:
    """POST ``body`` as JSON; the HTTP status (an ``HTTPError`` status too). Connection
    problems raise ``OSError``."""
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
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


class Outbox:
    """Delivers pending webhooks from the state database until stopped."""

    def __init__(
        self,
        state: AlertState,
        attempts: int = ATTEMPTS,
        backoff: float = BACKOFF,
        timeout: float = TIMEOUT,
        clock=time.time,
    ):
        self.state = state
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.timeout = timeout
        self.clock = clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._inflight: set[int] = set()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="webhook")
        self._thread = threading.Thread(target=self._loop, name="webhook-outbox", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def wake(self) -> None:
        """New deliveries were queued: look now rather than at the next retry time."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                for delivery in self.state.due(self.clock()):
                    with self._lock:
                        if delivery.id in self._inflight:
                            continue
                        self._inflight.add(delivery.id)
                    self._pool.submit(self._attempt, delivery)
                next_due = self.state.next_due()
            except Exception:
                log.exception("webhook outbox failed; retrying")
                next_due = None
            wait = 5.0 if next_due is None else min(max(next_due - self.clock(), 0.01), 5.0)
            self._wake.wait(wait)

    def _attempt(self, delivery: Delivery) -> None:
        try:
            attempts = delivery.attempts + 1
            status: int | None = None
            try:
                status = post(delivery.url, delivery.payload, self.timeout)
                error = "" if status < 400 else f"HTTP {status}"
                retry = status >= 500 or status in RETRYABLE
            except (OSError, ValueError, http.client.HTTPException) as exc:  # refused, timed
                # out, a garbled answer, a bad URL (ValueError: not worth retrying)
                error = str(getattr(exc, "reason", None) or exc) or type(exc).__name__
                retry = not isinstance(exc, ValueError)
            now = self.clock()
            if not error:
                outcome, next_attempt = "delivered", now
            elif retry and attempts < self.attempts:
                outcome = "pending"
                next_attempt = now + min(self.backoff * 2 ** (attempts - 1), MAX_BACKOFF)
            else:
                outcome, next_attempt = "failed", now
            self.state.attempted(delivery.id, outcome, attempts, next_attempt, error, status, now)
            if outcome == "failed":
                log.warning(
                    "webhook for %r to %s failed after %d attempt(s): %s",
                    delivery.search, delivery.url, attempts, error,
                )  # fmt: skip
            elif outcome == "pending":
                log.info("webhook for %r to %s: %s; retrying", delivery.search, delivery.url, error)
        except Exception:
            log.exception("webhook delivery %s failed", delivery.id)
            try:  # never hot-loop on a delivery that breaks the sender: try it again later
                now = self.clock()
                self.state.attempted(delivery.id, "pending", delivery.attempts + 1,
                                     now + MAX_BACKOFF, "internal error", None, now)  # fmt: skip
            except Exception:
                log.exception("could not reschedule webhook delivery %s", delivery.id)
        finally:
            with self._lock:
                self._inflight.discard(delivery.id)
            self._wake.set()
