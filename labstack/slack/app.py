"""The WSGI app: routes for the Web API, webhooks, interactivity, the admin API and the web view.

==========================================  ==============================================
``GET  /_lab/health``                       readiness (answered by helpers.runtime.serve)
``GET|POST /api/<method>``                  Web API (Bearer token or ``token`` argument)
``POST /services/T…/B…/<key>``              incoming webhook of one channel
``POST /actions/T…/<n>/<token>``            ``response_url`` of one interaction
``GET  /`` and ``/archives/<channel>``      web view; ``POST /archives/<channel>/click``
``/_lab/...``                               admin API for tests (Bearer bot token):
                                            channels, interactivity, click, faults
==========================================  ==============================================
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
import urllib.parse
from dataclasses import dataclass, field

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from labstack.slack import interactivity, webapi, webhooks, webview
from labstack.slack.store import BOT, EVERYONE, TEAM, USERS, Store


@dataclass
class Faults:
    """The 429 switch: the next ``remaining`` API/webhook calls answer ``ratelimited``."""

    remaining: int = 0
    retry_after: int = 1
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> int | None:
        """Retry-After seconds when this call is to be rate limited, else None."""
        with self.lock:
            if self.remaining <= 0:
                return None
            self.remaining -= 1
            return self.retry_after


class SlackApp:
    """The Slack-compatible service around one ``Store``."""

    def __init__(
        self,
        store: Store,
        bot_token: str,
        signing_secret: str,
        default_request_url: str | None = None,
    ):
        self.store = store
        self.bot_token = bot_token
        self.signing_secret = signing_secret
        self.default_request_url = default_request_url
        self.faults = Faults()
        self.url_map = Map(
            [
                Rule("/api/<method>", endpoint="api", methods=["GET", "POST"]),
                Rule("/services/<team>/<hook>/<key>", endpoint="webhook", methods=["POST"]),
                Rule("/actions/<team>/<n>/<token>", endpoint="response_url", methods=["POST"]),
                Rule("/", endpoint="channels_page"),
                Rule("/archives/<channel_id>", endpoint="channel_page"),
                Rule("/archives/<channel_id>/click", endpoint="click_form", methods=["POST"]),
                Rule("/_lab/channels", endpoint="admin_channels", methods=["GET", "POST"]),
                Rule("/_lab/interactivity", endpoint="admin_interactivity", methods=["GET", "PUT"]),
                Rule("/_lab/click", endpoint="admin_click", methods=["POST"]),
                Rule("/_lab/faults", endpoint="admin_faults", methods=["GET", "PUT", "DELETE"]),
            ]
        )

    # -- WSGI ----------------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        request = Request(environ)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            endpoint, values = adapter.match()
            response = getattr(self, f"on_{endpoint}")(request, **values)
        except HTTPException as exc:
            response = exc
        return response(environ, start_response)

    def webhook_url(self, base_url: str, channel_id: str) -> str:
        return base_url.rstrip("/") + webhooks.webhook_path(self.bot_token, channel_id)

    def request_url(self) -> str | None:
        return self.store.request_url or self.default_request_url

    # -- Web API -------------------------------------------------------------------------------
    def on_api(self, request: Request, method: str) -> Response:
        try:
            args = _api_args(request)
        except ValueError:
            return _json({"ok": False, "error": "invalid_json"})
        retry_after = self.faults.take()
        if retry_after is not None:
            return _json({"ok": False, "error": "ratelimited"}, 429, retry_after)
        fn = webapi.METHODS.get(method)
        if fn is None:
            return _json({"ok": False, "error": "unknown_method", "req_method": method}, 404)
        if method != "api.test":
            error = self._auth_error(request, args)
            if error:
                return _json({"ok": False, "error": error})
        try:
            return _json(fn(self.store, args, request.host_url))
        except webapi.ApiError as exc:
            return _json({"ok": False, "error": exc.code})

    def _auth_error(self, request: Request, args: dict) -> str | None:
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else None
        token = token or args.get("token")
        if not token:
            return "not_authed"
        if not hmac.compare_digest(str(token).encode(), self.bot_token.encode()):
            return "invalid_auth"
        return None

    # -- webhooks ------------------------------------------------------------------------------
    def on_webhook(self, request: Request, team: str, hook: str, key: str) -> Response:
        channel = self.store.channel("C" + hook[1:]) if hook.startswith("B") else None
        expected = webhooks.webhook_path(self.bot_token, channel["id"]) if channel else ""
        if not channel or not hmac.compare_digest(request.path.encode(), expected.encode()):
            return _text("no_service", 404)
        retry_after = self.faults.take()
        if retry_after is not None:
            return _text("rate_limited", 429, retry_after)
        try:
            body = webhooks.parse_body(request.get_data(), request.content_type or "")
            webhooks.incoming(self.store, channel, body)
        except webhooks.WebhookError as exc:
            return _text(exc.code, exc.status)
        return _text("ok")

    def on_response_url(self, request: Request, team: str, n: str, token: str) -> Response:
        target = self.store.response_target(token)
        if target is None:
            return _text("no_service", 404)
        try:
            body = webhooks.parse_body(request.get_data(), request.content_type or "")
            webhooks.respond(self.store, target, body, BOT)
        except webhooks.WebhookError as exc:
            return _text(exc.code, exc.status)
        return _text("ok")

    # -- interactivity -------------------------------------------------------------------------
    def click(
        self,
        channel_ref: str,
        ts: str,
        action_id: str,
        user_ref: str,
        base_url: str,
        request_url: str | None = None,
    ) -> dict:
        """Click a button: send the signed ``block_actions`` payload; returns the record."""
        channel = self.store.channel(channel_ref)
        message = self.store.find(channel["id"], ts) if channel else None
        if message is None:
            raise NotFound(f"no message {ts} in channel {channel_ref}")
        user = _user(user_ref)
        token = secrets.token_urlsafe(18)
        n = len(self.store.interactions()) + 1
        response_url = f"{base_url.rstrip('/')}/actions/{TEAM['id']}/{n}/{token}"
        try:
            payload = interactivity.block_actions_payload(
                channel, message, action_id, user, response_url
            )
        except interactivity.ButtonNotFound as exc:
            raise NotFound(str(exc)) from exc
        self.store.add_response_url(token, channel["id"], ts, user["id"])
        target = request_url or self.request_url()
        if target:
            result = interactivity.deliver(target, payload, self.signing_secret)
        else:
            error = "no request URL configured (set AUTOMATION_URL or PUT /_lab/interactivity)"
            result = {"delivered": False, "status": None, "error": error}
        record = {
            "channel": channel["id"],
            "ts": ts,
            "action_id": action_id,
            "label": (payload["actions"][0].get("text") or {}).get("text"),
            "value": payload["actions"][0].get("value"),
            "user": user["id"],
            "user_name": user["name"],
            "request_url": target,
            **result,
        }
        self.store.record_interaction(record)
        return record

    def on_click_form(self, request: Request, channel_id: str) -> Response:
        form = request.form
        record = self.click(
            channel_id,
            form.get("ts", ""),
            form.get("action_id", ""),
            form.get("user", "alice"),
            request.host_url,
        )
        query = urllib.parse.urlencode({"as": record["user_name"]})
        return redirect(f"/archives/{channel_id}?{query}#m{record['ts'].replace('.', '')}", 303)

    # -- web view ------------------------------------------------------------------------------
    def on_channels_page(self, request: Request) -> Response:
        counts = {c["id"]: len(self.store.history(c["id"])) for c in self.store.channels()}
        return _html(webview.channel_list(self.store.channels(), counts))

    def on_channel_page(self, request: Request, channel_id: str) -> Response:
        channel = self.store.channel(channel_id)
        if channel is None:
            raise NotFound(f"no channel {channel_id}")
        user = _user(request.args.get("as", "alice"))
        threads = [
            (parent, self.store.replies(channel["id"], parent["ts"], EVERYONE)[1:])
            for parent in reversed(self.store.history(channel["id"], EVERYONE))
        ]
        interactions = self.store.interactions(channel["id"])
        return _html(webview.timeline(channel, threads, interactions, user["name"]))

    # -- admin API -----------------------------------------------------------------------------
    def _admin(self, request: Request) -> None:
        if self._auth_error(request, {}) is not None:
            raise _Unauthorized()

    def on_admin_channels(self, request: Request) -> Response:
        self._admin(request)
        if request.method == "POST":
            name = (request.get_json(silent=True) or {}).get("name", "")
            if not name or not all(ch.isalnum() or ch in "-_" for ch in name.removeprefix("#")):
                return _json({"ok": False, "error": "invalid_name"}, 400)
            self.store.create_channel(name)
        channels = [
            {**c, "webhook_url": self.webhook_url(request.host_url, c["id"])}
            for c in self.store.channels()
        ]
        return _json({"ok": True, "channels": channels})

    def on_admin_interactivity(self, request: Request) -> Response:
        self._admin(request)
        if request.method == "PUT":
            body = request.get_json(silent=True) or {}
            self.store.set_request_url(body.get("request_url") or None)
        return _json(
            {
                "ok": True,
                "request_url": self.request_url(),
                "configured": self.store.request_url,
                "default": self.default_request_url,
            }
        )

    def on_admin_click(self, request: Request) -> Response:
        self._admin(request)
        body = request.get_json(silent=True) or {}
        missing = [k for k in ("channel", "ts", "action_id") if not body.get(k)]
        if missing:
            return _json({"ok": False, "error": f"missing {', '.join(missing)}"}, 400)
        try:
            record = self.click(
                body["channel"],
                str(body["ts"]),
                body["action_id"],
                body.get("user", "alice"),
                request.host_url,
                body.get("request_url"),
            )
        except NotFound as exc:
            return _json({"ok": False, "error": exc.description}, 404)
        return _json({"ok": True, "interaction": record})

    def on_admin_faults(self, request: Request) -> Response:
        self._admin(request)
        if request.method == "PUT":
            body = request.get_json(silent=True) or {}
            try:
                remaining = int(body.get("rate_limit", 0))
                retry_after = int(body.get("retry_after", 1))
            except (TypeError, ValueError):
                return _json({"ok": False, "error": "rate_limit and retry_after are integers"}, 400)
            with self.faults.lock:
                self.faults.remaining, self.faults.retry_after = remaining, max(retry_after, 0)
        elif request.method == "DELETE":
            with self.faults.lock:
                self.faults.remaining = 0
        faults = self.faults
        return _json(
            {"ok": True, "rate_limit": faults.remaining, "retry_after": faults.retry_after}
        )


class _Unauthorized(HTTPException):
    code = 401

    def get_response(self, environ=None, scope=None):
        return _json({"ok": False, "error": "not_authed"}, 401)


def _user(ref: str) -> dict:
    for user in USERS.values():
        if ref in (user["id"], user["name"]):
            return user
    known = ", ".join(u["name"] for u in USERS.values())
    raise _BadRequest(f"unknown user {ref!r}; known: {known}")


class _BadRequest(HTTPException):
    code = 400

    def get_response(self, environ=None, scope=None):
        return _json({"ok": False, "error": self.description}, 400)


def _api_args(request: Request) -> dict:
    """Arguments from the query string, a form body or a JSON body (JSON wins)."""
    args = dict(request.args.items())
    args.update(request.form.items())
    if (request.mimetype or "") == "application/json":
        data = request.get_data()
        if data:
            body = json.loads(data)
            if not isinstance(body, dict):
                raise ValueError("JSON body is not an object")
            args.update(body)
    return args


def _json(body: dict, status: int = 200, retry_after: int | None = None) -> Response:
    response = Response(json.dumps(body), status, content_type="application/json; charset=utf-8")
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _text(body: str, status: int = 200, retry_after: int | None = None) -> Response:
    response = Response(body, status, content_type="text/html")
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _html(body: str) -> Response:
    return Response(body, 200, content_type="text/html; charset=utf-8")
