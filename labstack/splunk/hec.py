"""The HTTP Event Collector: Splunk's JSON and raw ingest endpoints on their own port.

Endpoints (wire spec 1.9): ``POST /services/collector[/event[/1.0]]`` takes one or more JSON
event objects, concatenated or whitespace separated; ``POST /services/collector/raw[/1.0]`` takes
text, one event per line; ``GET /services/collector/health`` needs no token. Requests carry
``Authorization: Splunk <token>`` (or Basic auth with the token as the password).

A request is all or nothing: every event is checked before any is stored, so a bad payload
changes nothing and the error names the first bad event (``invalid-event-number``, from 0).
An event that is a string is stored as it is; any other JSON value as compact JSON text.

>>> events = parse_events('{"event": "a"} {"time": 5, "event": {"b": 1}}', Defaults(now=1.0))
>>> [(e["_raw"], e["_time"]) for e in events]
[('a', 1.0), ('{"b":1}', 5.0)]
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import re
import socket
import threading
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass

import orjson
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from labstack.splunk.store import JSON_OBJECT

log = logging.getLogger("labstack.splunk.hec")

#: Largest request body accepted, before and after decompression (Splunk's max_content_length
#: default is 800 MB; a laptop's lab holds what it parses in memory, so it takes less).
MAX_CONTENT_LENGTH = 100 * 1024 * 1024
#: Bodies up to this size are read into a buffer of their declared length at once.
PREALLOCATE = 16 * 1024 * 1024
#: Event times Splunk can index: epoch seconds from 1970 up to its MAX_TIMESTAMP (year 2286).
MIN_TIME, MAX_TIME = 0.0, 9999999999.0
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
_META_KEYS = frozenset(_META)

# Splunk's HEC status texts and codes.
SUCCESS = (200, 0, "Success")
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
TOO_LARGE = (413, 27, "Content too large")
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
    """An event's ``time``: a number (or numeric text) in Splunk's indexable range."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise HecError(INVALID_FORMAT, number)
    try:
        seconds = float(value)
    except (ValueError, OverflowError):
        raise HecError(INVALID_FORMAT, number) from None
    if not MIN_TIME <= seconds <= MAX_TIME:  # also false for nan
        raise HecError(INVALID_FORMAT, number)
    return seconds


def parse_events(body: bytes | str, defaults: Defaults) -> list[dict]:
    """Events from an /event body, as store rows; raises ``HecError`` naming the bad event.

    Bodies of one event per line (what :mod:`helpers.splunk` and most senders write) are parsed
    line by line with orjson; any other body, and any line orjson refuses, goes to the general
    parser (the standard library's, whose rules decide what is valid JSON), which also finds
    the number of the first bad event.
    """
    data = body.encode("utf-8") if isinstance(body, str) else body
    events = _parse_lines(data, defaults)
    if events is not None:
        return events
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise HecError(INVALID_FORMAT, 0) from None
    return _parse_each(text, defaults)


def _compact(event) -> str:
    """A non-string event as compact JSON text: its ``_raw``."""
    try:
        return orjson.dumps(event).decode("utf-8")
    except (TypeError, orjson.JSONEncodeError):  # integers beyond 64 bits
        return _dumps(event)


def _parse_lines(data: bytes, defaults: Defaults) -> list[dict] | None:
    """One JSON object per line; None when the general parser must decide.

    The hot path of HEC: each line is parsed once and its envelope read in one pass over its
    keys; anything unusual (a time that is not a plain number in range, metadata that is not a
    string, indexed fields) leaves the row to ``_apply_envelope``'s checks, and anything invalid
    to the general parser, which names the bad event.
    """
    events = []
    append, loads, compact = events.append, orjson.loads, _compact
    base = {
        "_time": defaults.now,
        "index": defaults.index,
        "sourcetype": defaults.sourcetype,
        "source": defaults.source,
        "host": defaults.host,
    }
    meta, low, high = _META_KEYS, MIN_TIME, MAX_TIME
    for line in data.split(b"\n"):
        if not line or line.isspace():
            continue
        try:
            obj = loads(line)
        except orjson.JSONDecodeError:
            return None
        if type(obj) is not dict:
            return None
        event = obj.get("event")
        kind = type(event)
        if event is None or (kind is str and not event.strip()):
            return None
        row = base.copy()
        if kind is str:
            row["_raw"] = event
        else:
            row["_raw"] = compact(event)
            if kind is dict:  # JSON text of an object: the store need not check it again
                row[JSON_OBJECT] = True
        for key, value in obj.items():
            if key in meta:
                if type(value) is str:
                    if value:
                        row[key] = value
                    continue
                if value is None:
                    continue
            elif key == "time":
                kind = type(value)
                if (kind is float or kind is int) and low <= value <= high:
                    row["_time"] = value if kind is float else float(value)
                    continue
            elif key != "fields":
                continue
            try:  # the unusual: numeric text as time, indexed fields, or an error to name
                _apply_envelope(row, obj, len(events))
            except HecError:
                return None
            break
        append(row)
    return events or None


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
        except (ValueError, RecursionError):  # RecursionError: nested too deep
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
            "_raw": event if isinstance(event, str) else _compact(event),
        }
        if isinstance(event, dict):
            row[JSON_OBJECT] = True
        _apply_envelope(row, obj, number)
        _check_text(row, number)
        events.append(row)
        pos = end
        number += 1
    if not events:
        raise HecError(NO_DATA)
    return events


