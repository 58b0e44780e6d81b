"""WSGI middleware in front of the recorder: no call is answered before it is on disk, and moto's
admin API needs the lab's admin token.

For each AWS API call: a call that may change state runs holding the state lock shared (a commit
then pickles between calls, never during one); afterwards the call waits for its CloudTrail record
to be routed and for a commit holding the services it may have changed (see
:mod:`labstack.aws.persistence`). Reads run without the lock and wait only for their record.
A write to a unit the store cannot pickle (``StateStore.broken``: its service, account and
region) is answered 503 naming it, as it is not on disk; a write to any other unit is answered
as usual, also when one of the services it may reach in turn is broken (see
``StateStore.unsaved``).
``ReceiveMessage`` changes state (receipts, visibility, moves to a dead-letter queue) but may wait
up to 20 s for a message, so it waits without the lock: each of its looks at the queue holds it
(see :func:`guard_receives`), and it is committed after it returns. SNS deliveries to HTTP(S)
subscribers are sent after the call, as AWS does, not inside it (see :func:`deliver_http_later`).

``/moto-api/...`` (reset, seed, the state dashboard and its JSON dump with every secret) answers
401 unless the request carries ``Authorization: Bearer <LAB_AWS_ADMIN_TOKEN>``.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import contextvars
import hmac
import json
import logging
import re
from html import escape
from urllib.parse import parse_qs

import moto.sns.models
from moto.core.base_backend import AccountSpecificBackend
from moto.core.utils import unix_time
from moto.sqs.models import SQSBackend

from labstack.aws.persistence import ALL, StateLock, StateStore, unit_name
from labstack.aws.recorder import INTERNAL_ENV, read_body

log = logging.getLogger("labstack.aws.durable")

ADMIN_PREFIX = "/moto-api"
_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")
_READ_PREFIXES = ("Describe", "List", "Get", "Head", "Lookup", "Search", "Simulate", "Check")
#: Named like reads, but moto keeps what they make.
_WRITING_READS = {"GetSessionToken", "GetFederationToken"}
#: Services whose reads may make state too: KMS makes an AWS managed key (``alias/aws/s3``...)
#: the first time any call names it, a ``DescribeKey`` included.
_WRITING_READ_SERVICES = {"kms"}
_UNLOCKED_WRITES = {"ReceiveMessage"}
#: Services whose calls change other regions than the one they are signed for (KMS's
#: ReplicateKey, Secrets Manager's replicas): a change is committed for every region.
_CROSS_REGION_SERVICES = {"kms", "secretsmanager"}
_WAIT_SECONDS = 30.0
#: The moto backends (service, region) the current call has looked up (see
#: :func:`track_lookups`); None outside a call.
_LOOKED_UP: contextvars.ContextVar[set[tuple[str, str]] | None] = contextvars.ContextVar(
    "looked_up", default=None
)
#: Services moto looks up for every call (the caller's account, from its access key).
_LOOKED_UP_BY_EVERY_CALL = {"iam", "sts"}


def scope(environ) -> tuple[str | None, str | None]:
    """(region, service) of a SigV4-signed request, from its credential scope."""
    for text in (environ.get("HTTP_AUTHORIZATION", ""), environ.get("QUERY_STRING", "")):
        match = _SCOPE.search(text.replace("%2F", "/").replace("X-Amz-Credential=", "Credential="))
        if match:
            return match.group(1), match.group(2)
    return None, None


def action(environ, body: bytes) -> str | None:
    """The API action of a query- or JSON-protocol call (None for REST calls such as S3's)."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if "Action" in query:
        return query["Action"][0]
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        form = parse_qs(body.decode("utf-8", "replace"))
        if "Action" in form:
            return form["Action"][0]
    return None


def classify(environ, body: bytes) -> tuple[str, str | None]:
    """``("read" | "write" | "unlocked", service)`` for one call; unknown calls are writes."""
    _region, service = scope(environ)
    method = environ.get("REQUEST_METHOD", "GET")
    name = action(environ, body)
    if name is None:
        return ("read" if method in ("GET", "HEAD") else "write"), service
    if name in _UNLOCKED_WRITES:
        return "unlocked", service
    if (
        name.startswith(_READ_PREFIXES)
        and name not in _WRITING_READS
        and service not in _WRITING_READ_SERVICES
    ):
        return "read", service
    return "write", service


class Durable:
    """Wraps the recorder (``app``); ``store`` commits, ``recorder`` routes the records."""

    def __init__(self, app, store: StateStore | None, recorder, admin_token: str):
        """``store`` None keeps the account in memory only (``LAB_AWS_STATE=memory``, for the
        benchmark's baseline): calls are then answered without waiting for anything."""
        self.app, self.store, self.recorder = app, store, recorder
        self.admin_token = admin_token
        if store is not None:
            guard_receives(lambda: self.store.lock)
            deliver_http_later()
            track_lookups()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith(ADMIN_PREFIX):
            return self._admin(environ, start_response)
        if self.store is None:
            return self.app(environ, start_response)
        if environ.get(INTERNAL_ENV) and not self.recorder.ready.is_set():
            return self.app(environ, start_response)  # building the account: committed whole
        if path.startswith("/_lab/"):
            response = self.app(environ, start_response)
            if environ.get("REQUEST_METHOD") == "POST" and path.startswith("/_lab/cloudtrail/"):
                # Emitted records are routed, and flushed files delivered, before the answer.
                self.recorder.barrier()
                self._commit(())
            return response
        body = read_body(environ)
        kind, service = classify(environ, body)
        region = scope(environ)[0]
        guard = self.store.lock.shared() if kind == "write" else contextlib.nullcontext()
        # The answer is held back until the call is on disk: a call whose commit failed is
        # answered as a server error, never as done.
        answer: list = []
        response: list[bytes] = []

        def held(status, headers, exc_info=None):
            answer[:] = [status, headers]
            return response.append  # WSGI's write(), held like the rest

        looked_up: set[tuple[str, str]] = set()
        tracking = _LOOKED_UP.set(looked_up)
        try:
            with guard:
                chunks = self.app(environ, held)
                try:
                    response.extend(chunks)
                finally:
                    if hasattr(chunks, "close"):
                        chunks.close()
        finally:
            _LOOKED_UP.reset(tracking)
        recorded = environ.get("lab.recorded")
        if recorded is not None and self.recorder.running and not recorded.wait(_WAIT_SECONDS):
            log.error("the CloudTrail record of %s %s was not routed in time", kind, path)
        if kind == "read":
            changed = []
        elif service:
            regional = region and service not in _CROSS_REGION_SERVICES
            changed = [f"{service}@{region}" if regional else service]
            # The signing name is not always moto's (CloudWatch signs as "monitoring", ELBv2
            # as "elasticloadbalancing", S3 Control as "s3"): the backends the call looked up
            # are committed too. Every call looks IAM up in every partition to find its
            # account: IAM counts by its signing name only (it is moto's).
            changed += [f"{n}@{r}" for n, r in looked_up if n not in _LOOKED_UP_BY_EVERY_CALL]
        else:
            changed = [ALL]  # unsigned: which service it was is moto's guess, so keep all
        not_on_disk = self._commit(changed)
        if not_on_disk and kind != "read":
            return _unavailable(environ, start_response, not_on_disk)
        start_response(*answer)
        return response

    def _commit(self, services) -> str | None:
        """Wait for a commit holding ``services``; None once they are on disk, else why not."""
        ticket = self.store.request(services)
        if not self.store.wait(ticket, _WAIT_SECONDS, through_failures=False):
            error = self.store.error or "commit not in time"
            log.error("the state is not committed: %s", error)
            return error
        broken = self.store.unsaved(services)
        if broken:  # logged by the store, once per unit
            return "; ".join(
                f"the {unit_name(key)} state cannot be saved: {why}" for key, why in broken.items()
            )
        return None

    def _admin(self, environ, start_response):
        given = environ.get("HTTP_AUTHORIZATION", "")
        expected = f"Bearer {self.admin_token}"
        if not self.admin_token or not hmac.compare_digest(given.encode(), expected.encode()):
            body = json.dumps(
                {"error": "moto's admin API needs Authorization: Bearer $LAB_AWS_ADMIN_TOKEN"}
            ).encode()
            start_response(
                "401 Unauthorized",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                 ("WWW-Authenticate", 'Bearer realm="lab-aws-admin"')],
            )  # fmt: skip
            return [body]
        if self.store is None:
            return self.app(environ, start_response)
        with self.store.lock.shared():
            response = list(self.app(environ, start_response))
        if environ.get("REQUEST_METHOD") == "POST":
            self._commit([ALL])  # a reset or a seed: the whole account is rewritten
        return response


