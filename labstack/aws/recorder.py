"""The CloudTrail recorder: WSGI middleware in front of moto.

The request path only copies the exchange onto a queue, so the API call is never slowed by, nor
broken by, recording. A worker thread turns each exchange into a CloudTrail record
(``shapes.describe`` + ``identity``) and routes it to the trails that log it at that point in the
stream; a delivery thread writes each trail's batch to its bucket every ``interval`` seconds.

Lab endpoints (not AWS APIs) live under ``/_lab/``:

- ``GET  /_lab/health``              200 once the account is built
- ``POST /_lab/cloudtrail/events``   emit records that API calls cannot make (``ConsoleLogin``)
- ``POST /_lab/cloudtrail/flush``    deliver everything recorded so far, now
- ``GET  /_lab/cloudtrail/recent``   the last records (event history), ``?limit=N``
"""

from __future__ import annotations

import collections
import datetime as dt
import io
import itertools
import json
import logging
import queue
import threading
import uuid
from dataclasses import dataclass

from labstack.aws import delivery, shapes
from labstack.aws.account import INTERNAL_HEADER
from labstack.aws.identity import IdentityResolver
from labstack.aws.persistence import StateStore

log = logging.getLogger("labstack.aws.recorder")

SOURCE_IP_HEADER = "X-Lab-Source-Ip"
USER_AGENT_HEADER = "X-Lab-User-Agent"
EVENT_VERSION = "1.08"
INTERNAL_ENV = "HTTP_" + INTERNAL_HEADER.upper().replace("-", "_")
_SOURCE_IP_ENV = "HTTP_" + SOURCE_IP_HEADER.upper().replace("-", "_")
_USER_AGENT_ENV = "HTTP_" + USER_AGENT_HEADER.upper().replace("-", "_")
_KEPT_ENV = ("REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "CONTENT_TYPE", "SERVER_NAME",
             "SERVER_PORT", "REMOTE_ADDR", "wsgi.url_scheme", "SCRIPT_NAME", "RAW_URI",
             "REQUEST_URI")  # fmt: skip