def _check_text(row: dict, number: int) -> None:
    """Refuse text the store cannot hold: JSON escapes of lone surrogates (``"\\ud800"``)."""
    try:
        _dumps(row).encode("utf-8")
    except UnicodeEncodeError:
        raise HecError(INVALID_FORMAT, number) from None


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


def _read(request: Request) -> bytes:
    """The request body. Up to ``PREALLOCATE`` bytes are read into one buffer sized by its
    ``Content-Length`` (werkzeug's ``get_data`` reads 64 KB at a time and copies it all twice);
    a longer or chunked body grows as it arrives, so a length alone never claims memory. The
    stream enforces the size limit (413) and raises ``ClientDisconnected`` when the sender
    stops short."""
    length = request.content_length
    stream = request.stream  # first: a length above the limit is refused before any read
    if length is None or length > PREALLOCATE:
        return request.get_data(cache=False)
    buffer = bytearray(length)
    view, got = memoryview(buffer), 0
    while got < length:
        got += stream.readinto(view[got:])
    return bytes(buffer)


def _decompress(data: bytes, encoding: str) -> bytes:
    """A gzip or deflate body, refused (413) once it would grow past MAX_CONTENT_LENGTH."""
    wbits = zlib.MAX_WBITS | 16 if encoding == "gzip" else zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(data, MAX_CONTENT_LENGTH)
    except zlib.error:
        raise HecError(INVALID_FORMAT, 0) from None
    if inflater.unconsumed_tail:
        raise HecError(TOO_LARGE)
    if not inflater.eof:
        raise HecError(INVALID_FORMAT, 0)
    return out


class KnownIndexes:
    """The store's index names, cached so that ingest does not ask the store on every request.

    A name not in the cache makes one fresh look-up before it is refused; the management API
    calls :meth:`invalidate` when it deletes an index; and the cache is never older than
    ``ttl`` seconds (for indexes changed by other means).
    """

    def __init__(self, store, ttl: float = 5.0):
        self.store, self.ttl = store, ttl
        self._names: frozenset[str] = frozenset()
        self._loaded = float("-inf")
        self._lock = threading.Lock()

    def _refresh(self) -> frozenset[str]:
        with self._lock:
            self._names = frozenset(self.store.index_names())
            self._loaded = time.monotonic()
            return self._names

    def __contains__(self, name: str) -> bool:
        names = self._names
        if time.monotonic() - self._loaded > self.ttl:
            names = self._refresh()
        return name in names or name in self._refresh()

    def invalidate(self) -> None:
        self._loaded = float("-inf")


class HecApp:
    """The WSGI app. ``store`` is the EventStore; ``token`` the one valid HEC token."""

    def __init__(
        self, store, token: str, host: str | None = None, indexes: KnownIndexes | None = None
    ):
        self.store = store
        self.indexes = indexes or KnownIndexes(store)
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
        except RequestEntityTooLarge:
            response = self._reply(TOO_LARGE)
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

    def _body(self, request: Request) -> bytes:
        try:
            data = _read(request)
        except ClientDisconnected:  # the sender stalled past the read timeout, or hung up
            raise HecError(INVALID_FORMAT, 0) from None
        encoding = request.headers.get("Content-Encoding", "").lower()
        if encoding in ("gzip", "deflate"):
            data = _decompress(data, encoding)
        return data

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
        return self._ingest(request, kind)

    @contextmanager
    def _slot(self):
        """One of the MAX_CONCURRENT ingest slots, or 503 after BUSY_WAIT seconds."""
        if not self._slots.acquire(timeout=BUSY_WAIT):
            raise HecError(BUSY)
        try:
            yield
        finally:
            self._slots.release()

    def _ingest(self, request: Request, kind: str) -> Response:
        # The body is read before a slot is taken: a slow sender holds only its own connection.
        data = self._body(request)
        defaults = self._defaults(request)
        del request  # the body can be large; keep only the events
        with self._slot():
            if kind == "raw":
                try:
                    events = parse_raw(data.decode("utf-8"), defaults)
                except UnicodeDecodeError:
                    raise HecError(INVALID_FORMAT, 0) from None
            else:
                events = parse_events(data, defaults)
            del data
            if not all(name in self.indexes for name in {event["index"] for event in events}):
                number = next(n for n, e in enumerate(events) if e["index"] not in self.indexes)
                raise HecError(INCORRECT_INDEX, number)
            self.store.add(events)
        return self._reply(SUCCESS)
