"""The WSGI app: routes for the Web API, webhooks, interactivity, the admin API and the web view.

==========================================  ==============================================
``GET  /_lab/health``                       readiness (answered by helpers.runtime.serve)
``GET|POST /api/<method>``                  Web API (Bearer token or ``token`` argument)
``POST /services/T…/B…/<key>``              incoming webhook of one channel
``POST /actions/T…/<n>/<token>``            ``response_url`` of one interaction
``POST /commands/T…/<n>/<token>``           ``response_url`` of one slash command
``GET  /`` and ``/archives/<channel>``      web view (``?as=<user>`` signs in as that user)
``POST /archives/<channel>/click``          a button of the view (session + CSRF token)
``POST /archives/<channel>/message``        the view's message box: a message or a slash
                                            command (session + CSRF token)
``GET  /archives/<channel>/revision``       changes when the channel does (the view polls)
``/_lab/...``                               admin API for tests (Bearer bot token):
                                            channels, interactivity (Request URL and slash
                                            commands), click, faults
==========================================  ==============================================

URLs the stand-in signs (``response_url``) are built from the address the server is bound to,
never from the request's ``Host`` header.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
import threading
from dataclasses import dataclass, field

import requests
from werkzeug.exceptions import Forbidden, HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from labstack.slack import interactivity, webapi, webhooks, webview
from labstack.slack.session import COOKIE, Sessions
from labstack.slack.store import BOT, TEAM, USERS, Store

#: Headers of every answer: no script but the view's own, no framing, no sniffing.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; connect-src 'self'; "
    "style-src 'unsafe-inline'; img-src 'self' http: https:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
#: A slash command's name, as Slack allows it.
COMMAND_NAME = re.compile(r"/[a-z0-9_-]{1,31}")
#: What the view's forms may send (the message box's text is at most 4,000 characters).
MAX_FORM = 64 * 1024
SLACKBOT = {"user": "USLACKBOT", "username": "Slackbot"}


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
        default_commands: dict[str, str] | None = None,
    ):
        self.store = store
        self.bot_token = bot_token
        self.signing_secret = signing_secret
        self.default_request_url = default_request_url
        self.default_commands = dict(default_commands or {})
        self.sessions = Sessions(signing_secret)
        self.faults = Faults()
        self.url_map = Map(
            [
                Rule("/api/<method>", endpoint="api", methods=["GET", "POST"]),
                Rule("/services/<team>/<hook>/<key>", endpoint="webhook", methods=["POST"]),
                Rule("/actions/<team>/<n>/<token>", endpoint="response_url", methods=["POST"]),
                Rule("/commands/<team>/<n>/<token>", endpoint="response_url", methods=["POST"]),
                Rule("/", endpoint="channels_page"),
                Rule("/_static/view.js", endpoint="script"),
                Rule("/archives/<channel_id>", endpoint="channel_page"),
                Rule("/archives/<channel_id>/revision", endpoint="revision"),
                Rule("/archives/<channel_id>/click", endpoint="click_form", methods=["POST"]),
                Rule("/archives/<channel_id>/message", endpoint="message_form", methods=["POST"]),
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
            response = exc.get_response(environ)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response(environ, start_response)

    def webhook_url(self, base_url: str, channel_id: str) -> str:
        return base_url.rstrip("/") + webhooks.webhook_path(self.bot_token, channel_id)

    def request_url(self) -> str | None:
        return self.store.request_url or self.default_request_url

    def commands(self) -> dict[str, str]:
        """The app's slash commands (``/name`` -> Request URL): configured, else the default."""
        configured = self.store.commands
        return self.default_commands if configured is None else configured

    # -- Web API -------------------------------------------------------------------------------
    def on_api(self, request: Request, method: str) -> Response:
        try:
            raw = _api_args(request)
        except ValueError:
            return _json({"ok": False, "error": "invalid_json"})
        retry_after = self.faults.take()
        if retry_after is not None:
            return _json({"ok": False, "error": "ratelimited"}, 429, retry_after)
        fn = webapi.METHODS.get(method)
        if fn is None:
            return _json({"ok": False, "error": "unknown_method", "req_method": method}, 404)
        if method != "api.test":
            error = self._auth_error(request, raw)
            if error:
                return _json({"ok": False, "error": error})
        try:
            return _json(fn(self.store, webapi.arguments(raw), request.host_url))
        except webapi.ApiError as exc:
            return _json(exc.body())

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
        channel, user = self._form_user(request, channel_id)
        form = request.form
        record = self.click(
            channel["id"], form.get("ts", ""), form.get("action_id", ""), user["id"],
            own_origin(request.environ),
        )  # fmt: skip
        return redirect(f"/archives/{channel['id']}#m{record['ts'].replace('.', '')}", 303)

    # -- the message box: messages and slash commands ----------------------------------------
    def _form_user(self, request: Request, channel_id: str) -> tuple[dict, dict]:
        """The channel and the view's logged-in user of a form POST, or 403.

        The form must come from this origin (when the browser says where it came from), carry
        the session cookie and the CSRF token of that session and channel's page.
        """
        channel = self.store.channel(channel_id)
        if channel is None:
            raise NotFound(f"no channel {channel_id}")
        origin = request.headers.get("Origin")
        if origin is not None and origin not in own_origins(request.environ):
            raise Forbidden("this form was not sent from the lab Slack's own pages")
        if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
            raise Forbidden("this form was not sent from the lab Slack's own pages")
        if request.mimetype not in ("application/x-www-form-urlencoded", "multipart/form-data"):
            raise Forbidden("the view's forms send application/x-www-form-urlencoded")
        session = self.sessions.read(request.cookies.get(COOKIE))
        if session is None or session.user_id not in USERS:
            raise Forbidden("not signed in: open the channel page first")
        request.max_content_length = MAX_FORM
        if not self.sessions.check_csrf(session, channel["id"], request.form.get("csrf")):
            raise Forbidden("the form's CSRF token is missing or not this page's: reload the page")
        return channel, USERS[session.user_id]

    def on_message_form(self, request: Request, channel_id: str) -> Response:
        channel, user = self._form_user(request, channel_id)
        text = (request.form.get("text") or "").strip()
        if len(text) > webapi.MAX_TEXT:
            raise _BadRequest("msg_too_long")
        if channel.get("is_archived"):
            raise Forbidden("is_archived")
        if text.startswith("/"):
            self.slash_command(channel, user, text, own_origin(request.environ))
        elif text:
            self.store.post(channel["id"], {"user": user["id"], "text": _typed(text)})
        return redirect(f"/archives/{channel['id']}#end", 303)

    def slash_command(self, channel: dict, user: dict, typed: str, base_url: str) -> dict:
        """Deliver ``/command text`` typed by ``user`` as Slack does; returns what happened.

        The command's Request URL gets the signed form; its immediate answer (JSON with
        ``text``/``blocks`` and ``response_type``, or plain text) is shown in the channel, to
        the user only unless ``in_channel``; later answers come through ``response_url``.
        """
        name, _, text = typed.partition(" ")
        name = name.lower()
        url = self.commands().get(name)
        if url is None:
            self._slackbot(
                channel, user,
                f"`{name}` is not a valid command. In Slack, all messages that start with the"
                ' "/" character are interpreted as commands.',
            )  # fmt: skip
            return {"command": name, "delivered": False, "error": "not a valid command"}
        token, n = secrets.token_urlsafe(18), secrets.randbelow(10**12)
        response_url = f"{base_url.rstrip('/')}/commands/{TEAM['id']}/{n}/{token}"
        self.store.add_response_url(token, channel["id"], None, user["id"])
        form = interactivity.command_form(channel, user, name, text.strip(), response_url)
        result, resp = interactivity.post_signed(url, form, self.signing_secret)
        if not result["delivered"]:
            code = _command_error(result, resp)
            self._slackbot(channel, user, f'`{name}` failed with the error "{code}"')
            return {"command": name, **result}
        answer = _command_answer(resp)
        if answer is not None:
            if answer.get("response_type") == "in_channel":  # everyone sees what was typed
                self.store.post(channel["id"], {"user": user["id"], "text": _typed(typed)})
            target = {"channel": channel["id"], "ts": None, "user": user["id"]}
            try:
                webhooks.respond(self.store, target, answer, BOT)
            except webhooks.WebhookError as exc:
                self._slackbot(channel, user, f'`{name}` failed with the error "{exc.code}"')
                return {"command": name, **result, "delivered": False, "error": exc.code}
        return {"command": name, **result}

    def _slackbot(self, channel: dict, user: dict, text: str) -> None:
        self.store.post(channel["id"], {**SLACKBOT, "text": text, "ephemeral_to": user["id"]})

    # -- web view ------------------------------------------------------------------------------
    def on_channels_page(self, request: Request) -> Response:
        counts = {c["id"]: len(self.store.history(c["id"])) for c in self.store.channels()}
        return _html(webview.channel_list(self.store.channels(), counts))

    def on_channel_page(self, request: Request, channel_id: str) -> Response:
        channel = self.store.channel(channel_id)
        if channel is None:
            raise NotFound(f"no channel {channel_id}")
        session = self.sessions.read(request.cookies.get(COOKIE))
        if request.args.get("as"):
            user = _user(request.args["as"])
        elif session is not None and session.user_id in USERS:
            user = USERS[session.user_id]
        else:
            user = USERS["U0LAB0001"]
        cookie = None
        if session is None or session.user_id != user["id"]:
            cookie = self.sessions.issue(user["id"])
            session = self.sessions.read(cookie)
        threads = [
            (parent, self.store.replies(channel["id"], parent["ts"], user["id"])[1:])
            for parent in reversed(self.store.history(channel["id"], user["id"]))
        ]
        interactions = self.store.interactions(channel["id"])
        body = webview.timeline(
            channel, threads, interactions, user["name"],
            csrf=self.sessions.csrf(session, channel["id"]),
            revision=self.store.revision(channel["id"]),
        )  # fmt: skip
        response = _html(body)
        response.headers["Cache-Control"] = "no-store"
        if cookie is not None:
            response.set_cookie(COOKIE, cookie, httponly=True, samesite="Strict", path="/")
        return response

    def on_revision(self, request: Request, channel_id: str) -> Response:
        channel = self.store.channel(channel_id)
        if channel is None:
            raise NotFound(f"no channel {channel_id}")
        response = Response(self.store.revision(channel["id"]), content_type="text/plain")
        response.headers["Cache-Control"] = "no-store"
        return response

    def on_script(self, request: Request) -> Response:
        return Response(webview.SCRIPT, content_type="text/javascript; charset=utf-8")

    # -- admin API -----------------------------------------------------------------------------
    def _admin(self, request: Request) -> dict:
        """Check the bot token; the JSON object in the body (``{}`` when there is none)."""
        if self._auth_error(request, {}) is not None:
            raise _Unauthorized()
        if not request.get_data():
            return {}
        try:
            body = json.loads(request.get_data())
        except (ValueError, RecursionError):  # RecursionError: nested too deep
            body = None
        if not isinstance(body, dict):
            raise _BadAdminBody()
        return body

    def on_admin_channels(self, request: Request) -> Response:
        body = self._admin(request)
        if request.method == "POST":
            name = body["name"] if isinstance(body.get("name"), str) else ""
            if not name or not all(ch.isalnum() or ch in "-_" for ch in name.removeprefix("#")):
                return _json({"ok": False, "error": "invalid_name"}, 400)
            self.store.create_channel(name)
        channels = [
            {**c, "webhook_url": self.webhook_url(request.host_url, c["id"])}
            for c in self.store.channels()
        ]
        return _json({"ok": True, "channels": channels})

    def on_admin_interactivity(self, request: Request) -> Response:
        body = self._admin(request)
        if request.method == "PUT":
            if not request.get_data():
                raise _BadAdminBody()
            if "commands" in body:
                commands = body["commands"]
                error = _commands_error(commands)
                if error:
                    return _json({"ok": False, "error": error}, 400)
                self.store.set_commands(commands)
            self.store.set_request_url(body.get("request_url") or None)
        return _json(
            {
                "ok": True,
                "request_url": self.request_url(),
                "configured": self.store.request_url,
                "default": self.default_request_url,
                "commands": self.commands(),
                "configured_commands": self.store.commands,
                "default_commands": self.default_commands,
            }
        )

    def on_admin_click(self, request: Request) -> Response:
        body = self._admin(request)
        missing = [k for k in ("channel", "ts", "action_id") if not body.get(k)]
        if missing:
            return _json({"ok": False, "error": f"missing {', '.join(missing)}"}, 400)
        named = ("channel", "action_id", "user", "request_url")
        wrong = [k for k in named if not isinstance(body.get(k) or "", str)]
        if wrong:
            return _json({"ok": False, "error": f"{', '.join(wrong)} must be strings"}, 400)
        try:
            record = self.click(
                body["channel"],
                str(body["ts"]),
                body["action_id"],
                body.get("user", "alice"),
                own_origin(request.environ),
                body.get("request_url"),
            )
        except NotFound as exc:
            return _json({"ok": False, "error": exc.description}, 404)
        return _json({"ok": True, "interaction": record})

    def on_admin_faults(self, request: Request) -> Response:
        body = self._admin(request)
        if request.method == "PUT":
            try:
                remaining = int(body.get("rate_limit", 0))
                retry_after = int(body.get("retry_after", 1))
            except (TypeError, ValueError, OverflowError):
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


