"""Jira webhooks: the admin API's documents, the outbox, and the delivery worker.

A change to an issue queues one delivery per matching webhook (a
:class:`helpers.runtime.queue.Queue` in the Jira database), in the change's own transaction, so
nothing is lost across restarts. A worker POSTs due deliveries in order, signing each with its
webhook's current secret; a receiver that is down or answers 408/429/5xx is retried with
exponential backoff (a 429's Retry-After is honoured), any other answer parks the delivery as a
dead letter, ``failed`` where the web view shows it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import NoReturn
from urllib.parse import urlparse

import requests

from helpers.runtime.queue import Message, Permanent, Retry, Worker
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
TIMEOUT = 5.0
SIGNATURE_HEADER = "X-Hub-Signature"


def sign(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature`` value for ``body``: ``sha256=<hex HMAC>``.

    >>> sign("s3cret", b"{}")[:7]
    'sha256='
    """
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# -- admin API -------------------------------------------------------------------------------------


class Registry:
    """Validates and renders webhook registrations (``/rest/webhooks/1.0/webhook``)."""

    def __init__(self, jira: Jira, store: Store, base_url: str):
        self.jira = jira
        self.store = store
        self.base = base_url.rstrip("/") + "/rest/webhooks/1.0/webhook"

    def wake(self) -> None:
        """Tell the delivery worker there is work now."""
        self.store.deliveries_queue.wake()

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

    def __init__(self, store: Store, renderer: Renderer):
        self.store = store
        self.render = renderer
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
            self.store.enqueue(hook["id"], url, "" if hook.get("excludeBody") else body)

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


class Dispatcher(Worker):
    """Delivers queued webhooks, oldest first, until ``stop()``."""

    def __init__(self, store: Store):
        super().__init__(store.deliveries_queue, self.deliver, name="jira-webhooks", batch=5)
        self.store = store
        self.http = requests.Session()
        self.http.trust_env = False  # receivers are addressed directly, never via a proxy

    def deliver(self, message: Message) -> str:
        """One attempt (the queue's handler): a note, or ``Retry`` / ``Permanent``."""
        row = message.body
        body = row["body"].encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Atlassian Webhook HTTP Client",
            "X-Atlassian-Webhook-Identifier": str(message.id),
            "X-Atlassian-Webhook-Retry": str(message.attempts - 1),
        }
        secret = (self.store.webhook(row["webhook_id"]) or {}).get("secret")
        if secret:
            headers[SIGNATURE_HEADER] = sign(secret, body)
        try:
            resp = self.http.post(row["url"], data=body, headers=headers, timeout=TIMEOUT)
        except requests.RequestException as err:
            self._retrying(message, f"{type(err).__name__}: {err}")
        if 200 <= resp.status_code < 300:
            return f"HTTP {resp.status_code}"
        if resp.status_code in RETRY_STATUSES:
            self._retrying(message, f"HTTP {resp.status_code}", resp.headers.get("Retry-After"))
        log.warning("webhook %s to %s parked: HTTP %s", message.id, row["url"], resp.status_code)
        raise Permanent(f"HTTP {resp.status_code}")

    def _retrying(self, message: Message, error: str, retry_after: str | None = None) -> NoReturn:
        if message.attempts >= self.queue.max_attempts:
            log.warning(
                "webhook %s to %s parked after %s attempts",
                message.id, message.body["url"], message.attempts,
            )  # fmt: skip
        after = float(retry_after) if retry_after and retry_after.isdigit() else None
        raise Retry(error, after=after)
