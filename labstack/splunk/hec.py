"""The HTTP Event Collector: Splunk's JSON and raw ingest endpoints on their own port.

Endpoints (wire spec 1.9): ``POST /services/collector[/event[/1.0]]`` takes one or more JSON
event objects, concatenated or whitespace separated; ``POST /services/collector/raw[/1.0]`` takes
text, one event per line; ``GET /services/collector/health`` needs no token. Requests carry
``Authorization: Splunk <token>`` (or Basic auth with the token as the password).

A request is all or nothing: every event is checked before any is stored, so a bad payload
changes nothing and the error names the first bad event (``invalid-event-number``, from 0).

>>> events = parse_events('{"event": "a"} {"time": 5, "event": {"b": 1}}', Defaults(now=1.0))
>>> [(e["_raw"], e["_time"]) for e in events]
[('a', 1.0), ('{"b": 1}', 5.0)]
"""

from __future__ import annotations

import base64
import gzip
import hmac
import json
import logging
import re
import socket
import threading
import time
import zlib
from dataclasses import dataclass

import duckdb
import pandas as pd
from werkzeug.wrappers import Request, Response

log = logging.getLogger("labstack.splunk.hec")

#: Largest request body accepted (Splunk's max_content_length default is 800 MB).
MAX_CONTENT_LENGTH = 800 * 1024 * 1024
#: Ingest requests handled at once; more wait up to BUSY_WAIT seconds, then get 503.
MAX_CONCURRENT = 4
BUSY_WAIT = 10.0
DEFAULT_SOURCETYPE = "httpevent"
TOKEN_NAME = "lab"

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_WS = re.compile(r"[ \t\n\r]*")
_decode = json.JSONDecoder().raw_decode
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_META = ("host", "source", "sourcetype", "index")

# Splunk's HEC status texts and codes.
SUCCESS = (200, 0, "Success")
TOKEN_DISABLED = (403, 1, "Token disabled")
TOKEN_REQUIRED = (401, 2, "Token is required")
INVALID_AUTH = (401, 3, "Invalid authorization")
INVALID_TOKEN = (403, 4, "Invalid token")
NO_DATA = (400, 5, "No data")
INVALID_FORMAT = (400, 6, "Invalid data format")
INCORRECT_INDEX = (400, 7, "Incorrect index")
INTERNAL_ERROR = (500, 8, "Internal server error")
BUSY = (503, 9, "Server is busy")
INVALID_CHANNEL = (400, 11, "Invalid data channel")
EVENT_REQUIRED = (400, 12, "Event field is required")
EVENT_BLANK = (400, 13, "Event field cannot be blank")
ACK_DISABLED = (400, 14, "ACK is disabled")
BAD_FIELDS = (400, 15, "Error in handling indexed fields")
HEALTHY = (200, 17, "HEC is healthy")
NOT_FOUND = (404, 404, "The requested URL was not found on this server.")


class HecError(Exception):
    def __init__(self, status: tuple[int, int, str], event_number: int | None = None):
        super().__init__(status[2])
        self.status = status
        self.event_number = event_number


@dataclass
class Defaults:
    """Metadata for events that do not carry their own."""

    now: float
    index: str = "main"
    sourcetype: str = DEFAULT_SOURCETYPE
    source: str = f"http:{TOKEN_NAME}"
    host: str = "localhost"


def _time(value, number: int) -> float:
    if isinstance(value, bool):
        raise HecError(INVALID_FORMAT, number)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise HecError(INVALID_FORMAT, number) from None
    raise HecError(INVALID_FORMAT, number)


def _raw_event(obj: dict, event, text: str, start: int, end: int) -> str:
    """The event's text as sent when that is unambiguous, else its JSON serialisation."""
    if isinstance(event, str):
        return event
    # Fast path: "event" is the object's last key and its only occurrence, so the event's own
    # text runs from after that key to the object's closing brace.
    if next(reversed(obj)) == "event" and text.count('"event"', start, end) == 1:
        at = text.index('"event"', start, end) + 7
        value = text[at : end - 1].strip()
        if value.startswith(":"):
            return value[1:].lstrip()
    return _dumps(event)


def parse_events(text: str, defaults: Defaults) -> list[dict]:
    """Events from an /event body, as store rows; raises ``HecError`` naming the bad event.

    Bodies of one well-formed event per line, ``"event"`` last (what :mod:`helpers.splunk` and
    most senders write) take a fast path that never builds the events as Python objects; any
    other body, and any body the fast path has doubts about, is parsed event by event.
    """
    events = _parse_lines(text, defaults)
    return events if events is not None else _parse_each(text, defaults)


