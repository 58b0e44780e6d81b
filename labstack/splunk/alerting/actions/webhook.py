"""The webhook alert action (``actions=webhook``): Splunk's JSON POST to
``action.webhook.param.url``.

The URL must be http(s) and, when an allow-list is set (alert_actions.conf ``[webhook]
enable_allowlist``/``allowlist.*``, Splunk 9), match one of its regexes: checked when the saved
search is stored (400 naming the URL) and again before each delivery.

The receiver's answer is ignored, as in Splunk, except to decide on a retry: connection errors and
5xx/408/429 answers are retried with backoff (a 429's Retry-After is honoured); any other 4xx is
a dead letter at once, since repeating it cannot help.

>>> payload({"user": "alice", "count": 3}, "sid1", "Lab Alert", "admin", "search",
...         "http://127.0.0.1:8089/app/search/@go?sid=sid1")["result"]
{'user': 'alice', 'count': '3'}
"""

from __future__ import annotations

import http.client
import json
import re
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from helpers.runtime.queue import Permanent, Retry
from labstack.splunk.alerting.actions import ACTIONS, Action, ActionError, Outgoing, Trigger
from labstack.splunk.alerting.rule import AlertRule, ConditionError
from labstack.splunk.atom import VERSION

__all__ = ["Webhook", "payload", "post", "url_problem"]

RETRYABLE = {408, 429}
USER_AGENT = f"Splunk/{VERSION}"

# Loopback receivers must be reached directly, whatever proxy the environment names.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def text_values(row: dict | None) -> dict:
    """A result with every value as text (lists of text for multivalue fields)."""

    def text(value):
        if isinstance(value, list):
            return [text(v) for v in value]
        if value is None:
            return ""
        return value if isinstance(value, str) else str(value)

    return {str(k): text(v) for k, v in (row or {}).items()}


def payload(
    row: dict | None, sid: str, search_name: str, owner: str, app: str, results_link: str
) -> dict:
    """The JSON body Splunk's webhook action POSTs (wire spec 1.10); values are strings."""
    return {
        "result": text_values(row),
        "sid": sid,
        "results_link": results_link,
        "search_name": search_name,
        "owner": owner,
        "app": app,
    }


def post(url: str, body: dict, timeout: float) -> tuple[int, float | None]:
    """POST ``body`` as JSON: the HTTP status (an ``HTTPError`` status too) and the answer's
    Retry-After seconds, if any. Connection problems raise ``OSError``."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
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


def url_problem(url: str, allowlist: tuple[str, ...] = ()) -> str | None:
    """Why a webhook may not POST to ``url``, or None.

    >>> url_problem("file:///etc/passwd")
    "action.webhook.param.url='file:///etc/passwd' must be an http:// or https:// URL."
    >>> url_problem("http://127.0.0.1:8000/x", (r"https://hooks\\.example\\.com/.*",))
    "action.webhook.param.url='http://127.0.0.1:8000/x' is not in the webhook allow-list."
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"action.webhook.param.url={url!r} must be an http:// or https:// URL."
    if allowlist and not any(re.search(pattern, url) for pattern in allowlist):
        return f"action.webhook.param.url={url!r} is not in the webhook allow-list."
    return None


@ACTIONS.register("webhook")
class Webhook(Action):
    name = "webhook"

    def check(self, rule: AlertRule) -> None:
        url = rule.param("webhook", "url")
        if rule.action_enabled("webhook") and url:
            problem = url_problem(url, self.settings.webhook_allowlist)
            if problem:
                raise ConditionError(problem)

    def prepare(self, trigger: Trigger) -> list[Outgoing]:
        url = trigger.rule.param("webhook", "url")
        if not url:
            raise ActionError("actions=webhook but action.webhook.param.url is empty")
        problem = url_problem(url, self.settings.webhook_allowlist)
        if problem:  # stored before the check, or the allow-list changed since
            raise ActionError(problem)
        rule = trigger.rule
        body = payload(trigger.row, trigger.sid, rule.name, rule.owner, rule.app,
                       trigger.results_link)  # fmt: skip
        return [Outgoing(url, body)]

    def deliver(self, delivery: Outgoing) -> str:
        try:
            status, after = post(delivery.target, delivery.payload, self.settings.timeout)
        except ValueError as exc:  # a bad URL: repeating it cannot help
            raise Permanent(str(exc)) from None
        except (OSError, http.client.HTTPException) as exc:  # refused, timed out, garbled
            raise Retry(str(getattr(exc, "reason", None) or exc) or type(exc).__name__) from None
        if status < 400:
            return f"HTTP {status}"
        error = f"HTTP {status}"
        if status >= 500 or status in RETRYABLE:
            raise Retry(error, after=after if status == 429 else None)
        raise Permanent(error)
