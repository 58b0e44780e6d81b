"""The splunkd management API's core: requests in, Atom/JSON answers out, routing by a table.

Paths are normalised as splunkd does (wire spec 1.1): ``/services/X`` and
``/servicesNS/<owner>/<app>/X`` reach the same handler, trailing slashes are ignored, path
segments are decoded with ``unquote_plus``, and the v1 and v2 search job trees are one. POST
bodies are forms whether or not a ``Content-Type`` says so (``receivers/simple`` excepted: its
body is the event). Every answer speaks Atom XML, or JSON with ``output_mode=json``.

The route table is :data:`labstack.splunk.api.routes.ROUTES` (one module per resource family
holds the handlers); each handler takes the :class:`Splunkd` and a :class:`Call` and returns a
``Response``.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote_plus

from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from labstack.splunk import atom
from labstack.splunk.auth import Auth
from labstack.splunk.bulletin import Messages
from labstack.splunk.hec import KnownIndexes
from labstack.splunk.index_conf import BUILT_IN, IndexConf
from labstack.splunk.jobs import Jobs
from labstack.splunk.knowledge_meta import adopt_macro_meta
from labstack.splunk.namespace import SHARING, WILDCARD, Namespace, describe
from labstack.splunk.saved import SavedSearches
from labstack.splunk.server_conf import ServerSettings

log = logging.getLogger("labstack.splunk.api")

XML = "text/xml; charset=utf-8"
JSON = "application/json; charset=utf-8"
#: Entries per page when a listing names no ``count`` (splunkd's default).
DEFAULT_COUNT = 30
#: Results per page for job results and oneshot when no ``count`` is given (splunkd's default).
DEFAULT_RESULTS_COUNT = 100
NOT_AUTHENTICATED = "call not properly authenticated"
#: Largest request body read (server.conf ``[httpServer] max_content_length``; the lab's is
#: smaller than splunkd's 2 GB: lookups and events sent here are small).
MAX_CONTENT_LENGTH = 64 * 1024 * 1024
#: The file in the state folder holding ``server/settings`` edits.
SERVER_SETTINGS = "server_settings.json"
#: The file in the state folder holding the indexes' edited settings.
INDEX_CONF = "indexes.json"
#: The file in the state folder that held what macros.conf keeps beside a definition, by name,
#: before macros lived in namespaces (the store keeps it now; an old file is adopted).
MACRO_META = "macros_meta.json"
#: Where a request's parsed form is kept, so an error answer finds its ``output_mode``.
_FORM_KEY = "labstack.splunk.form"
#: Where the authenticated user is kept (the access log names them).
_USER_KEY = "labstack.splunk.user"


class ApiError(Exception):
    """An error answer: HTTP status, Splunk's message text and its type (ERROR, FATAL, WARN)."""

    def __init__(self, status: int, text: str, kind: str = "ERROR"):
        super().__init__(text)
        self.status, self.text, self.kind = status, text, kind


@dataclass
class Call:
    request: Request
    segments: list[str]
    params: dict[str, list[str]]
    owner: str | None
    app: str | None
    base: str
    args: dict[str, str] = field(default_factory=dict)
    user: str = "admin"

    @property
    def mode(self) -> str:
        return self.get("output_mode", "xml") or "xml"

    def get(self, name: str, default=None):
        values = self.params.get(name)
        return values[-1] if values else default

    def flat(self, skip: tuple[str, ...] = ()) -> dict[str, str]:
        """Every parameter once (the last value wins), without the ones named in ``skip``."""
        return {k: v[-1] for k, v in self.params.items() if k not in skip}

    def integer(self, name: str, default: int) -> int:
        value = self.get(name)
        if value in (None, ""):
            return default
        try:
            return int(float(value))
        except (ValueError, OverflowError):  # not a number, nan, or beyond any integer
            raise ApiError(400, f"Argument '{name}' must be an integer, got '{value}'.") from None


# -- routing -------------------------------------------------------------------------------------
Handler = Callable[["Splunkd", "Call"], Response]


def namespace_of(call: Call) -> Namespace:
    """The namespace of the request's path (``/services/``: the user's context)."""
    return Namespace.of(call.owner, call.app, call.user)


