"""The one Splunk HTTP Event Collector (HEC) client, and the event encoder.

:class:`HecClient` posts a body of concatenated JSON events over one keep-alive session and
says what went wrong in one exception, :class:`HecError`, whose ``kind`` tells the caller what to
do about it. :func:`batches` turns records into such bodies. ``helpers.splunk.send_events`` (from
notebooks) and the SQS-based input ``helpers.ingest`` both send through them.

>>> lines = [event_line({"eventName": "StopLogging"}, {"sourcetype": "aws:cloudtrail"})]
>>> lines[0]
b'{"sourcetype":"aws:cloudtrail","event":{"eventName":"StopLogging"}}'
>>> hec = HecClient("http://127.0.0.1:8088", "0000-token")        # doctest: +SKIP
>>> hec.send(b"\\n".join(lines))                                   # doctest: +SKIP
"""

from __future__ import annotations

import json
import re
import urllib.parse
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    import requests

    from helpers.config import Settings

__all__ = [
    "EVENT_PATH",
    "HEALTH_PATH",
    "HecClient",
    "HecError",
    "batches",
    "epoch",
    "event_line",
]

EVENT_PATH = "/services/collector/event"
HEALTH_PATH = "/services/collector/health"
#: Connect and read timeouts: a large batch takes a while to index.
TIMEOUT = (10, 300)

# HEC's JSON error codes (wire spec 1.9), by what the sender should do about them.
_DATA_CODES = {5, 6, 12, 13, 15}  # this payload is bad: isolate the events that caused it
_BUSY_CODES = {8, 9}  # the server cannot take it now: retry later
_CONFIG_CODES = {1, 2, 3, 4, 7, 10, 11, 14}  # fix the token, index or channel settings


class HecError(RuntimeError):
    """HEC did not accept a request. ``kind`` says what to do about it:

    ``"unavailable"`` (connection failed, 5xx, 429, busy: retry later), ``"config"`` (token,
    index or channel refused: a person must fix the settings), ``"data"`` (this payload is bad;
    ``event_number`` points at the event in the body), ``"too_large"`` (413: send smaller
    bodies). ``status`` and ``code`` are HEC's HTTP status and JSON code, ``text`` its message;
    ``record`` is the caller's number of the refused record, when the caller knows it.

    >>> err = HecError("config", "Invalid token", status=403, code=4)
    >>> str(err), err.kind
    ('HEC rejected the events: Invalid token (HTTP 403, code 4)', 'config')
    """

    def __init__(
        self,
        kind: str,
        text: str,
        status: int | None = None,
        code: int | None = None,
        event_number: int | None = None,
        record: int | None = None,
    ):
        self.kind, self.text, self.status, self.code = kind, text, status, code
        self.event_number, self.record = event_number, record
        where = f" at record {record}" if record is not None else ""
        answer = [f"HTTP {status}"] if status is not None else []
        answer += [f"code {code}"] if code is not None else []
        detail = f" ({', '.join(answer)})" if answer else ""
        super().__init__(f"HEC rejected the events{where}: {text}{detail}")

    def at(self, first: int) -> HecError:
        """The same error, naming the record as the caller numbers it (``first`` + event)."""
        record = first + self.event_number if self.event_number is not None else None
        return HecError(self.kind, self.text, self.status, self.code, self.event_number, record)


def _unverified_is_chosen(host: str) -> None:
    """No ``InsecureRequestWarning`` at every request to ``host``'s HEC: not checking its
    certificate was the setting's choice (``SPLUNK_HEC_VERIFY=false``), and a sender posts a
    batch every few milliseconds. Other hosts still warn."""
    from urllib3.exceptions import InsecureRequestWarning

    pattern = f"Unverified HTTPS request is being made to host '{re.escape(host)}'"
    warnings.filterwarnings("ignore", message=pattern, category=InsecureRequestWarning)