# DuckDB's JSON reader accepts more than RFC 8259 and Python do (trailing commas, nan and inf
# in any case); an event with anything that looks like those goes to Python's parser instead.
_DOUBTFUL_SQL = r",\s*[\]}]|[,:\[]\s*-?(?i:nan|inf)"
_validator_lock = threading.Lock()
_validator: list = []


def _all_valid_json(texts: list[str]) -> bool:
    """Whether every text is one strict JSON value, checked by DuckDB outside the GIL."""
    if not texts:
        return True
    with _validator_lock:
        if not _validator:
            _validator.append(duckdb.connect())
        cursor = _validator[0].cursor()
    try:
        cursor.register("texts", pd.DataFrame({"t": texts}))
        row = cursor.execute(
            "SELECT bool_and(json_valid(t) AND NOT regexp_matches(t, ?)) FROM texts",
            [_DOUBTFUL_SQL],
        ).fetchone()
        return bool(row and row[0])
    finally:
        cursor.close()


def _parse_lines(text: str, defaults: Defaults) -> list[dict] | None:
    """The fast path: one event per line, ``"event"`` its last key; None means "not sure"."""
    events, to_check = [], []
    loads, now = json.loads, defaults.now
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        if line[0] != "{" or line[-1] != "}" or line.count('"event"') != 1:
            return None
        at = line.index('"event"')
        # The text before "event" plus "}" must itself be an object, so that comma is the
        # object's own and "event" is a top-level key.
        prefix = line[:at].rstrip()
        if prefix == "{":
            envelope = {}
        elif prefix[-1] == ",":
            try:
                envelope = loads(prefix[:-1] + "}")
            except ValueError:
                return None
        else:
            return None
        rest = line[at + 7 : -1].strip()
        if rest[:1] != ":":
            return None
        raw = rest[1:].lstrip()
        if not raw or raw == "null":
            return None
        if raw[0] == '"':
            try:
                raw = loads(raw)
            except ValueError:
                return None
            if not isinstance(raw, str) or not raw.strip():
                return None
        else:
            to_check.append(raw)
        row = {
            "_time": now,
            "index": defaults.index,
            "sourcetype": defaults.sourcetype,
            "source": defaults.source,
            "host": defaults.host,
            "_raw": raw,
        }
        if envelope:
            try:
                _apply_envelope(row, envelope, len(events))
            except HecError:
                return None
        events.append(row)
    if not events or not _all_valid_json(to_check):
        return None
    return events


def _apply_envelope(row: dict, obj: dict, number: int) -> None:
    if "time" in obj:
        row["_time"] = _time(obj["time"], number)
    for key in _META:
        value = obj.get(key)
        if value is not None:
            if not isinstance(value, str):
                raise HecError(INVALID_FORMAT, number)
            if value:
                row[key] = value
    if "fields" in obj:
        row["fields"] = _fields(obj["fields"], number)


def _parse_each(text: str, defaults: Defaults) -> list[dict]:
    """The general path: concatenated objects in any layout, parsed one by one."""
    events = []
    pos, n, number = 0, len(text), 0
    match_ws = _WS.match
    now = defaults.now
    while True:
        pos = match_ws(text, pos).end()
        if pos >= n:
            break
        try:
            obj, end = _decode(text, pos)
        except ValueError:
            raise HecError(INVALID_FORMAT, number) from None
        if not isinstance(obj, dict):
            raise HecError(INVALID_FORMAT, number)
        if "event" not in obj:
            raise HecError(EVENT_REQUIRED, number)
        event = obj["event"]
        if event is None or (isinstance(event, str) and not event.strip()):
            raise HecError(EVENT_BLANK, number)
        row = {
            "_time": now,
            "index": defaults.index,
            "sourcetype": defaults.sourcetype,
            "source": defaults.source,
            "host": defaults.host,
            "_raw": _raw_event(obj, event, text, pos, end),
        }
        _apply_envelope(row, obj, number)
        events.append(row)
        pos = end
        number += 1
    if not events:
        raise HecError(NO_DATA)
    return events


def _fields(value, number: int) -> dict:
    """Indexed fields: a flat object of strings (or lists of strings)."""
    if not isinstance(value, dict):
        raise HecError(BAD_FIELDS, number)
    out = {}
    for key, item in value.items():
        if isinstance(item, list):
            if not all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in item):
                raise HecError(BAD_FIELDS, number)
            out[key] = [str(v) for v in item]
        elif isinstance(item, str | int | float) and not isinstance(item, bool):
            out[key] = str(item)
        else:
            raise HecError(BAD_FIELDS, number)
    return out


