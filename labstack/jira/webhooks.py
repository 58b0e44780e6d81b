"""Jira webhooks: the admin API's documents, the outbox, and the delivery thread.

A change to an issue writes one delivery per matching webhook into SQLite, in the change's own
transaction (the outbox), so nothing is lost across restarts. A background thread POSTs due
deliveries in order; a receiver that is down or answers 408/429/5xx is retried with exponential
backoff, any other answer parks the delivery as ``failed`` where the web view shows it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from urllib.parse import urlparse

import requests

from labstack.jira import jql
from labstack.jira.catalog import PROJECT_ID
from labstack.jira.models import Jira, JiraError
from labstack.jira.render import Renderer
from labstack.jira.store import Store

log = logging.getLogger("labstack.jira.webhooks")

EVENTS = (
    "jira:issue_created",
    "jira:issue_updated",
    "jira:issue_deleted",
    "comment_created",
    "comment_updated",
    "comment_deleted",
)
FILTER_KEY = "issue-related-events-section"
RETRY_STATUSES = {408, 409, 425, 429, 500, 502, 503, 504}
BACKOFF_BASE = 0.5  # seconds before the first retry; doubles each attempt
BACKOFF_MAX = 30.0
MAX_ATTEMPTS = 40  # about 15 minutes of retries, then the delivery is parked
TIMEOUT = 5.0
SIGNATURE_HEADER = "X-Hub-Signature"


def sign(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature`` value for ``body``: ``sha256=<hex HMAC>``.

    >>> sign("s3cret", b"{}")[:7]
    'sha256='
    """
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff(attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failure (1-based)."""
    return min(BACKOFF_BASE * 2 ** (attempts - 1), BACKOFF_MAX)


# -- admin API -------------------------------------------------------------------------------------


class Registry:
    """Validates and renders webhook registrations (``/rest/webhooks/1.0/webhook``)."""

    def __init__(self, jira: Jira, store: Store, base_url: str, wake: threading.Event):
        self.jira = jira
        self.store = store
        self.base = base_url.rstrip("/") + "/rest/webhooks/1.0/webhook"
        self._wake = wake

    def wake(self) -> None:
        """Tell the delivery thread there is work now."""
        self._wake.set()

    def render(self, doc: dict) -> dict:
        return {
            "self": f"{self.base}/{doc['id']}",
            "name": doc["name"],
            "url": doc["url"],
            "events": doc["events"],
            "filters": {FILTER_KEY: doc.get("jql") or ""},
            "jqlFilter": doc.get("jql") or "",
            "excludeBody": doc.get("excludeBody", False),
            "enabled": doc.get("enabled", True),
            "lastUpdated": doc["lastUpdated"],
            "lastUpdatedUser": doc["lastUpdatedUser"],
            "lastUpdatedDisplayName": doc["lastUpdatedUser"],
        }

    def validate(self, body: dict, actor: str, current: dict | None = None) -> dict:
        if not isinstance(body, dict):
            raise JiraError(400, "The request body must be a JSON object.")
        doc = dict(current or {})
        errors = {}
        for key in ("name", "url", "events", "enabled", "secret"):
            if key in body:
                doc[key] = body[key]
        if "filters" in body or "jqlFilter" in body:
            filters = body.get("filters") or {}
            doc["jql"] = filters.get(FILTER_KEY, body.get("jqlFilter")) or ""
        if "excludeBody" in body or "excludeIssueDetails" in body:
            doc["excludeBody"] = bool(body.get("excludeBody", body.get("excludeIssueDetails")))
        if not str(doc.get("name") or "").strip():
            errors["name"] = "Name is required."
        url = urlparse(str(doc.get("url") or ""))
        if url.scheme not in ("http", "https") or not url.netloc:
            errors["url"] = "URL must be an absolute http(s) URL."
        events = doc.get("events")
        if not isinstance(events, list) or not events:
            errors["events"] = "At least one event is required."
        else:
            unknown = [e for e in events if e not in EVENTS]
            if unknown:
                errors["events"] = f"Unknown event(s): {', '.join(map(str, unknown))}."
        if errors:
            raise JiraError(400, [], errors)
        if doc.get("jql"):
            self.jira.search(doc["jql"], actor)  # raises Jira's JQL error as a 400
        doc.setdefault("enabled", True)
        doc.setdefault("excludeBody", False)
        doc["lastUpdated"] = int(time.time() * 1000)
        doc["lastUpdatedUser"] = actor
        return doc


# -- outbox ----------------------------------------------------------------------------------------


class Outbox:
    """Turns issue events into queued deliveries (call ``on_event`` inside the change's tx)."""

    def __init__(self, store: Store, renderer: Renderer, wake: threading.Event):
        self.store = store
        self.render = renderer
        self.wake = wake
        self.jira: Jira | None = None  # set after construction (the Jira needs the outbox too)

    def on_event(
        self,
        event: str,
        issue: dict,
        actor: str,
        type_name: str | None = None,
        changelog: dict | None = None,
        comment: dict | None = None,
    ) -> None:
        hooks = [
            h for h in self.store.webhooks() if h.get("enabled", True) and event in h["events"]
        ]
        if not hooks:
            return
        payload = {
            "timestamp": int(time.time() * 1000),
            "webhookEvent": event,
            "user": self.render.user_by_name(actor),
            "issue": self.render.issue(issue),
        }
        if type_name:
            payload["issue_event_type_name"] = type_name
        if changelog:
            payload["changelog"] = changelog
        if comment:
            payload["comment"] = self.render.comment(issue, comment)
        if event.startswith("comment_"):
            del payload["user"]
        body = json.dumps(payload)
        for hook in hooks:
            if hook.get("jql") and not self._matches(issue, hook["jql"]):
                continue
            url = _substitute(hook["url"], issue, self.render)
            self.store.enqueue(
                hook["id"], url, "" if hook.get("excludeBody") else body, hook.get("secret")
            )
        self.wake.set()

    def _matches(self, issue: dict, query: str) -> bool:
        try:
            return self.jira.matches(issue, query)
        except (JiraError, jql.JqlError):
            return False


def _substitute(url: str, issue: dict, render: Renderer) -> str:
    project = render.cat.config.project
    for token, value in (
        ("${issue.key}", issue["key"]),
        ("${issue.id}", str(issue["id"])),
        ("${project.key}", project),
        ("${project.id}", PROJECT_ID),
    ):
        url = url.replace(token, value)
    return url


# -- delivery --------------------------------------------------------------------------------------


class Dispatcher(threading.Thread):
    """Delivers queued webhooks, oldest first, until ``stop()``."""

    def __init__(self, store: Store, wake: threading.Event):
        super().__init__(name="jira-webhooks", daemon=True)
        self.store = store
        self.wake = wake
        self._stopping = threading.Event()
        self.http = requests.Session()
        self.http.trust_env = False  # receivers are addressed directly, never via a proxy

    def stop(self) -> None:
        self._stopping.set()
        self.wake.set()

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.deliver_due()
            except Exception:  # keep delivering whatever one bad row does
                log.exception("webhook delivery loop failed")
            next_at = self.store.next_due()
            wait = 1.0 if next_at is None else max(0.0, min(next_at - time.time(), 1.0))
            self.wake.wait(wait)
            self.wake.clear()

    def deliver_due(self) -> None:
        for row in self.store.due(time.time()):
            if self._stopping.is_set():
                return
            self.deliver(row)

    def deliver(self, row: dict) -> None:
        body = row["body"].encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Atlassian Webhook HTTP Client",
            "X-Atlassian-Webhook-Identifier": str(row["id"]),
            "X-Atlassian-Webhook-Retry": str(row["attempts"]),
        }
        if row.get("secret"):
            headers[SIGNATURE_HEADER] = sign(row["secret"], body)
        try:
            resp = self.http.post(row["url"], data=body, headers=headers, timeout=TIMEOUT)
        except requests.RequestException as err:
            self._retry(row, f"{type(err).__name__}: {err}")
            return
        if 200 <= resp.status_code < 300:
            self.store.delivered(row["id"])
        elif resp.status_code in RETRY_STATUSES:
            self._retry(row, f"HTTP {resp.status_code}")
        else:
            self.store.failed_attempt(row["id"], f"HTTP {resp.status_code}", None)
            log.warning("webhook %s to %s parked: HTTP %s", row["id"], row["url"], resp.status_code)

    def _retry(self, row: dict, error: str) -> None:
        attempts = row["attempts"] + 1
        if attempts >= MAX_ATTEMPTS:
            self.store.failed_attempt(row["id"], error, None)
            log.warning(
                "webhook %s to %s parked after %s attempts", row["id"], row["url"], attempts
            )
            return
        self.store.failed_attempt(row["id"], error, time.time() + backoff(attempts))