class HecClient:
    """Posts concatenated JSON events to a HEC endpoint over one keep-alive session.

    ``url`` is HEC's base (``https://splunk:8088``) or its full event endpoint; the token is
    never shown in ``repr``. ``verify`` is ``requests``' TLS verification (a CA bundle path, or
    False for a lab's self-signed certificate).

    >>> hec = HecClient("https://splunk.example.com:8088", "0000-token")
    >>> hec.event_url, hec.health_url
    ('https://splunk.example.com:8088/services/collector/event', \
'https://splunk.example.com:8088/services/collector/health')
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = TIMEOUT,
        verify: bool | str = True,
    ):
        import requests

        parts = urllib.parse.urlsplit(url)
        base_path = parts.path.rstrip("/")
        if "/services/collector" in base_path:
            event_path = base_path
            base_path = base_path[: base_path.index("/services/collector")]
        else:
            event_path = base_path + EVENT_PATH
        self.event_url = urllib.parse.urlunsplit(parts._replace(path=event_path))
        self.health_url = urllib.parse.urlunsplit(
            parts._replace(path=base_path + HEALTH_PATH, query="")
        )
        self._own_session = session is None
        self.session = session or requests.Session()
        self.timeout, self.verify = timeout, verify
        if verify is False:
            _unverified_is_chosen(parts.hostname or "")
        self._headers = {
            "Authorization": f"Splunk {token}",
            "Content-Type": "application/json",
            # Safest to always send (wire spec 1.9); one channel per client.
            "X-Splunk-Request-Channel": str(uuid.uuid4()),
        }

    @classmethod
    def from_settings(cls, settings: Settings, **options) -> HecClient:
        """The HEC at ``SPLUNK_HEC_URL`` with ``SPLUNK_HEC_TOKEN``, its certificate checked as
        ``SPLUNK_HEC_VERIFY`` says unless ``verify`` (not None) does (``options`` are the
        constructor's)."""
        if options.get("verify") is None:
            options["verify"] = settings.splunk_hec_verify
        return cls(
            settings.require("splunk_hec_url", "the HTTP Event Collector, e.g. https://host:8088"),
            settings.require("splunk_hec_token", "the HEC token"),
            **options,
        )

    def __repr__(self) -> str:  # never the token
        return f"HecClient({self.event_url!r})"

    def send(self, body: bytes) -> None:
        """POST one body; returns when HEC accepted it, else raises :class:`HecError`."""
        import requests

        try:
            resp = self.session.post(
                self.event_url,
                data=body,
                headers=self._headers,
                timeout=self.timeout,
                verify=self.verify,
            )
        except requests.exceptions.SSLError as exc:  # a setting to fix, not an outage
            raise HecError(
                "config",
                f"HEC's TLS certificate is not trusted ({exc}); set SPLUNK_HEC_VERIFY=false for "
                "a self-signed certificate, or to the path of a CA bundle that signed it",
            ) from exc
        except requests.RequestException as exc:
            raise HecError("unavailable", f"HEC unreachable: {exc}") from exc
        if resp.status_code == 200:
            try:
                code = resp.json().get("code")
            except (ValueError, AttributeError):
                return
            if code in (0, None):
                return
        raise _error(resp)

    def healthy(self) -> bool | None:
        """True if HEC says it is healthy, False if down or unhealthy, None if it cannot say."""
        import requests

        try:
            resp = self.session.get(self.health_url, timeout=(5, 10), verify=self.verify)
        except requests.RequestException:
            return False
        if resp.status_code in (404, 405):
            return None
        return resp.status_code == 200

    def close(self) -> None:
        """Close the session (only one this client opened itself)."""
        if self._own_session:
            self.session.close()

    def __enter__(self) -> HecClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _error(resp) -> HecError:
    """The :class:`HecError` for a response HEC did not accept."""
    try:
        reply = resp.json()
    except ValueError:
        reply = None
    if not isinstance(reply, dict):
        reply = {}
    code = reply.get("code")
    text = str(reply.get("text") or resp.text.strip()[:200] or resp.reason or "")
    status = resp.status_code
    if status == 413:
        kind = "too_large"
    elif code in _BUSY_CODES or status >= 500 or status == 429:
        kind = "unavailable"
    elif code in _DATA_CODES:
        kind = "data"
    elif code in _CONFIG_CODES or status in (401, 403, 404):
        kind = "config"
    else:
        kind = "data" if status == 400 else "unavailable"
    number = reply.get("invalid-event-number")
    return HecError(kind, text, status, code, number if isinstance(number, int) else None)


# -- encoding -------------------------------------------------------------------------------------
_slow_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


def event_line(record: dict | str, envelope: dict, stamp: float | None = None) -> bytes:
    """One HEC event as one line of compact JSON: the envelope, then ``event`` last.

    >>> event_line("hello", {"index": "main"}, 1793628062.0)
    b'{"time":1793628062.0,"index":"main","event":"hello"}'
    """
    event = {"time": stamp, **envelope} if stamp is not None else dict(envelope)
    event["event"] = record  # last: the order most collectors and senders use
    try:
        return orjson.dumps(event, default=str)
    except (TypeError, orjson.JSONEncodeError):  # integers beyond 64 bits
        return _slow_dumps(event).encode("utf-8")


def epoch(value: Any, field: str = "time", number: int = 0) -> float | None:
    """Epoch seconds of a record's time (ISO 8601, epoch seconds or a datetime); None if empty.

    >>> epoch("2026-11-02T14:01:02Z"), epoch(""), epoch(1.5)
    (1793628062.0, None, 1.5)
    """
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp()
    try:
        return float(value)
    except (TypeError, ValueError):
        pass
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ValueError(f"record {number}: {field}={value!r} is not a time") from None


def batches(
    records: Iterable[dict | str],
    envelope: dict,
    *,
    time_field: str | Callable[[Any], Any] | None = None,
    max_events: int = 1000,
    max_bytes: int = 1_000_000,
) -> Iterator[tuple[int, bytes]]:
    """``(number of the first record, body)`` pairs: bodies of one event per line, each within
    ``max_events`` and ``max_bytes`` (a single larger event goes alone).

    >>> [(first, body.count(b"\\n") + 1) for first, body in batches(range(5), {}, max_events=2)]
    [(0, 2), (2, 2), (4, 1)]
    """
    lines: list[bytes] = []
    size, first = 0, 0
    for number, record in enumerate(records):
        stamp = None
        if callable(time_field):  # raw text records carry their time where only the caller knows
            stamp = epoch(time_field(record), "time", number)
        elif time_field is not None and isinstance(record, dict):
            stamp = epoch(record.get(time_field), time_field, number)
        line = event_line(record, envelope, stamp)
        if lines and (len(lines) >= max_events or size + len(line) > max_bytes):
            yield first, b"\n".join(lines)
            lines, size, first = [], 0, number
        lines.append(line)
        size += len(line) + 1
    if lines:
        yield first, b"\n".join(lines)