@dataclass
class Exchange:
    """One request and its response, as captured on the request path."""

    environ: dict
    body: bytes
    status: int
    headers: dict[str, str]
    response: bytes
    time: dt.datetime
    #: Set once the record is routed (and so held by the state store, when there is one).
    done: threading.Event | None = None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def event_time(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


class Recorder:
    """Records every call to ``app`` and delivers CloudTrail files."""

    def __init__(
        self,
        app,
        account_id: str,
        root_keys: dict[str, str],
        interval: float = 1.0,
        store: StateStore | None = None,
    ):
        self.app = app
        self.store = store
        self.account_id = account_id
        self.interval = interval
        self.identity = IdentityResolver(root_keys)
        self.ready = threading.Event()
        self.recent: collections.deque = collections.deque(maxlen=5000)
        self.stats = collections.Counter()
        self._queue: queue.Queue = queue.Queue()
        # (trail, region) -> [(seq, record)]; seq numbers the record's row in the state store.
        self._pending: dict[tuple[delivery.TrailView, str], list[tuple[int, dict]]] = (
            collections.defaultdict(list)
        )
        self._seq = itertools.count(1)
        self._pending_lock = threading.Lock()
        self._deliver_lock = threading.Lock()
        self._trails: dict[str, delivery.TrailView] = {}
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._work, name="cloudtrail-recorder", daemon=True),
            threading.Thread(target=self._deliver_loop, name="cloudtrail-delivery", daemon=True),
        ]

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        self._trails = delivery.snapshot()
        for thread in self._threads:
            thread.start()

    @property
    def running(self) -> bool:
        """Whether records are being made now (a call before ``start`` is recorded later)."""
        return self._threads[0].is_alive()

    def stop(self) -> None:
        self.flush()
        self._stop.set()

    def restore(self, rows: list[tuple[int, str, str, dict]], last_seq: int) -> int:
        """Take back the undelivered records a state store kept (after ``start``); returns how
        many. A record of a trail that no longer exists is dropped, as CloudTrail would."""
        self._seq = itertools.count(last_seq + 1)
        kept, gone = 0, []
        with self._pending_lock:
            for seq, arn, region, record in rows:
                trail = self._trails.get(arn)
                if trail is None:
                    gone.append(seq)
                    continue
                self._pending[(trail, region)].append((seq, record))
                kept += 1
        if gone and self.store is not None:
            log.warning("dropping %d undelivered records of deleted trails", len(gone))
            self.store.request(dropped=gone)
        return kept

    # -- WSGI ----------------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_lab/"):
            return self._lab(environ, start_response)
        if environ.get(INTERNAL_ENV) and not self.ready.is_set():
            return self.app(environ, start_response)  # building the account: not AWS activity
        try:
            body = read_body(environ)
        except Exception:
            log.exception("could not read a request body; passing the call through unrecorded")
            return self.app(environ, start_response)
        when = _now()
        captured: dict = {}
        done = environ["lab.recorded"] = threading.Event()

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return start_response(status, headers, exc_info)

        chunks = self.app(environ, capture)
        try:
            response = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        try:
            kept = {k: environ[k] for k in _KEPT_ENV if k in environ}
            kept.update({k: v for k, v in environ.items() if k.startswith("HTTP_")})
            self._queue.put(
                Exchange(
                    environ=kept,
                    body=body,
                    status=int(captured["status"].split(" ", 1)[0]),
                    headers={k.lower(): v for k, v in captured["headers"]},
                    response=response,
                    time=when,
                    done=done,
                )
            )
        except Exception:
            done.set()
            log.exception("could not queue a call for recording")
        return [response]

    # -- recording -----------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if isinstance(item, Exchange):
                    record = self.record(item)
                    if record is not None:
                        self._route(record)
                elif isinstance(item, dict):
                    self._route(item)
                elif isinstance(item, threading.Event):
                    item.set()
            except Exception:
                self.stats["failed"] += 1
                log.exception("recording failed for one call; the call itself succeeded")
            finally:
                if isinstance(item, Exchange) and item.done is not None:
                    item.done.set()
                self._queue.task_done()

    def record(self, exchange: Exchange) -> dict | None:
        """Build the CloudTrail record of one exchange (None: not an AWS API call)."""
        env = exchange.environ
        call = shapes.describe(
            env, exchange.body, exchange.status, exchange.headers, exchange.response
        )
        if call is None:
            return None
        record = {
            "eventVersion": EVENT_VERSION,
            "userIdentity": self.identity.resolve(call.access_key_id),
            "eventTime": event_time(exchange.time),
            "eventSource": call.event_source,
            "eventName": call.event_name,
            "awsRegion": call.region,
            "sourceIPAddress": env.get(_SOURCE_IP_ENV) or env.get("REMOTE_ADDR", "127.0.0.1"),
            "userAgent": env.get(_USER_AGENT_ENV) or env.get("HTTP_USER_AGENT", ""),
        }
        if call.error_code:
            record["errorCode"] = call.error_code
            record["errorMessage"] = call.error_message or ""
        record.update(
            {
                "requestParameters": call.request_parameters,
                "responseElements": call.response_elements,
            }
        )
        if call.additional:
            record["additionalEventData"] = call.additional
        record.update(
            {
                "requestID": call.request_id or str(uuid.uuid4()),
                "eventID": str(uuid.uuid4()),
                "readOnly": call.read_only,
            }
        )
        if call.resources:
            record["resources"] = [{**r, "accountId": self.account_id} for r in call.resources]
        record.update(
            {
                "eventType": "AwsApiCall",
                "managementEvent": call.management,
                "recipientAccountId": record["userIdentity"].get("accountId", self.account_id),
                "eventCategory": "Management" if call.management else "Data",
            }
        )
        if call.service in ("iam", "sts") and not call.read_only:
            self.identity.invalidate()
        return record

    def emit(self, partials: list[dict]) -> list[dict]:
        """Complete records that no API call makes (console sign-ins) and queue them.

        All are checked before any is queued: a bad one rejects the lot.
        """
        records = [self.complete(p) for p in partials]
        for record in records:
            self._queue.put(record)
        return records

    def complete(self, partial: dict) -> dict:
        """A full record from a partial one; ``ValueError`` names what is missing."""
        if not isinstance(partial, dict):
            raise ValueError("each record must be a JSON object")
        record = dict(partial)
        for required in ("eventSource", "eventName"):
            if not record.get(required):
                raise ValueError(f"a record needs {required}")
        identity = dict(record.get("userIdentity") or {})
        account_id = identity.get("accountId", self.account_id)
        if identity.get("type") == "Root":
            identity = {**self.identity.root(account_id), **identity}
        elif identity.get("userName") and "arn" not in identity:
            try:
                known = self.identity.by_user_name(identity["userName"], account_id)
            except Exception as exc:
                raise ValueError(f"no IAM user {identity['userName']!r} in {account_id}") from exc
            identity = {**known, **identity}
        record["userIdentity"] = identity
        record.setdefault("eventVersion", EVENT_VERSION)
        record.setdefault("eventTime", event_time(_now()))
        record.setdefault("awsRegion", "us-east-1")
        record.setdefault("sourceIPAddress", "127.0.0.1")
        record.setdefault("userAgent", "")
        record.setdefault("requestParameters", None)
        record.setdefault("eventID", str(uuid.uuid4()))
        record.setdefault("readOnly", False)
        record.setdefault("eventType", "AwsConsoleSignIn")
        record.setdefault("managementEvent", True)
        record.setdefault("recipientAccountId", account_id)
        record.setdefault("eventCategory", "Management")
        return record

    def _route(self, record: dict) -> None:
        """Give the record to the trails logging it now (see delivery's rules)."""
        self.stats["recorded"] += 1
        self.recent.append(record)
        source, name = record.get("eventSource"), record.get("eventName")
        trail_change = source == "cloudtrail.amazonaws.com" and not record.get("readOnly")
        # A trail that starts logging logs its own start; every other change (stopping, deleting,
        # narrowing selectors) takes effect after the record that made it.
        if trail_change and name in ("StartLogging", "CreateTrail"):
            self._trails = delivery.snapshot()
        targets = [t for t in self._trails.values() if t.logging and t.receives(record)]
        if name in ("StopLogging", "DeleteTrail") and not record.get("errorCode"):
            named = (record.get("requestParameters") or {}).get("name", "")
            targets += [
                t
                for t in self._trails.values()
                if named in (t.name, t.arn) and t not in targets and t.receives(record)
            ]
        if trail_change:
            self._trails = delivery.snapshot()
        if not targets:
            return
        region = record.get("awsRegion", "us-east-1")
        rows = [(next(self._seq), trail, region, record) for trail in targets]
        with self._pending_lock:
            for seq, trail, region, record in rows:
                self._pending[(trail, region)].append((seq, record))
        if self.store is not None:
            self.store.request(added=[(seq, t.arn, r, rec) for seq, t, r, rec in rows])

    # -- delivery ------------------------------------------------------------------------------
    def _deliver_loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.deliver()
            except Exception:
                log.exception("CloudTrail delivery failed; will retry")

    def deliver(self) -> list[str]:
        """Write every pending batch to its trail's bucket; returns the keys written."""
        with self._deliver_lock:
            with self._pending_lock:
                batches, self._pending = self._pending, collections.defaultdict(list)
            keys, failed = [], {}
            when = _now()
            for (trail, region), records in batches.items():
                try:
                    keys.append(self._write(trail, region, records, when))
                    self.stats["delivered"] += len(records)
                except Exception as exc:
                    # CloudTrail keeps trying while the bucket is unusable; so do we, a while.
                    self.stats["delivery_errors"] += 1
                    log.error(
                        "could not deliver %d records to %s: %s", len(records), trail.arn, exc
                    )
                    if len(records) < 100_000:
                        failed[(trail, region)] = records
            if failed:
                with self._pending_lock:
                    for key, records in failed.items():
                        self._pending[key][:0] = records
            return keys

    def _write(self, trail, region: str, records: list[tuple[int, dict]], when) -> str:
        if self.store is None:
            return delivery.write_file(trail, region, [r for _, r in records], when)
        with self.store.lock.shared():
            key = delivery.write_file(trail, region, [r for _, r in records], when)
        # The rows go in the commit that holds the file (and the notifications it sent).
        self.store.request(services=["s3"], dropped=[seq for seq, _ in records])
        return key

    def barrier(self, timeout: float = 10.0) -> None:
        """Return once everything queued so far is recorded and routed."""
        done = threading.Event()
        self._queue.put(done)
        done.wait(timeout)

    def flush(self, timeout: float = 10.0) -> list[str]:
        """Record everything queued so far, then deliver it now."""
        self.barrier(timeout)
        return self.deliver()

    # -- lab endpoints -------------------------------------------------------------------------
    def _lab(self, environ, start_response):
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        try:
            if path == "/_lab/health":
                if not self.ready.is_set():
                    return _json(start_response, 503, {"status": "starting"})
                return _json(start_response, 200, {"status": "ok", "account": self.account_id})
            if path == "/_lab/cloudtrail/events" and method == "POST":
                payload = json.loads(read_body(environ) or b"null")
                records = payload.get("Records") if isinstance(payload, dict) else None
                if not isinstance(records, list) or not records:
                    return _json(
                        start_response, 400, {"error": 'expected {"Records": [record, ...]}'}
                    )
                emitted = self.emit(records)
                return _json(start_response, 202, {"Records": emitted})
            if path == "/_lab/cloudtrail/flush" and method == "POST":
                return _json(start_response, 200, {"delivered": self.flush()})
            if path == "/_lab/cloudtrail/recent":
                limit = _int_param(environ, "limit", 100)
                records = list(self.recent)[-limit:]
                return _json(start_response, 200, {"Records": records, "stats": dict(self.stats)})
            return _json(start_response, 404, {"error": f"no lab endpoint {method} {path}"})
        except (ValueError, KeyError) as exc:
            return _json(start_response, 400, {"error": str(exc)})


def read_body(environ) -> bytes:
    length = environ.get("CONTENT_LENGTH")
    stream = environ["wsgi.input"]
    if length:
        body = stream.read(int(length))
    elif environ.get("wsgi.input_terminated") or "chunked" in environ.get(
        "HTTP_TRANSFER_ENCODING", ""
    ):
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def _int_param(environ, name: str, default: int) -> int:
    from urllib.parse import parse_qs

    values = parse_qs(environ.get("QUERY_STRING", "")).get(name)
    return int(values[0]) if values else default


def _json(start_response, status: int, payload) -> list[bytes]:
    body = json.dumps(payload).encode()
    reason = {200: "OK", 202: "Accepted", 400: "Bad Request", 404: "Not Found"}.get(status, "")
    start_response(
        f"{status} {reason or 'Service Unavailable'}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]