def parse_raw(text: str, defaults: Defaults) -> list[dict]:
    """Events from a /raw body: one per non-blank line."""
    events = [
        {
            "_time": defaults.now,
            "index": defaults.index,
            "sourcetype": defaults.sourcetype,
            "source": defaults.source,
            "host": defaults.host,
            "_raw": line,
        }
        for line in text.splitlines()
        if line.strip()
    ]
    if not events:
        raise HecError(NO_DATA)
    return events


class HecApp:
    """The WSGI app. ``store`` is the EventStore; ``token`` the one valid HEC token."""

    def __init__(self, store, token: str, host: str | None = None):
        self.store = store
        self._token = token
        self.host = host or socket.gethostname()
        self._slots = threading.BoundedSemaphore(MAX_CONCURRENT)

    # -- plumbing ------------------------------------------------------------------------------
    @staticmethod
    def _reply(status: tuple[int, int, str], event_number: int | None = None) -> Response:
        body = {"text": status[2], "code": status[1]}
        if event_number is not None:
            body["invalid-event-number"] = event_number
        return Response(
            json.dumps(body), status=status[0], content_type="application/json; charset=UTF-8"
        )

    def __call__(self, environ, start_response):
        request = Request(environ)
        request.max_content_length = MAX_CONTENT_LENGTH
        try:
            response = self.dispatch(request)
        except HecError as exc:
            response = self._reply(exc.status, exc.event_number)
        except Exception:
            log.exception("HEC request failed")
            response = self._reply(INTERNAL_ERROR)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response(environ, start_response)

    def _check_token(self, request: Request) -> None:
        header = request.headers.get("Authorization", "").strip()
        if not header:
            raise HecError(TOKEN_REQUIRED)
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if scheme.lower() == "splunk" and value:
            token = value
        elif scheme.lower() == "basic" and value:
            try:
                token = base64.b64decode(value).decode("utf-8").partition(":")[2]
            except ValueError:
                raise HecError(INVALID_AUTH) from None
        else:
            raise HecError(INVALID_AUTH)
        if not hmac.compare_digest(token.encode(), self._token.encode()):
            raise HecError(INVALID_TOKEN)

    def _check_channel(self, request: Request) -> None:
        channel = request.headers.get("X-Splunk-Request-Channel") or request.args.get("channel")
        if channel is not None and not _GUID.match(channel):
            raise HecError(INVALID_CHANNEL)

    def _body(self, request: Request) -> str:
        data = request.get_data(cache=False)
        encoding = request.headers.get("Content-Encoding", "").lower()
        try:
            if encoding == "gzip":
                data = gzip.decompress(data)
            elif encoding == "deflate":
                data = zlib.decompress(data)
        except (OSError, zlib.error, EOFError):
            raise HecError(INVALID_FORMAT, 0) from None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise HecError(INVALID_FORMAT, 0) from None

    def _defaults(self, request: Request) -> Defaults:
        args = request.args
        return Defaults(
            now=time.time(),
            index=args.get("index") or "main",
            sourcetype=args.get("sourcetype") or DEFAULT_SOURCETYPE,
            source=args.get("source") or f"http:{TOKEN_NAME}",
            host=args.get("host") or self.host,
        )

    # -- routes --------------------------------------------------------------------------------
    def dispatch(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        if path.endswith("/1.0"):
            path = path[: -len("/1.0")]
        if path == "/services/collector/health":
            return self._reply(HEALTHY)
        if path in ("/services/collector", "/services/collector/event"):
            kind = "event"
        elif path == "/services/collector/raw":
            kind = "raw"
        elif path == "/services/collector/ack":
            self._check_token(request)
            raise HecError(ACK_DISABLED)
        else:
            return self._reply(NOT_FOUND)
        if request.method != "POST":
            return self._reply(NOT_FOUND)
        self._check_token(request)
        self._check_channel(request)
        if not self._slots.acquire(timeout=BUSY_WAIT):
            raise HecError(BUSY)
        try:
            return self._ingest(request, kind)
        finally:
            self._slots.release()

    def _ingest(self, request: Request, kind: str) -> Response:
        text = self._body(request)
        defaults = self._defaults(request)
        if kind == "raw":
            events = parse_raw(text, defaults)
        else:
            del request  # the body can be large; keep only the events
            events = parse_events(text, defaults)
        del text
        known = set(self.store.indexes())
        for number, event in enumerate(events):
            if event["index"] not in known:
                raise HecError(INCORRECT_INDEX, number)
        self.store.add(events)
        return self._reply(SUCCESS)