def search_namespace(call: Call) -> Namespace:
    """Where the request's search runs, the macros it expands (see ``Namespace.for_search``)."""
    return namespace_of(call).for_search(call.user)


def one_of(found: list, call: Call, handler: str):
    """The one knowledge object a change acts on; several (a ``-`` namespace sees each) are a
    409 naming where each lives, as the change would be a guess."""
    if len(found) == 1:
        return found[0]
    places = "; ".join(describe(o) for o in found)
    raise ApiError(
        409, f"In handler '{handler}': {len(found)} objects are named {found[0].name} "
        f"({places}); name one by its namespace: /servicesNS/<owner>/<app>/..."
    )  # fmt: skip


def placed(call: Call, handler: str, *args: str) -> list[str | None]:
    """The form's ``owner``/``app`` (``args``) where an object is to live; ``-`` means any
    owner or app in a namespace and is no place for an object to be: 400."""
    values = [call.get(arg) for arg in args]
    for arg, value in zip(args, values, strict=True):
        if value is not None and value.strip() == WILDCARD:
            raise ApiError(
                400, f"In handler '{handler}': Invalid {arg} '{value}': '{WILDCARD}' means any "
                f"{arg} in a namespace; name one."
            )  # fmt: skip
    return values


def acl_request(call: Call, handler: str, perms: dict | None) -> tuple[str, str, dict]:
    """An ``.../acl`` POST as splunkd checks it: (owner, sharing, perms). Owner and sharing
    are required and sharing is one of :data:`SHARING`; ``perms.read``/``perms.write``
    (comma-separated roles) replace those of ``perms``."""
    (owner,), sharing = placed(call, handler, "owner"), call.get("sharing")
    for arg, given in (("sharing", sharing), ("owner", owner)):
        if not given:
            raise ApiError(400, f"In handler '{handler}': Missing required argument: {arg}")
    if sharing not in SHARING:
        raise ApiError(
            400, f"In handler '{handler}': Invalid sharing '{sharing}': "
            f"must be one of {', '.join(SHARING)}."
        )  # fmt: skip
    perms = dict(perms or {})
    for kind in ("read", "write"):
        given = call.get(f"perms.{kind}")
        if given is not None:
            perms[kind] = [role.strip() for role in given.split(",") if role.strip()]
    return owner, sharing, perms


@dataclass(frozen=True)
class Route:
    """``pattern`` (segments; ``{name}`` captures one) answered by ``handler`` for ``methods``."""

    pattern: str
    methods: tuple[str, ...]
    handler: Handler

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.pattern.strip("/").split("/"))


def route_table(routes) -> tuple[tuple[tuple[str, ...], str, Handler], ...]:
    """``(parts, method, handler)`` per route and method; a pair given twice raises ValueError."""
    table, seen = [], set()
    for item in routes:
        for method in item.methods:
            if (item.parts, method) in seen:
                raise ValueError(f"route {method} {item.pattern} is given twice")
            seen.add((item.parts, method))
            table.append((item.parts, method, item.handler))
    return tuple(table)


def _match(parts: tuple[str, ...], segments: list[str]) -> dict[str, str] | None:
    if len(parts) != len(segments):
        return None
    args = {}
    for part, seg in zip(parts, segments, strict=True):
        if part.startswith("{"):
            args[part[1:-1]] = seg
        elif part != seg:
            return None
    return args


def _split_path(raw_path: str) -> tuple[list[str], str | None, str | None] | None:
    """``/servicesNS/o/a/x/y`` -> (["x", "y"], "o", "a"); None for paths outside the API."""
    raw = [s for s in raw_path.split("/") if s]
    if not raw:
        return None
    segments = [unquote_plus(s) for s in raw]
    if segments[0] == "services":
        segments, owner, app = segments[1:], None, None
    elif segments[0] == "servicesNS" and len(segments) >= 3:
        segments, owner, app = segments[3:], segments[1], segments[2]
    else:
        return None
    # search/v2/jobs/... and search/jobs/... are one tree; so are the v2 parser endpoints.
    if segments[:2] == ["search", "v2"]:
        segments = ["search", *segments[2:]]
    return segments, owner, app