class _BadAdminBody(HTTPException):
    code = 400

    def get_response(self, environ=None, scope=None):
        return _json({"ok": False, "error": "the body is a JSON object"}, 400)


def _typed(text: str) -> str:
    """Text a person typed, as Slack's client sends it: ``&``, ``<`` and ``>`` escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def own_origin(environ: dict) -> str:
    """This server's base URL from the address it is bound to (not the ``Host`` header)."""
    host, port = environ.get("SERVER_NAME", "127.0.0.1"), environ.get("SERVER_PORT", "80")
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def own_origins(environ: dict) -> set[str]:
    """The origins this server's pages have (a loopback server answers to both names)."""
    port = environ.get("SERVER_PORT", "80")
    origins = {own_origin(environ)}
    if environ.get("SERVER_NAME") in ("127.0.0.1", "localhost", "::1"):
        origins |= {f"http://127.0.0.1:{port}", f"http://localhost:{port}", f"http://[::1]:{port}"}
    return origins


def _commands_error(commands) -> str | None:
    """Why a ``commands`` setting is not ``{"/name": "http(s) URL"}`` (None when it is)."""
    if commands is None:
        return None
    if not isinstance(commands, dict):
        return 'commands is an object: {"/name": "Request URL"}'
    for name, url in commands.items():
        if not COMMAND_NAME.fullmatch(name):
            return f"invalid command name {name!r} (a / and up to 32 of a-z 0-9 - _)"
        if webview.safe_url(url) is None:
            return f"the Request URL of {name} is not an http(s) URL"
    return None


def _command_error(result: dict, resp: requests.Response | None) -> str:
    """The error Slack shows when a command's Request URL did not answer 2xx."""
    if resp is not None:
        return "http_service_error"
    return "operation_timeout" if "Timeout" in (result.get("error") or "") else "dispatch_failed"


def _command_answer(resp: requests.Response) -> dict | None:
    """A command's immediate answer as a message body (None: an empty 200 shows nothing)."""
    body = resp.content.strip()
    if not body:
        return None
    if (resp.headers.get("Content-Type") or "").startswith("application/json"):
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        if isinstance(answer, dict):
            return answer
    return {"text": resp.text}


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
            try:
                body = json.loads(data)
            except RecursionError:  # nested too deep
                raise ValueError("JSON body is nested too deeply") from None
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