def _unavailable(environ, start_response, error: str) -> list[bytes]:
    """503 for a call that ran but is not on disk (SDKs retry it, as after a cut connection),
    in the shape of the call's protocol."""
    message = f"the change is not on disk yet ({error})"
    if "json" in environ.get("CONTENT_TYPE", "") or environ.get("HTTP_X_AMZ_TARGET"):
        kind = "application/x-amz-json-1.1"
        body = json.dumps({"__type": "ServiceUnavailable", "message": message}).encode()
    else:
        kind = "text/xml"
        body = (
            "<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code>"
            f"<Message>{escape(message)}</Message></Error></ErrorResponse>"
        ).encode()
    start_response(
        "503 Service Unavailable",
        [("Content-Type", kind), ("Content-Length", str(len(body))),
         ("x-amzn-ErrorType", "ServiceUnavailable")],
    )  # fmt: skip
    return [body]


_RECEIVE = SQSBackend.receive_message


def guard_receives(lock_of) -> None:
    """Make moto's ``ReceiveMessage`` look at the queue holding the state lock (``lock_of()``)
    shared, and long-poll between looks without it: a commit then never pickles a queue while
    a receive changes it (a message out of its queue and not yet in the dead-letter queue)."""

    def receive_message(
        self: SQSBackend,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ):
        lock: StateLock = lock_of()
        polling_end = unix_time() + wait_seconds_timeout
        while True:
            with lock.shared():
                found = _RECEIVE(
                    self, queue_name, count, 0, visibility_timeout, message_attribute_names
                )
            if found or not wait_seconds_timeout or unix_time() > polling_end:
                return found
            self.get_queue(queue_name).wait_for_messages(1)

    SQSBackend.receive_message = receive_message