def _form(data: bytes) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for key, value in parse_qsl(data.decode("utf-8", "replace"), keep_blank_values=True):
        params.setdefault(key, []).append(value)
    return params


def _body_params(request: Request) -> dict[str, list[str]]:
    """A POST body's parameters: a form, or a JSON object (``application/json``)."""
    body = request.get_data(cache=True)
    if not (
        request.headers.get("Content-Type", "").startswith("application/json") and body.strip()
    ):
        return _form(body)
    try:
        loaded = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested too deep
        raise ApiError(400, "Request body is not valid JSON.") from None
    if not isinstance(loaded, dict):
        return {}
    return {
        key: [
            v if isinstance(v, str) else json.dumps(v)
            for v in (value if isinstance(value, list) else [value])
        ]
        for key, value in loaded.items()
    }


class Splunkd:
    """The management API over an event store, its saved searches and jobs, with auth.

    Built by :func:`labstack.splunk.app.build`, which hands in every part: ``routes`` (the
    table), ``pages`` (the web pages' WSGI-less handler: a Response or None), ``alerting`` (its
    ``check`` vets alert settings before a saved search is stored, its ``on_dispatch`` runs
    after a dispatch; the fired-alerts routes read its state), ``apps`` (the installed apps,
    :class:`labstack.splunk.apps.Apps`) and ``known_indexes`` (shared with the HEC).
    """

    def __init__(
        self,
        store,
        saved: SavedSearches,
        jobs: Jobs,
        auth: Auth,
        *,
        state_dir: Path,
        routes,
        known_indexes: KnownIndexes,
        pages: Callable[[Request], Response | None] | None = None,
        alerting=None,
        apps=None,
        server_name: str | None = None,
        access_log=None,
    ):
        self.store = store
        self.saved = saved
        self.jobs = jobs
        self.auth = auth
        self.state_dir = Path(state_dir)
        self.routes = route_table(routes)
        self.known_indexes = known_indexes
        self.pages = pages
        self.alerting = alerting
        self.apps = apps
        self.server_name = server_name or socket.gethostname()
        self.access_log = access_log  # each API request, into _internal (.internal_log)
        self.started = time.time()
        self.lookup_staging = self.state_dir / "lookup_tmp"
        self.messages = Messages()
        self.settings = ServerSettings(self.state_dir / SERVER_SETTINGS)
        auth.session_timeout = self.settings.session_timeout() or auth.session_timeout
        self.index_conf = IndexConf(self.state_dir / INDEX_CONF)
        adopt_macro_meta(store, self.state_dir / MACRO_META)  # a state from before namespaces
        for name in BUILT_IN:  # splunkd's own indexes are always there
            store.create_index(name)
        self.restarts = 0

    def restart(self) -> None:
        """What a client sees of splunkd restarting: every session ends and the bulletin
        board is cleared (``restart_required`` with it); an edited ``sessionTimeout`` takes
        effect; indexes, events, saved searches and
        jobs are stored and stay. The process itself keeps running (it has no supervisor)."""
        self.auth.end_sessions()
        self.auth.session_timeout = self.settings.session_timeout() or self.auth.session_timeout
        self.messages.clear()
        self.restarts += 1
        if self.access_log is not None:
            self.access_log.message("INFO", "loader", "Splunkd restarted.")
        log.info("restarted (sessions ended, messages cleared)")

    def indexes_changed(self) -> None:
        """An index was created or deleted: ingest checks must look again."""
        self.known_indexes.invalidate()

    # -- WSGI ------------------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        started = time.monotonic()
        request = Request(environ)
        request.max_content_length = MAX_CONTENT_LENGTH
        try:
            response = self.handle(request)
        except RequestEntityTooLarge:
            response = self.error(
                ApiError(413, f"Request body is larger than {MAX_CONTENT_LENGTH} bytes."),
                self._mode_of(request),
            )
        except ClientDisconnected:  # the body stalled past the read timeout, or the client left
            response = self.error(ApiError(400, "The request body was not received in full."))
        except ApiError as exc:
            response = self.error(exc, self._mode_of(request))
        except Exception:
            log.exception("%s %s failed", request.method, request.path)
            response = self.error(
                ApiError(500, "Internal error (see the service log).", "ERROR"),
                self._mode_of(request),
            )
        response.headers["Server"] = "Splunkd"
        response.headers["Cache-Control"] = "no-store, max-age=0, must-revalidate, no-cache"
        if self.access_log is not None and request.path.startswith("/services"):
            self.access_log.record(
                request.remote_addr or "-", environ.get(_USER_KEY, "-"), request.method,
                environ.get("RAW_URI") or request.full_path.rstrip("?"), response.status_code,
                response.content_length or 0, request.user_agent.string,
                time.monotonic() - started,
            )  # fmt: skip
        return response(environ, start_response)

    @staticmethod
    def _mode_of(request: Request) -> str:
        """The answer's format; a body not read yet (refused before it) is not read for it."""
        mode = request.args.get("output_mode")
        if mode is None:
            mode = request.environ.get(_FORM_KEY, {}).get("output_mode", [None])[-1]
        return mode or "xml"

    @staticmethod
    def error(exc: ApiError, mode: str = "xml") -> Response:
        # A message may echo the request's text, lone surrogates and all: keep it encodable.
        text = exc.text.encode("utf-8", "backslashreplace").decode("utf-8")
        messages = [(exc.kind, text)]
        if mode.startswith("json"):
            return Response(atom.messages_json(messages), exc.status, content_type=JSON)
        return Response(atom.messages_xml(messages), exc.status, content_type=XML)

    def handle(self, request: Request) -> Response:
        raw_uri = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
        raw_path = raw_uri.split("?", 1)[0] if raw_uri else request.path
        split = _split_path(raw_path)
        if split is None:
            if self.pages is not None:
                page = self.pages(request)
                if page is not None:
                    return page
            raise ApiError(404, "Not Found")
        segments, owner, app = split
        # Who is asking is known before the body is read: a stranger's body is never read.
        user = "admin"
        if segments != ["auth", "login"]:
            user = self.auth.user_for(request.environ)
            if user is None:
                raise ApiError(401, NOT_AUTHENTICATED, "WARN")
            request.environ[_USER_KEY] = user
        params: dict[str, list[str]] = {}
        for key, values in request.args.lists():
            params[key] = list(values)
        if request.method == "POST" and segments[:1] != ["receivers"]:
            body = _body_params(request)
            request.environ[_FORM_KEY] = body
            params.update(body)
        base = f"{request.scheme}://{request.host}"
        call = Call(request, segments, params, owner, app, base, user=user)
        known_path = False
        for parts, method, handler in self.routes:
            args = _match(parts, segments)
            if args is None:
                continue
            known_path = True
            if method == request.method:
                call.args = args
                return handler(self, call)
        if known_path:
            raise ApiError(405, f"Method {request.method} not allowed on this endpoint.")
        raise ApiError(404, "Not Found")

    # -- response helpers ----------------------------------------------------------------------
    def listing(self, call: Call, title: str, entities: list[atom.Entity]) -> Response:
        total = len(entities)
        count = call.integer("count", DEFAULT_COUNT)
        offset = max(call.integer("offset", 0), 0)
        name_filter = call.get("search")
        if name_filter:
            needle = name_filter.lower().removeprefix("name=")
            entities = [e for e in entities if needle.strip("*") in e.name.lower()]
            total = len(entities)
        page = entities[offset:] if count <= 0 else entities[offset : offset + count]
        return self.feed(call, title, page, total=total)

    def feed(self, call: Call, title: str, entities, status: int = 200, total=None) -> Response:
        body = atom.feed(title, list(entities), call.base, call.mode, total)
        return Response(body, status, content_type=JSON if call.mode == "json" else XML)

    def message(self, call: Call, text: str, kind: str = "INFO", status: int = 200) -> Response:
        if call.mode == "json":
            return Response(atom.messages_json([(kind, text)]), status, content_type=JSON)
        return Response(atom.messages_xml([(kind, text)]), status, content_type=XML)

    def sid_response(self, call: Call, sid: str, status: int = 201) -> Response:
        if call.mode == "json":
            return Response(json.dumps({"sid": sid}), status, content_type=JSON)
        return Response(atom.response_xml(sid=sid), status, content_type=XML)
