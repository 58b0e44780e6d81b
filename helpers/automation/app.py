"""The automation server's HTTP face: the ways in, the JSON API and the incident pages.

Every way in checks who is calling before it reads the body (the URL token for Splunk, Jira's
``X-Hub-Signature``, Slack's v0 signature with a 5-minute window and no replays), validates the
body, persists it on the inbox queue and only then answers 2xx. Anything else is a 4xx with a
JSON ``{"error": ...}`` naming the problem, and nothing is stored.

================================  =========================================================
``POST /splunk/webhook/<token>``  Splunk's webhook alert action (the token is a secret)
``POST /jira/webhook``            Jira webhooks (issue created / updated, comments)
``POST /slack/actions``           Slack interactivity: Approve / Deny buttons
``POST /slack/commands``          the ``/secbot`` slash command
``GET  /api/incidents``           incidents (``?state=``); ``/api/incidents/<dedup key>``
``GET  /api/dead-letters``        work that gave up; ``POST .../<id>/replay`` (bearer token)
``POST /api/sweep``               what a sweep job found (bearer token): handled as alerts
``GET  /openapi.json``            this API, as OpenAPI 3.1
``GET  /``, ``/incidents/<key>``  the pages a person watches during a demo
================================  =========================================================
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from pathlib import Path
from typing import Any

from werkzeug.exceptions import NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

import helpers.automation.intake as intake
from helpers.automation.engine import Automation
from helpers.automation.lifecycle import STATES
from helpers.automation.openapi import document
from helpers.runtime.webapp import RoutedApp, pages
from helpers.runtime.webapp import json_response as _json
from helpers.slack import verify_request

__all__ = ["AutomationApp"]

log = logging.getLogger("helpers.automation.app")

HERE = Path(__file__).parent


class AutomationApp(RoutedApp):
    """WSGI app around an :class:`~helpers.automation.engine.Automation`.

    ``splunk_token`` guards the Splunk webhook URL, ``jira_secret`` verifies Jira's signature,
    ``slack_secret`` Slack's, ``api_token`` the API calls that change something (replay).
    """

    service = "the automation"
    max_content_length = intake.MAX_BODY

    def __init__(
        self,
        automation: Automation,
        *,
        splunk_token: str,
        jira_secret: str | None,
        slack_secret: str | None,
        api_token: str | None = None,
    ):
        if not splunk_token:
            raise ValueError("the Splunk webhook token must not be empty")
        self.automation = automation
        self.splunk_token = splunk_token
        self.jira_secret = jira_secret
        self.slack_secret = slack_secret
        self.api_token = api_token or splunk_token
        self.pages = pages(HERE / "templates", safe_url=_safe_url)
        self.urls = Map(
            [
                Rule("/splunk/webhook/<token>", endpoint="splunk", methods=["POST"]),
                Rule("/jira/webhook", endpoint="jira", methods=["POST"]),
                Rule("/slack/actions", endpoint="slack_action", methods=["POST"]),
                Rule("/slack/commands", endpoint="slack_command", methods=["POST"]),
                Rule("/api/incidents", endpoint="incidents", methods=["GET"]),
                Rule("/api/incidents/<path:key>/rollback", endpoint="rollback", methods=["POST"]),
                Rule("/api/incidents/<path:key>", endpoint="incident", methods=["GET"]),
                Rule("/api/dead-letters", endpoint="dead_letters", methods=["GET"]),
                Rule("/api/dead-letters/<int:mid>/replay", endpoint="replay", methods=["POST"]),
                Rule("/api/queue", endpoint="queue", methods=["GET"]),
                Rule("/api/sweep", endpoint="sweep", methods=["POST"]),
                Rule("/openapi.json", endpoint="openapi", methods=["GET"]),
                Rule("/", endpoint="page_incidents", methods=["GET"]),
                Rule("/incidents/<path:key>", endpoint="page_incident", methods=["GET"]),
                Rule("/static/automation.css", endpoint="css", methods=["GET"]),
            ],
            strict_slashes=False,
        )

    def error_response(self, error: Exception) -> Response | None:
        return _error(error.status, str(error)) if isinstance(error, intake.BadRequest) else None

    # -- ways in ---------------------------------------------------------------------------------
    def _body(self, request: Request) -> bytes:
        length = request.content_length
        if length is not None and length > intake.MAX_BODY:
            raise intake.BadRequest(f"the body is larger than {intake.MAX_BODY} bytes", 413)
        return request.get_data(cache=True)

    def _accept(self, item: dict) -> Response:
        message_id = self.automation.accept(item)
        return _json({"accepted": True, "id": message_id}, 202)

    def on_splunk(self, request: Request, token: str) -> Response:
        if not hmac.compare_digest(token.encode(), self.splunk_token.encode()):
            return _error(403, "wrong Splunk webhook token (see AUTOMATION_SPLUNK_WEBHOOK_URL)")
        return self._accept(intake.splunk_alert(self._body(request)))

    def on_jira(self, request: Request) -> Response:
        signature = request.headers.get("X-Hub-Signature", "")
        if self.jira_secret is not None:
            if not signature.startswith("sha256="):
                return _error(401, "missing X-Hub-Signature (sha256=...)")
            body = self._body(request)
            expected = hmac.new(self.jira_secret.encode(), body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(signature.removeprefix("sha256="), expected):
                return _error(401, "X-Hub-Signature does not match the body")
        return self._accept(intake.jira_event(self._body(request)))

    def _slack_verified(self, request: Request) -> Response | None:
        if self.slack_secret is None:
            return _error(503, "SLACK_SIGNING_SECRET is not set: Slack requests cannot be checked")
        headers = {k: v for k, v in request.headers.items()}
        body = self._body(request)
        if not verify_request(headers, body, signing_secret=self.slack_secret):
            return _error(401, "invalid or stale Slack signature")
        if not self.automation.store.first_use(request.headers.get("X-Slack-Signature", "")):
            return _error(401, "this Slack request was already received (replay)")
        return None

    def on_slack_action(self, request: Request) -> Response:
        refused = self._slack_verified(request)
        if refused is not None:
            return refused
        self.automation.accept(intake.slack_action(self._body(request)))
        return Response("", 200)

    def on_slack_command(self, request: Request) -> Response:
        refused = self._slack_verified(request)
        if refused is not None:
            return refused
        command = intake.slack_command(self._body(request))
        if command["verb"] in ("status", "help"):  # read-only: answer at once
            text = (
                self.automation.status_text(command["args"][0])
                if command["verb"] == "status" and command["args"]
                else self.automation.summary_text()
                if command["verb"] == "status"
                else "commands: status [key], approve <key>, deny <key>, sweep"
            )
            return _json({"response_type": "ephemeral", "text": text})
        self.automation.accept(command)
        text = f"On it: {command['verb']} {' '.join(command['args'])}".strip()
        return _json({"response_type": "ephemeral", "text": text})

    # -- the API ---------------------------------------------------------------------------------
    def on_incidents(self, request: Request) -> Response:
        state = request.args.get("state")
        if state is not None and state not in STATES:
            raise intake.BadRequest(f"unknown state {state!r}; known: {', '.join(STATES)}")
        limit = _limit(request)
        return _json({"incidents": self.automation.store.list(state=state, limit=limit)})

    def on_incident(self, request: Request, key: str) -> Response:
        found = self.automation.store.get(key)
        if found is None:
            raise NotFound(f"no incident {key!r}")
        return _json(found)

    def on_dead_letters(self, request: Request) -> Response:
        letters = self.automation.inbox.dead_letters(limit=_limit(request))
        return _json({"dead_letters": [m.as_dict() for m in letters]})

    def _authorized(self, request: Request) -> bool:
        auth = request.headers.get("Authorization", "")
        return hmac.compare_digest(auth.encode(), f"Bearer {self.api_token}".encode())

    def on_rollback(self, request: Request, key: str) -> Response:
        if not self._authorized(request):
            return _error(401, "rolling back needs Authorization: Bearer <AUTOMATION_TOKEN>")
        if self.automation.store.get(key) is None:
            raise NotFound(f"no incident {key!r}")
        who = request.headers.get("X-Lab-User") or "the API"
        return _json({"result": self.automation.rollback(key, who[:100])})

    def on_replay(self, request: Request, mid: int) -> Response:
        if not self._authorized(request):
            return _error(401, "replaying needs Authorization: Bearer <AUTOMATION_TOKEN>")
        if not self.automation.inbox.replay(mid):
            raise NotFound(f"no dead letter {mid}")
        return _json({"replayed": mid})

    def on_sweep(self, request: Request) -> Response:
        if not self._authorized(request):
            return _error(401, "a sweep needs Authorization: Bearer <AUTOMATION_TOKEN>")
        item = intake.sweep_findings(self._body(request))
        if not item["rows"]:  # nothing found: nothing to work on, nothing stored
            return _json({"accepted": False, "id": None, "rows": 0})
        message_id = self.automation.accept(item)
        return _json({"accepted": True, "id": message_id, "rows": len(item["rows"])}, 202)

    def on_queue(self, request: Request) -> Response:
        return _json({"inbox": self.automation.inbox.counts()})

    def on_openapi(self, request: Request) -> Response:
        return _json(document(request.host_url.rstrip("/")))

    # -- pages -----------------------------------------------------------------------------------
    def _page(self, name: str, **context: Any) -> Response:
        html = self.pages.get_template(name).render(**context)
        return Response(html, content_type="text/html; charset=utf-8")

    def on_page_incidents(self, request: Request) -> Response:
        store = self.automation.store
        return self._page(
            "incidents.html",
            incidents=store.list(limit=500),
            counts=store.counts(),
            inbox=self.automation.inbox.counts(),
            dead=self.automation.inbox.dead_letters(limit=50),
        )

    def on_page_incident(self, request: Request, key: str) -> Response:
        found = self.automation.store.get(key)
        if found is None:
            raise NotFound(f"no incident {key!r}")
        return self._page("incident.html", incident=found)

    def on_css(self, request: Request) -> Response:
        return Response(
            (HERE / "templates" / "automation.css").read_text(), content_type="text/css"
        )


def _safe_url(url: str | None) -> str:
    """Links only to http(s) addresses (a stored ``javascript:`` URL becomes ``#``)."""
    return url if isinstance(url, str) and url.startswith(("http://", "https://")) else "#"


def _limit(request: Request) -> int:
    raw = request.args.get("limit", "200")
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise intake.BadRequest("limit must be a whole number from 1 to 1000")
    return int(raw)


def _error(status: int, message: str) -> Response:
    return _json({"error": message}, status)
