"""The splunkd management API: the REST subset the official ``splunklib`` uses.

Paths are normalised as splunkd does (wire spec 1.1): ``/services/X`` and
``/servicesNS/<owner>/<app>/X`` reach the same handler, trailing slashes are ignored, path
segments are decoded with ``unquote_plus``, and the v1 and v2 search job trees are one. POST
bodies are forms whether or not a ``Content-Type`` says so (``receivers/simple`` excepted: its
body is the event). Every answer speaks Atom XML, or JSON with ``output_mode=json``.

Routes are registered with :func:`route`; each handler takes a :class:`Call` and returns a
``Response``.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, unquote_plus
from xml.sax.saxutils import escape as _escape

from werkzeug.wrappers import Request, Response

from labstack.splunk import atom, results
from labstack.splunk.auth import Auth
from labstack.splunk.hec import KnownIndexes
from labstack.splunk.jobs import Job, Jobs
from labstack.splunk.saved import SavedSearches
from labstack.splunk.spl import SPLError

log = logging.getLogger("labstack.splunk.api")

XML = "text/xml; charset=utf-8"
JSON = "application/json; charset=utf-8"
#: Entries per page when a listing names no ``count`` (splunkd's default).
DEFAULT_COUNT = 30
#: Results per page for job results and oneshot when no ``count`` is given (splunkd's default).
DEFAULT_RESULTS_COUNT = 100
_INDEX_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
NOT_AUTHENTICATED = "call not properly authenticated"


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
        except ValueError:
            raise ApiError(400, f"Argument '{name}' must be an integer, got '{value}'.") from None


# -- routing -------------------------------------------------------------------------------------
Handler = Callable[["Splunkd", Call], Response]
ROUTES: list[tuple[tuple[str, ...], str, Handler]] = []


def route(pattern: str, *methods: str):
    """Register a handler for ``pattern`` (segments; ``{name}`` captures one) and methods."""
    parts = tuple(pattern.strip("/").split("/"))

    def add(fn: Handler) -> Handler:
        for method in methods:
            if any(p == parts and m == method for p, m, _ in ROUTES):
                raise ValueError(f"route {method} {pattern} is registered twice")
            ROUTES.append((parts, method, fn))
        return fn

    return add


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


class Splunkd:
    """The management API over an event store, with jobs, saved searches and auth.

    ``dispatch_hooks`` are called as ``hook(saved_search, job, params)`` after a saved search is
    dispatched through the API (the alerting scheduler uses it for ``trigger_actions``).
    """

    def __init__(
        self,
        store,
        state_dir: Path,
        auth: Auth,
        server_name: str | None = None,
        extra_routes: Callable[[Request], Response | None] | None = None,
    ):
        self.store = store
        self.state_dir = Path(state_dir)
        self.auth = auth
        self.server_name = server_name or socket.gethostname()
        self.saved = SavedSearches(self.state_dir / "saved_searches.json")
        self.jobs = Jobs(self._run_search)
        self.started = time.time()
        self.extra_routes = extra_routes
        self.dispatch_hooks: list[Callable] = []
        #: ``check(attrs)`` for a saved search about to be stored; ValueError rejects it (400).
        self.saved_checks: list[Callable] = []
        #: Index names for ingest checks, shared with the HEC; refreshed when indexes change.
        self.known_indexes = KnownIndexes(store)
        #: Called after an index is created or deleted.
        self.index_listeners: list[Callable[[], None]] = [self.known_indexes.invalidate]
        self.lookup_staging = self.state_dir / "lookup_tmp"

    # -- search ----------------------------------------------------------------------------------
    def _run_search(self, search: str, earliest, latest, now: float):
        found = self.store.search(search, earliest=earliest, latest=latest, now=now)
        fields = list(found.fields)
        return (
            fields,
            results.clean_rows(fields, found.rows),
            results.normalise_messages(getattr(found, "messages", [])),
        )

    # -- WSGI ------------------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            response = self.handle(request)
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
        return response(environ, start_response)

    @staticmethod
    def _mode_of(request: Request) -> str:
        mode = request.args.get("output_mode")
        if mode is None and request.method == "POST" and "receivers" not in request.path:
            mode = _form(request.get_data(cache=True)).get("output_mode", [None])[-1]
        return mode or "xml"

    @staticmethod
    def error(exc: ApiError, mode: str = "xml") -> Response:
        messages = [(exc.kind, exc.text)]
        if mode.startswith("json"):
            return Response(atom.messages_json(messages), exc.status, content_type=JSON)
        return Response(atom.messages_xml(messages), exc.status, content_type=XML)

    def handle(self, request: Request) -> Response:
        raw_uri = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
        raw_path = raw_uri.split("?", 1)[0] if raw_uri else request.path
        split = _split_path(raw_path)
        if split is None:
            if self.extra_routes is not None:
                page = self.extra_routes(request)
                if page is not None:
                    return page
            raise ApiError(404, "Not Found")
        segments, owner, app = split
        params: dict[str, list[str]] = {}
        for key, values in request.args.lists():
            params[key] = list(values)
        if request.method == "POST" and segments[:2] != ["receivers", "simple"]:
            content_type = request.headers.get("Content-Type", "")
            body = request.get_data(cache=True)
            if content_type.startswith("application/json") and body.strip():
                try:
                    loaded = json.loads(body)
                except ValueError:
                    raise ApiError(400, "Request body is not valid JSON.") from None
                if isinstance(loaded, dict):
                    for key, value in loaded.items():
                        params[key] = [
                            v if isinstance(v, str) else json.dumps(v)
                            for v in (value if isinstance(value, list) else [value])
                        ]
            else:
                params.update(_form(body))
        base = f"{request.scheme}://{request.host}"
        call = Call(request, segments, params, owner, app, base)
        if segments != ["auth", "login"]:
            user = self.auth.user_for(request.environ)
            if user is None:
                raise ApiError(401, NOT_AUTHENTICATED, "WARN")
            call.user = user
        known_path = False
        for parts, method, handler in ROUTES:
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


# -- auth and server ---------------------------------------------------------------------------
@route("auth/login", "POST")
def login(api: Splunkd, call: Call) -> Response:
    key = api.auth.login(call.get("username", ""), call.get("password", ""))
    if key is None:
        text = "Login failed"
        if call.mode == "json":
            body = json.dumps(
                {"messages": [{"type": "WARN", "code": "incorrect_username_or_password",
                               "text": text}]}
            )  # fmt: skip
            return Response(body, 401, content_type=JSON)
        body = (
            f'{atom.XML_DECL}<response><messages><msg type="WARN" '
            f'code="incorrect_username_or_password">{text}</msg></messages></response>'
        )
        return Response(body, 401, content_type=XML)
    if call.mode == "json":
        return Response(
            json.dumps({"sessionKey": key, "message": "", "code": ""}), content_type=JSON
        )
    return Response(atom.response_xml(sessionKey=key), content_type=XML)


@route("authentication/httpauth-tokens/{token}", "DELETE")
def logout(api: Splunkd, call: Call) -> Response:
    api.auth.logout(call.args["token"])
    return api.message(call, "Session deleted.")


@route("authentication/current-context", "GET")
def current_context(api: Splunkd, call: Call) -> Response:
    content = {"username": call.user, "realname": "Administrator", "roles": ["admin"]}
    entity = atom.Entity("context", "authentication/current-context", content)
    return api.feed(call, "current-context", [entity])


@route("server/info", "GET")
def server_info(api: Splunkd, call: Call) -> Response:
    content = {
        "version": atom.VERSION,
        "build": atom.BUILD,
        "serverName": api.server_name,
        "host": api.server_name,
        "host_fqdn": api.server_name,
        "product_type": "enterprise",
        "instance_type": "download",
        "os_name": platform.system(),
        "os_version": platform.release(),
        "cpu_arch": platform.machine(),
        "numberOfCores": str(os.cpu_count() or 1),
        "mode": "normal",
        "isFree": "0",
        "isTrial": "0",
        "licenseState": "OK",
        "startup_time": str(int(api.started)),
        "server_roles": ["indexer", "search_head"],
        "guid": "6D4A6F2C-1B9F-4E8B-9A52-4C1A8F0B2E11",
        "kvStoreStatus": "disabled",
    }
    return api.feed(call, "server-info", [atom.Entity("server-info", "server/info", content)])


@route("server/health/splunkd", "GET")
def server_health(api: Splunkd, call: Call) -> Response:
    entity = atom.Entity("splunkd", "server/health/splunkd", {"health": "green"})
    return api.feed(call, "splunkd", [entity])


# -- indexes -----------------------------------------------------------------------------------
def _index_entity(name: str, info: dict | None) -> atom.Entity:
    info = info or {}
    content = {
        "datatype": "event",
        "defaultDatabase": "main",
        "disabled": "0",
        "frozenTimePeriodInSecs": "188697600",
        "homePath": f"$SPLUNK_DB/{name}/db",
        "coldPath": f"$SPLUNK_DB/{name}/colddb",
        "thawedPath": f"$SPLUNK_DB/{name}/thaweddb",
        "isInternal": "1" if name.startswith("_") else "0",
        "maxTotalDataSizeMB": "500000",
        "totalEventCount": "0",
        "currentDBSizeMB": "0",
        "minTime": "",
        "maxTime": "",
    }
    for key, value in info.items():
        if key in ("minTime", "maxTime") and isinstance(value, int | float):
            value = datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
        content[key] = results.as_text(key, value) if value is not None else ""
    return atom.Entity(name, "data/indexes", content, owner="nobody", app="system")


@route("data/indexes", "GET")
def list_indexes(api: Splunkd, call: Call) -> Response:
    indexes = api.store.indexes()
    entities = [_index_entity(n, indexes[n]) for n in sorted(indexes)]
    return api.listing(call, "indexes", entities)


@route("data/indexes/{name}", "GET")
def get_index(api: Splunkd, call: Call) -> Response:
    name = call.args["name"]
    indexes = api.store.indexes()
    if name not in indexes:
        raise ApiError(404, f"Could not find object id={name}")
    return api.feed(call, "indexes", [_index_entity(name, indexes[name])])


@route("data/indexes", "POST")
def create_index(api: Splunkd, call: Call) -> Response:
    name = call.get("name")
    if not name:
        raise ApiError(400, "In handler 'indexes': Missing required argument: name")
    if not _INDEX_NAME.match(name):
        raise ApiError(
            400,
            f"In handler 'indexes': Index name={name}, Must begin with a letter or number and "
            "contain only lowercase letters, numbers, underscores or hyphens.",
        )
    if name in api.store.indexes():
        raise ApiError(409, f"In handler 'indexes': Index {name} already exists.")
    api.store.create_index(name)
    for listener in api.index_listeners:
        listener()
    return api.feed(call, "indexes", [_index_entity(name, api.store.indexes().get(name))], 201)


@route("data/indexes/{name}", "POST")
def update_index(api: Splunkd, call: Call) -> Response:
    return get_index(api, call)


@route("data/indexes/{name}", "DELETE")
def delete_index(api: Splunkd, call: Call) -> Response:
    name = call.args["name"]
    if name not in api.store.indexes():
        raise ApiError(404, f"Could not find object id={name}")
    try:
        api.store.delete_index(name)
    except (ValueError, KeyError) as exc:
        raise ApiError(400, f"In handler 'indexes': {exc}") from None
    for listener in api.index_listeners:
        listener()
    return api.feed(call, "indexes", [])


@route("receivers/simple", "POST")
def receivers_simple(api: Splunkd, call: Call) -> Response:
    data = call.request.get_data(cache=False)
    if not data.strip():
        raise ApiError(400, "No data")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # what http.client sends for a str body
    index = call.get("index") or "main"
    if index not in api.known_indexes:
        raise ApiError(400, f"Index '{index}' does not exist.")
    event = {
        "_time": time.time(),
        "index": index,
        "host": call.get("host") or api.server_name,
        "source": call.get("source") or "http-simple",
        "sourcetype": call.get("sourcetype") or "http-simple",
        "_raw": text.rstrip("\r\n"),
    }
    api.store.add([event])
    fields = {
        "_index": index,
        "bytes": str(len(data)),
        "host": event["host"],
        "source": event["source"],
        "sourcetype": event["sourcetype"],
    }
    inner = "".join(
        f"<field k='{k}'><value><text>{_escape(v)}</text></value></field>"
        for k, v in fields.items()
    )
    body = f"{atom.XML_DECL}<response><results><result>{inner}</result></results></response>"
    return Response(body, content_type=XML)


# -- search jobs -------------------------------------------------------------------------------
def _job_entity(job: Job) -> atom.Entity:
    return atom.Entity(
        job.sid,
        "search/jobs",
        job.status(),
        owner=job.owner,
        app=job.app,
        sharing="global",
        updated=job.finished or job.created,
        perms={"read": [job.owner], "write": [job.owner]},
    )


def _search_text(call: Call) -> str:
    search = call.get("search")
    if search is None or not search.strip():
        raise ApiError(400, "Missing required argument: search", "FATAL")
    return search


def _times(call: Call) -> tuple[str | None, str | None, float | None]:
    now = call.get("now")
    try:
        now_value = float(now) if now not in (None, "") else None
    except ValueError:
        raise ApiError(400, f"Invalid value for 'now': {now}", "FATAL") from None
    return call.get("earliest_time") or None, call.get("latest_time") or None, now_value


def _spl_error(exc: SPLError) -> ApiError:
    return ApiError(400, str(exc), "FATAL")


def _page(call: Call, rows: list[dict], fields: list[str]) -> tuple[list[dict], list[str]]:
    count = call.integer("count", DEFAULT_RESULTS_COUNT)
    offset = call.integer("offset", 0)
    if offset < 0:
        offset = max(len(rows) + offset, 0)
    rows = rows[offset:] if count <= 0 else rows[offset : offset + count]
    wanted = call.params.get("f") or call.params.get("field_list")
    if wanted:
        names = [n.strip() for value in wanted for n in value.split(",") if n.strip()]
        keep = [f for f in fields if any(_glob(n, f) for n in names)]
        rows = [{k: v for k, v in row.items() if k in keep} for row in rows]
        fields = keep
    return rows, fields


def _glob(pattern: str, name: str) -> bool:
    if "*" not in pattern:
        return pattern == name
    return re.fullmatch(".*".join(re.escape(p) for p in pattern.split("*")), name) is not None


def _results_response(call: Call, job: Job, preview: bool = False) -> Response:
    mode = call.mode
    if mode not in results.MODES:
        raise ApiError(400, f"Invalid output_mode '{mode}'.")
    rows, fields = _page(call, job.rows, job.fields)
    body = results.render(
        fields, rows, mode, job.messages, preview=preview, offset=call.integer("offset", 0)
    )
    return Response(body, content_type=results.CONTENT_TYPES[mode])


@route("search/jobs", "GET")
def list_jobs(api: Splunkd, call: Call) -> Response:
    return api.listing(call, "jobs", [_job_entity(j) for j in api.jobs.list()])


@route("search/jobs", "POST")
def create_job(api: Splunkd, call: Call) -> Response:
    search = _search_text(call)
    earliest, latest, now = _times(call)
    exec_mode = call.get("exec_mode", "normal")
    if exec_mode == "oneshot":
        try:
            job = api.jobs.run_now(search, earliest, latest, now)
        except SPLError as exc:
            raise _spl_error(exc) from None
        return _results_response(call, job)
    try:
        job = api.jobs.create(
            search,
            earliest,
            latest,
            now,
            params=call.flat(skip=("output_mode",)),
            blocking=exec_mode == "blocking",
        )
    except SPLError as exc:
        raise _spl_error(exc) from None
    return api.sid_response(call, job.sid)


@route("search/jobs/export", "GET", "POST")
def export(api: Splunkd, call: Call) -> Response:
    search = _search_text(call)
    earliest, latest, now = _times(call)
    mode = call.mode
    if mode not in results.MODES:
        raise ApiError(400, f"Invalid output_mode '{mode}'.")
    try:
        job = api.jobs.run_now(search, earliest, latest, now)
    except SPLError as exc:
        raise _spl_error(exc) from None
    count = call.integer("count", 0)
    rows = job.rows if count <= 0 else job.rows[:count]
    lines = results.export_lines(job.fields, rows, mode, job.messages)
    return Response(
        (line.encode("utf-8") for line in lines), content_type=results.CONTENT_TYPES[mode]
    )


def _job(api: Splunkd, call: Call) -> Job:
    job = api.jobs.get(call.args["sid"])
    if job is None:
        raise ApiError(404, "Unknown sid.", "FATAL")
    return job


@route("search/jobs/{sid}", "GET")
def job_status(api: Splunkd, call: Call) -> Response:
    job = _job(api, call)
    entity = _job_entity(job)
    if call.mode == "json":
        return api.feed(call, "jobs", [entity])
    return Response(atom.entry_xml(entity, call.base), content_type=XML)


@route("search/jobs/{sid}", "DELETE")
def delete_job(api: Splunkd, call: Call) -> Response:
    _job(api, call)
    api.jobs.delete(call.args["sid"])
    return api.message(call, "Search job cancelled.")


@route("search/jobs/{sid}/control", "POST")
def job_control(api: Splunkd, call: Call) -> Response:
    job = _job(api, call)
    action = call.get("action", "")
    if action == "cancel":
        api.jobs.delete(job.sid)
        return api.message(call, "Search job cancelled.")
    if action == "setttl":
        job.ttl = call.integer("ttl", job.ttl)
        return api.message(call, "The ttl of the search job was changed.")
    if action in ("pause", "unpause", "finalize", "touch", "setpriority", "enablepreview",
                  "disablepreview", "save", "unsave"):  # fmt: skip
        return api.message(call, f"Search job {action} request accepted.")
    raise ApiError(400, f"Unknown action '{action}'.")


@route("search/jobs/{sid}/results", "GET", "POST")
def job_results(api: Splunkd, call: Call) -> Response:
    job = _job(api, call)
    if not job.is_done:
        return Response(b"", 204)
    return _results_response(call, job)


@route("search/jobs/{sid}/results_preview", "GET", "POST")
def job_preview(api: Splunkd, call: Call) -> Response:
    job = _job(api, call)
    return _results_response(call, job, preview=not job.is_done)


@route("search/jobs/{sid}/events", "GET", "POST")
def job_events(api: Splunkd, call: Call) -> Response:
    job = _job(api, call)
    if not job.is_done:
        return Response(b"", 204)
    return _results_response(call, job)


@route("search/jobs/{sid}/summary", "GET", "POST")
def job_summary(api: Splunkd, call: Call) -> Response:
    job = _job(api, call)
    summary = field_summary(job.fields, job.rows)
    if call.mode == "json":
        return Response(json.dumps({"fields": summary}), content_type=JSON)
    parts = []
    for name, info in summary.items():
        modes = "".join(
            f"<value c='{v['count']}'><text>{_escape(v['value'])}</text></value>"
            for v in info["modes"]
        )
        parts.append(
            f"<field k='{_escape(name)}' c='{info['count']}' dc='{info['distinct_count']}'>"
            f"<modes>{modes}</modes></field>"
        )
    body = f"{atom.XML_DECL}<summary>{''.join(parts)}</summary>"
    return Response(body, content_type=XML)


@route("search/jobs/{sid}/search.log", "GET")
def job_log(api: Splunkd, call: Call) -> Response:
    job = _job(api, call)
    lines = [f"search: {job.search}", f"state: {job.state}"]
    lines += [f"{kind}: {text}" for kind, text in job.messages]
    return Response("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


def field_summary(fields: list[str], rows: list[dict], top: int = 10) -> dict[str, dict]:
    """Per field: how many results have it, distinct values, and the most common values."""
    summary = {}
    for name in fields:
        counts: dict[str, int] = {}
        present = 0
        for row in rows:
            value = row.get(name)
            if value is None:
                continue
            present += 1
            for v in value if isinstance(value, list) else [value]:
                counts[v] = counts.get(v, 0) + 1
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
        summary[name] = {
            "count": present,
            "distinct_count": len(counts),
            "modes": [{"value": v, "count": c} for v, c in ranked],
        }
    return summary


# -- saved searches ------------------------------------------------------------------------------
_SAVED_ACL_PARAMS = ("output_mode", "name", "owner", "app", "sharing")


def _saved_entity(saved) -> atom.Entity:
    return atom.Entity(
        saved.name,
        "saved/searches",
        saved.content(),
        owner=saved.owner,
        app=saved.app,
        sharing=saved.sharing,
        updated=saved.updated,
    )


def _saved(api: Splunkd, call: Call):
    saved = api.saved.get(call.args["name"])
    if saved is None:
        raise ApiError(404, f"Could not find object id={call.args['name']}")
    return saved


def _check_saved(api: Splunkd, attrs: dict) -> None:
    for check in api.saved_checks:
        try:
            check(attrs)
        except ValueError as exc:
            raise ApiError(400, f"In handler 'savedsearch': {exc}") from None


@route("saved/searches", "GET")
def list_saved(api: Splunkd, call: Call) -> Response:
    return api.listing(call, "savedsearch", [_saved_entity(s) for s in api.saved.list()])


@route("saved/searches", "POST")
def create_saved(api: Splunkd, call: Call) -> Response:
    name = call.get("name")
    if not name:
        raise ApiError(400, "In handler 'savedsearch': Missing required argument: name")
    if call.get("search") is None:
        raise ApiError(400, "In handler 'savedsearch': Missing required argument: search")
    app = call.get("app") or (call.app if call.app not in (None, "-") else "search")
    owner = call.get("owner") or (call.owner if call.owner not in (None, "-") else "nobody")
    _check_saved(api, call.flat(skip=_SAVED_ACL_PARAMS))
    try:
        saved = api.saved.create(name, call.flat(skip=_SAVED_ACL_PARAMS), owner=owner, app=app)
    except KeyError:
        raise ApiError(
            409, f"In handler 'savedsearch': An object with name={name} already exists"
        ) from None
    return api.feed(call, "savedsearch", [_saved_entity(saved)], status=201)


@route("saved/searches/{name}", "GET")
def get_saved(api: Splunkd, call: Call) -> Response:
    return api.feed(call, "savedsearch", [_saved_entity(_saved(api, call))])


@route("saved/searches/{name}", "POST")
def update_saved(api: Splunkd, call: Call) -> Response:
    saved = _saved(api, call)
    if "name" in call.params:
        raise ApiError(
            400, "In handler 'savedsearch': Argument \"name\" is not supported by this handler."
        )
    _check_saved(api, {**saved.attrs, **call.flat(skip=_SAVED_ACL_PARAMS)})
    saved = api.saved.update(saved.name, call.flat(skip=_SAVED_ACL_PARAMS))
    return api.feed(call, "savedsearch", [_saved_entity(saved)])


@route("saved/searches/{name}", "DELETE")
def delete_saved(api: Splunkd, call: Call) -> Response:
    saved = _saved(api, call)
    api.saved.delete(saved.name)
    return api.feed(call, "savedsearch", [])


@route("saved/searches/{name}/dispatch", "POST")
def dispatch_saved(api: Splunkd, call: Call) -> Response:
    saved = _saved(api, call)
    attrs = saved.content()
    search = attrs["qualifiedSearch"]
    for key, value in call.params.items():
        if key.startswith("args."):
            search = search.replace(f"${key[5:]}$", value[-1])
    earliest = call.get("dispatch.earliest_time", attrs.get("dispatch.earliest_time")) or None
    latest = call.get("dispatch.latest_time", attrs.get("dispatch.latest_time")) or None
    # A real-time alert dispatched by hand runs once over its window (rt-5m: -5m; rt: all time).
    earliest, latest = (
        (t[2:] or None) if t and t.lower().startswith("rt") else t for t in (earliest, latest)
    )
    now_text = call.get("dispatch.now") or call.get("now")
    try:
        now = float(now_text) if now_text else None
    except ValueError:
        raise ApiError(400, f"Invalid value for 'dispatch.now': {now_text}", "FATAL") from None
    try:
        job = api.jobs.create(
            search, earliest, latest, now, params=call.flat(skip=("output_mode",)), label=saved.name
        )
    except SPLError as exc:
        raise _spl_error(exc) from None
    for hook in list(api.dispatch_hooks):
        try:
            hook(saved, job, call.flat())
        except Exception:
            log.exception("dispatch hook failed for %s", saved.name)
    return api.sid_response(call, job.sid)


@route("saved/searches/{name}/history", "GET")
def saved_history(api: Splunkd, call: Call) -> Response:
    saved = _saved(api, call)
    return api.listing(call, "history", [_job_entity(j) for j in api.jobs.history(saved.name)])


# -- macros (configs/conf-macros and admin/macros) -----------------------------------------------
def _macros(api: Splunkd) -> dict[str, dict]:
    out = {}
    for name, value in api.store.macros().items():
        if isinstance(value, dict):
            definition = value.get("definition", "")
            args = value.get("args", ())
        elif isinstance(value, list | tuple):
            definition, args = (value[0], value[1]) if len(value) == 2 else (value[0], ())
        else:
            definition, args = value, ()
        if isinstance(args, str):
            args = [a for a in args.split(",") if a]
        out[name] = {"definition": definition, "args": ",".join(args)}
    return out


def _macro_entity(name: str, macro: dict, collection: str) -> atom.Entity:
    content = {
        "definition": macro["definition"],
        "args": macro["args"],
        "iseval": "0",
        "validation": "",
        "errormsg": "",
        "description": "",
        "disabled": "0",
    }
    return atom.Entity(name, collection, content, owner="nobody", app="search", sharing="app")


def _macro_collection(call: Call) -> str:
    return "admin/macros" if call.segments[0] == "admin" else "configs/conf-macros"


def _set_macro(api: Splunkd, name: str, definition: str, args: str | None) -> None:
    arg_names = tuple(a.strip() for a in (args or "").split(",") if a.strip())
    match = re.fullmatch(r"(.+)\((\d+)\)", name)
    if arg_names and (match is None or int(match.group(2)) != len(arg_names)):
        raise ApiError(
            400,
            f"In handler 'macros': macro '{name}' has {len(arg_names)} argument(s); its name "
            f"must end with ({len(arg_names)}).",
        )
    try:
        api.store.set_macro(name, definition, args=arg_names)
    except (ValueError, SPLError) as exc:
        raise ApiError(400, f"In handler 'macros': {exc}") from None


@route("configs/conf-macros", "GET")
@route("admin/macros", "GET")
@route("properties/macros", "GET")
def list_macros(api: Splunkd, call: Call) -> Response:
    collection = _macro_collection(call)
    entities = [_macro_entity(n, m, collection) for n, m in sorted(_macros(api).items())]
    return api.listing(call, "conf-macros", entities)


@route("configs/conf-macros", "POST")
@route("admin/macros", "POST")
def create_macro(api: Splunkd, call: Call) -> Response:
    name = call.get("name")
    if not name:
        raise ApiError(400, "In handler 'macros': Missing required argument: name")
    if name in _macros(api):
        raise ApiError(409, f"In handler 'macros': An object with name={name} already exists")
    definition = call.get("definition")
    if definition is None:
        raise ApiError(400, "In handler 'macros': Missing required argument: definition")
    _set_macro(api, name, definition, call.get("args"))
    macro = _macros(api)[name]
    return api.feed(call, "conf-macros", [_macro_entity(name, macro, _macro_collection(call))], 201)


def _macro_or_404(api: Splunkd, call: Call) -> tuple[str, dict]:
    name = call.args["name"]
    macro = _macros(api).get(name)
    if macro is None:
        raise ApiError(404, f"Could not find object id={name}")
    return name, macro


@route("configs/conf-macros/{name}", "GET")
@route("admin/macros/{name}", "GET")
@route("properties/macros/{name}", "GET")
def get_macro(api: Splunkd, call: Call) -> Response:
    name, macro = _macro_or_404(api, call)
    return api.feed(call, "conf-macros", [_macro_entity(name, macro, _macro_collection(call))])


@route("configs/conf-macros/{name}", "POST")
@route("admin/macros/{name}", "POST")
def update_macro(api: Splunkd, call: Call) -> Response:
    name, macro = _macro_or_404(api, call)
    definition = call.get("definition", macro["definition"])
    _set_macro(api, name, definition, call.get("args", macro["args"]))
    macro = _macros(api)[name]
    return api.feed(call, "conf-macros", [_macro_entity(name, macro, _macro_collection(call))])


@route("configs/conf-macros/{name}", "DELETE")
@route("admin/macros/{name}", "DELETE")
def delete_macro(api: Splunkd, call: Call) -> Response:
    name, _ = _macro_or_404(api, call)
    remove = getattr(api.store, "delete_macro", None)
    if remove is None:
        raise ApiError(400, "In handler 'macros': deleting macros is not supported here.")
    remove(name)
    return api.feed(call, "conf-macros", [])


@route("properties", "GET")
def list_conf_files(api: Splunkd, call: Call) -> Response:
    entity = atom.Entity("macros", "properties", {}, owner="nobody", app="search")
    return api.listing(call, "properties", [entity])


# -- lookup table files ------------------------------------------------------------------------
def _lookup_entity(api: Splunkd, name: str) -> atom.Entity:
    content = {
        "eai:data": f"$SPLUNK_HOME/etc/apps/search/lookups/{name}",
        "eai:appName": "search",
        "eai:userName": "nobody",
    }
    return atom.Entity(name, "data/lookup-table-files", content, owner="nobody", app="search",
                       sharing="app")  # fmt: skip


@route("data/lookup-table-files", "GET")
def list_lookups(api: Splunkd, call: Call) -> Response:
    entities = [_lookup_entity(api, n) for n in sorted(api.store.lookups())]
    return api.listing(call, "lookup-table-files", entities)


@route("data/lookup-table-files/{name}", "GET")
def get_lookup(api: Splunkd, call: Call) -> Response:
    name = call.args["name"]
    if name not in api.store.lookups():
        raise ApiError(404, f"Could not find object id={name}")
    return api.feed(call, "lookup-table-files", [_lookup_entity(api, name)])


@route("data/lookup-table-files", "POST")
@route("data/lookup-table-files/{name}", "POST")
def upload_lookup(api: Splunkd, call: Call) -> Response:
    """Splunk's two-step upload: the CSV is staged under ``lookup_tmp``, then named here."""
    name = call.args.get("name") or call.get("name")
    staged = call.get("eai:data")
    if not name:
        raise ApiError(400, "In handler 'lookup-table-files': Missing required argument: name")
    if not staged:
        raise ApiError(400, "In handler 'lookup-table-files': Missing required argument: eai:data")
    staging = api.lookup_staging.resolve()
    path = Path(staged).resolve()
    if staging not in path.parents or not path.is_file():
        raise ApiError(
            400,
            f"In handler 'lookup-table-files': The lookup table file must be staged under "
            f"{staging}: {staged}",
        )
    creating = "name" not in call.args
    if creating and name in api.store.lookups():
        raise ApiError(
            409, f"In handler 'lookup-table-files': An object with name={name} already exists"
        )
    try:
        api.store.put_lookup(name, path.read_text(encoding="utf-8"))
    except (ValueError, SPLError) as exc:
        raise ApiError(400, f"In handler 'lookup-table-files': {exc}") from None
    path.unlink(missing_ok=True)
    return api.feed(
        call, "lookup-table-files", [_lookup_entity(api, name)], 201 if creating else 200
    )


@route("data/lookup-table-files/{name}", "DELETE")
def delete_lookup(api: Splunkd, call: Call) -> Response:
    name = call.args["name"]
    if name not in api.store.lookups():
        raise ApiError(404, f"Could not find object id={name}")
    remove = getattr(api.store, "delete_lookup", None)
    if remove is None:
        raise ApiError(
            400, "In handler 'lookup-table-files': deleting lookups is not supported here."
        )
    remove(name)
    return api.feed(call, "lookup-table-files", [])