class _PostLater:
    """moto's SNS sends a notification to an HTTP(S) subscriber with ``requests.post`` inside
    Publish, which holds the state lock: a subscriber that calls the account back while a
    commit waits for the lock would wait for ever (and Publish with it: moto sets no timeout).
    This ``requests`` posts from a thread of its own, after the call, as AWS delivers."""

    _pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="sns-http")

    def __init__(self, real):
        self._real = real

    def __getattr__(self, name):
        return getattr(self._real, name)

    def post(self, url, **kwargs):
        kwargs.setdefault("timeout", 15)
        self._pool.submit(self._post, url, kwargs)

    def _post(self, url, kwargs) -> None:
        try:
            self._real.post(url, **kwargs)
        except Exception as exc:  # SNS retries HTTP deliveries; a lab subscriber may be gone
            log.warning("SNS could not deliver to %s: %s", url, exc)


def deliver_http_later() -> None:
    if not isinstance(moto.sns.models.requests, _PostLater):
        moto.sns.models.requests = _PostLater(moto.sns.models.requests)


_LOOKUP = AccountSpecificBackend.__getitem__


def track_lookups() -> None:
    """Note in ``_LOOKED_UP`` each backend a call looks up (moto finds every backend through
    ``backends[account][region]``), so the call's commit covers the backends it may have
    changed, whatever name its signature gave the service."""
    if getattr(AccountSpecificBackend.__getitem__, "tracked", False):
        return

    def lookup(self: AccountSpecificBackend, region_name: str):
        looked_up = _LOOKED_UP.get()
        if looked_up is not None:
            looked_up.add((self.service_name, "aws" if region_name == "global" else region_name))
        return _LOOKUP(self, region_name)

    lookup.tracked = True
    AccountSpecificBackend.__getitem__ = lookup
