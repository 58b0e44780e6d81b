"""The ingester: the SQS long-poll loop that moves announced CloudTrail files into Splunk HEC.

See :mod:`helpers.ingest` for what it guarantees (at-least-once delivery, poison messages left
for the dead-letter queue, a held batch retried while HEC is down).

>>> ingester = Ingester("lab-cloudtrail-ingest", HecClient(url, token))  # doctest: +SKIP
>>> ingester.run(once=True)                                             # doctest: +SKIP
True
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from helpers.config import Settings, get_settings
from helpers.hec import HecClient, HecError
from helpers.ingest.events import SOURCETYPE, hec_lines
from helpers.ingest.notifications import NotificationError, S3Object, parse_notification, wanted

__all__ = ["MAX_BATCH_BYTES", "MAX_BATCH_EVENTS", "Ingester", "Stats"]

log = logging.getLogger("helpers.ingest")

#: SQS's limit per ReceiveMessage call.
MAX_MESSAGES = 10
#: Long-poll wait (SQS's maximum); ``--once`` uses ONCE_WAIT_SECONDS so it notices an empty queue.
WAIT_SECONDS = 20
ONCE_WAIT_SECONDS = 1
#: One HEC POST carries at most this many bytes / events (Splunk Enterprise accepts up to 800 MB
#: per request; a 413 from a stricter HEC halves the limit for the rest of the run).
MAX_BATCH_BYTES = 16 * 1024 * 1024
MAX_BATCH_EVENTS = 25_000
MIN_BATCH_BYTES = 64 * 1024
#: A half-full batch waits at most this long for more messages before it is sent.
MAX_LATENCY = 0.5
#: Threads fetching and parsing objects from S3.
FETCH_WORKERS = 4
#: Batches posted or waiting to be posted while the next one is built.
MAX_IN_FLIGHT = 2
#: Seconds a message stays hidden after it was released because HEC failed.
RETRY_VISIBILITY = 5
#: Backoff between HEC health probes while HEC is down.
BACKOFF_START, BACKOFF_MAX = 1.0, 30.0
#: Delivered objects remembered, so a duplicated notification is not indexed twice.
REMEMBER_OBJECTS = 100_000
#: Visibility timeout assumed until the queue's own is read.
DEFAULT_VISIBILITY = 30
#: Seconds between progress lines in the log.
REPORT_SECONDS = 60
#: Seconds a held message stays in flight beyond the next retry.
HOLD_MARGIN = 30
S3_CONFIG = Config(response_checksum_validation="when_required")


class Stats:
    """Counters, safe to read from another thread (the health endpoint)."""

    FIELDS = (
        "received",
        "messages",
        "test_events",
        "files",
        "events",
        "batches",
        "failures",
        "hec_errors",
        "released",
        "duplicates",
    )

    def __init__(self):
        self._lock = threading.Lock()
        self._values = dict.fromkeys(self.FIELDS, 0)
        self.last_error: str | None = None
        self.state = "starting"

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._values[name] += amount

    def error(self, text: str) -> None:
        with self._lock:
            self.last_error = text

    def __getitem__(self, name: str) -> int:
        return self._values[name]

    def snapshot(self) -> dict:
        """``received`` messages, ``messages`` deleted after delivery, ``files`` and ``events``
        delivered, ``batches`` posted, ``failures`` (poison messages or files), ``hec_errors``,
        ``released`` (messages handed back to the queue), ``duplicates`` (notifications of
        objects already delivered, acknowledged without sending), ``last_error``, ``state``."""
        with self._lock:
            return {**self._values, "last_error": self.last_error, "state": self.state}


class _Message:
    __slots__ = (
        "events",
        "failed",
        "files",
        "id",
        "objects",
        "outstanding",
        "receipt",
        "receives",
        "sealed",
        "visible_at",
    )

    def __init__(self, raw: dict, visibility: int):
        self.visible_at = time.monotonic() + visibility  # when SQS would hand it out again
        self.id = raw["MessageId"]
        self.receipt = raw["ReceiptHandle"]
        self.receives = int(raw.get("Attributes", {}).get("ApproximateReceiveCount", 1))
        self.outstanding = 0  # batches holding its events that HEC has not accepted yet
        self.sealed = False  # all its events are in batches
        self.failed = False
        self.files = 0
        self.events = 0
        self.objects: tuple[S3Object, ...] = ()


@dataclass
class _Batch:
    parts: list[tuple[_Message, list[bytes]]] = field(default_factory=list)
    size: int = 0
    count: int = 0
    started: float = field(default_factory=time.monotonic)


class Ingester:
    """Moves CloudTrail records from the files an SQS queue announces to Splunk HEC.

    ``queue`` is a queue name or URL. Clients come from ``session`` (``helpers.aws.session()``
    when omitted) unless ``sqs``/``s3`` are given.

    >>> ingester = Ingester("lab-cloudtrail-ingest", HecClient(url, token))  # doctest: +SKIP
    >>> ingester.run(once=True)                                         # doctest: +SKIP
    """

    def __init__(
        self,
        queue: str,
        hec: HecClient,
        *,
        session: Any = None,
        sqs: Any = None,
        s3: Any = None,
        index: str = "main",
        host: str | None = None,
        sourcetype: str = SOURCETYPE,
        max_batch_bytes: int = MAX_BATCH_BYTES,
        max_batch_events: int = MAX_BATCH_EVENTS,
        max_latency: float = MAX_LATENCY,
        workers: int = FETCH_WORKERS,
        wait_seconds: int = WAIT_SECONDS,
        retry_visibility: int = RETRY_VISIBILITY,
        backoff: tuple[float, float] = (BACKOFF_START, BACKOFF_MAX),
    ):
        if sqs is None or s3 is None:
            from helpers.aws import DEFAULT_CONFIG
            from helpers.aws import session as make_session

            session = session or make_session()
            sqs = sqs or session.client("sqs")
            # gzip's own CRC checks each file; S3's response checksum would be a second pass.
            s3 = s3 or session.client("s3", config=DEFAULT_CONFIG.merge(S3_CONFIG))
        self.sqs, self.s3, self.hec = sqs, s3, hec
        self.queue = queue
        self.index, self.sourcetype = index, sourcetype
        self.host = host or socket.gethostname()
        self.max_batch_bytes, self.max_batch_events = max_batch_bytes, max_batch_events
        self.max_latency, self.wait_seconds = max_latency, wait_seconds
        self.retry_visibility = retry_visibility
        self.stats = Stats()
        self.max_receives: int | None = None
        self.dead_letter_queue: str | None = None
        self._queue_url: str | None = None
        self._delivered: dict[S3Object, None] = {}  # recently delivered objects, oldest first
        self._live: set[_Message] = set()  # received, neither deleted nor given up: kept hidden
        self.visibility = DEFAULT_VISIBILITY  # the queue's VisibilityTimeout, read with its URL
        self._fetch = ThreadPoolExecutor(max(1, workers), thread_name_prefix="ingest-fetch")
        self._send = ThreadPoolExecutor(1, thread_name_prefix="ingest-send")
        self._in_flight: deque[Future] = deque()
        self._batch = _Batch()
        self._lock = threading.Lock()
        self._hec_down = threading.Event()
        self._held: _Batch | None = None  # the batch HEC failed on, retried as the probe
        self.backoff = backoff  # first and longest wait between retries, seconds
        self._backoff = self._sqs_backoff = backoff[0]
        self.in_long_poll = False

    @classmethod
    def from_settings(
        cls, settings: Settings | None = None, *, queue: str | None = None, **options
    ) -> Ingester:
        """An ingester from settings: ``CLOUDTRAIL_QUEUE``, ``SPLUNK_HEC_URL``,
        ``SPLUNK_HEC_TOKEN``, ``SPLUNK_INDEX`` and the AWS settings."""
        from helpers.aws import session

        settings = settings or get_settings()
        queue = queue or settings.require("cloudtrail_queue", "the queue S3 notifications reach")
        hec = HecClient.from_settings(settings)
        options.setdefault("index", settings.splunk_index)
        return cls(queue, hec, session=session(settings), **options)

    # -- queue -------------------------------------------------------------------------------
    @property
    def queue_url(self) -> str:
        """The queue's URL (resolved from its name once); raises if SQS cannot be reached."""
        if self._queue_url is None:
            if self.queue.startswith(("https://", "http://")):
                url = self.queue
            else:
                url = self.sqs.get_queue_url(QueueName=self.queue)["QueueUrl"]
            attrs = self.sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["RedrivePolicy", "VisibilityTimeout"]
            ).get("Attributes", {})
            self.visibility = int(attrs.get("VisibilityTimeout") or self.visibility)
            policy = attrs.get("RedrivePolicy")
            if policy:
                redrive = json.loads(policy)
                self.max_receives = int(redrive.get("maxReceiveCount", 0)) or None
                self.dead_letter_queue = str(redrive.get("deadLetterTargetArn", "")) or None
            self._queue_url = url
        return self._queue_url

    def _receive(self, wait: int) -> list[dict]:
        self.in_long_poll = wait > 0
        try:
            reply = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=MAX_MESSAGES,
                WaitTimeSeconds=wait,
                MessageSystemAttributeNames=["ApproximateReceiveCount"],
            )
        finally:
            self.in_long_poll = False
        return reply.get("Messages", [])

    def _delete(self, messages: list[_Message]) -> None:
        with self._lock:
            self._live.difference_update(messages)
        for start in range(0, len(messages), MAX_MESSAGES):
            chunk = messages[start : start + MAX_MESSAGES]
            entries = [{"Id": str(i), "ReceiptHandle": m.receipt} for i, m in enumerate(chunk)]
            try:
                reply = self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
            except Exception as exc:  # the events are in Splunk; a redelivery duplicates them
                log.error("could not delete %d delivered messages: %s", len(chunk), exc)
                self.stats.error(f"delete failed: {exc}")
                continue
            failed = {f["Id"] for f in reply.get("Failed", [])}
            for i, message in enumerate(chunk):
                if str(i) in failed:
                    log.error("could not delete delivered message %s", message.id)
                    continue
                self.stats.add("messages")
                self.stats.add("files", message.files)
                with self._lock:
                    for obj in message.objects:
                        self._delivered[obj] = None
                        if len(self._delivered) > REMEMBER_OBJECTS:
                            del self._delivered[next(iter(self._delivered))]

    def _release(self, messages: list[_Message]) -> None:
        """Hand messages back to the queue, visible again after ``retry_visibility`` seconds."""
        self._change_visibility(messages, self.retry_visibility)
        self.stats.add("released", len(messages))

    def _change_visibility(self, messages: list[_Message], seconds: int) -> None:
        for start in range(0, len(messages), MAX_MESSAGES):
            chunk = messages[start : start + MAX_MESSAGES]
            entries = [
                {"Id": str(i), "ReceiptHandle": m.receipt, "VisibilityTimeout": seconds}
                for i, m in enumerate(chunk)
            ]
            try:
                self.sqs.change_message_visibility_batch(QueueUrl=self.queue_url, Entries=entries)
            except Exception as exc:  # they come back after the queue's visibility timeout
                log.warning("could not change the visibility of %d messages: %s", len(chunk), exc)

    # -- one receive -------------------------------------------------------------------------
    def poll(self, wait: int = 0) -> int:
        """Receive up to 10 messages and queue their events for HEC; returns how many came."""
        raws = self._receive(wait)
        self._collect(self._start(raws))
        return len(raws)

    def _start(self, raws: list[dict]) -> list[tuple[_Message, list[tuple[S3Object, Future]]]]:
        """Read the notifications and start fetching their objects; acknowledge empty ones."""
        if not raws:
            return []
        self.stats.add("received", len(raws))
        work: list[tuple[_Message, list[tuple[S3Object, Future]]]] = []
        done: list[_Message] = []
        for raw in raws:
            message = _Message(raw, self.visibility)
            with self._lock:
                self._live.add(message)
            try:
                notification = parse_notification(raw.get("Body", ""))
            except NotificationError as exc:
                excerpt = raw.get("Body", "")[:200]
                self._poison(message, f"message {message.id}: {exc}; body starts {excerpt!r}")
                continue
            if notification.test_event:
                self.stats.add("test_events")
                log.info("acknowledged s3:TestEvent (message %s)", message.id)
            objects = [o for o in notification.objects if wanted(o.key)]
            if objects and all(o in self._delivered for o in objects):
                # S3 and SQS deliver at least once: the same notification again is acknowledged.
                self.stats.add("duplicates")
                log.info("already delivered %s; acknowledged again", objects[0].uri)
                objects = []
            if not objects:
                message.sealed = True
                done.append(message)
                continue
            message.objects = tuple(objects)
            work.append((message, [(o, self._fetch.submit(self._read, o)) for o in objects]))
        if done:
            self._delete(done)
        return work

    def _collect(self, work: list[tuple[_Message, list[tuple[S3Object, Future]]]]) -> None:
        """Wait for the fetched files and put their events into batches, message by message."""
        for message, futures in work:
            results = []
            for obj, future in futures:
                try:
                    results.append(future.result())
                except Exception as exc:
                    self._poison(message, f"{obj.uri}: {exc}")
                    break
            if message.failed:
                continue
            message.files = len(results)
            for lines in results:
                self._add(message, lines)
            self._seal(message)

    def _drop(self, work: list[tuple[_Message, list[tuple[S3Object, Future]]]]) -> None:
        """Release messages whose files were being fetched when HEC failed."""
        for _, futures in work:
            for _, future in futures:
                future.cancel()
        self._fail([message for message, _ in work])

    def _read(self, obj: S3Object) -> list[bytes]:
        body = self.s3.get_object(Bucket=obj.bucket, Key=obj.key)["Body"].read()
        return hec_lines(body, obj, index=self.index, host=self.host, sourcetype=self.sourcetype)

    def _poison(self, message: _Message, reason: str) -> None:
        """Leave a message in the queue; after max receives SQS moves it to the DLQ."""
        message.failed = True
        with self._lock:
            self._live.discard(message)
        self.stats.add("failures")
        self.stats.error(reason)
        if self.max_receives:
            fate = (
                "moves to the dead-letter queue now"
                if message.receives >= self.max_receives
                else f"moves to the dead-letter queue after {self.max_receives} receives"
            )
        else:
            fate = "the queue has no redrive policy: it will be retried until it expires"
        log.error(
            "cannot ingest %s (receive %d); left in the queue, %s", reason, message.receives, fate
        )

    # -- batches -----------------------------------------------------------------------------
    def _add(self, message: _Message, lines: list[bytes]) -> None:
        batch = self._batch
        message.events += len(lines)
        size = sum(map(len, lines)) + len(lines)
        if (
            batch.size + size <= self.max_batch_bytes
            and batch.count + len(lines) <= self.max_batch_events
        ):  # the common case: the whole file fits
            batch.size += size
            batch.count += len(lines)
            self._take(batch, message, lines)
            return
        start = 0
        for number, line in enumerate(lines):
            size = len(line) + 1
            if batch.count and (
                batch.size + size > self.max_batch_bytes or batch.count >= self.max_batch_events
            ):
                self._take(batch, message, lines[start:number])
                start = number
                self.flush()
                batch = self._batch
            batch.size += size
            batch.count += 1
        self._take(batch, message, lines[start:])

    def _take(self, batch: _Batch, message: _Message, lines: list[bytes]) -> None:
        if not lines:
            return
        if batch.parts and batch.parts[-1][0] is message:
            batch.parts[-1][1].extend(lines)
            return
        if not batch.parts:
            batch.started = time.monotonic()
        with self._lock:
            message.outstanding += 1
        batch.parts.append((message, list(lines)))

    def _seal(self, message: _Message) -> None:
        with self._lock:
            message.sealed = True
            ready = message.outstanding == 0 and not message.failed
        if ready:
            self._delete([message])

    def flush(self) -> None:
        """Hand the batch being built to the sender (waiting while too many are in flight)."""
        batch, self._batch = self._batch, _Batch()
        if not batch.parts:
            return
        while len(self._in_flight) >= MAX_IN_FLIGHT:
            self._in_flight.popleft().result()
        self._in_flight.append(self._send.submit(self._deliver, batch))

    def drain(self) -> None:
        """Send what is batched and wait until every batch is answered."""
        self.flush()
        while self._in_flight:
            self._in_flight.popleft().result()

    def _deliver(self, batch: _Batch) -> None:
        """Sender thread: post a batch, then delete the messages it completes."""
        messages = [m for m, _ in batch.parts]
        if self._hec_down.is_set():  # an earlier batch failed: do not pile on
            self._fail(messages)
            return
        try:
            poisoned = self._post(batch.parts)
        except HecError as exc:
            self._hec_failed(exc, len(messages))
            # This batch stays in hand (its messages in flight, not received again) and is
            # retried as the probe; later ones go back to the queue.
            self._held = batch
            self._hec_down.set()
            return
        except Exception as exc:  # never lose track of the messages
            log.exception("sending a batch failed")
            self._fail(messages)
            self.stats.error(f"send failed: {exc}")
            return
        self._accepted(batch, poisoned)

    def _hec_failed(self, exc: HecError, messages: int) -> None:
        self.stats.add("hec_errors")
        self.stats.error(str(exc))
        if exc.kind == "config":
            log.error("HEC refused the batch: %s; check SPLUNK_HEC_TOKEN and SPLUNK_INDEX", exc)
        else:
            log.warning("HEC is unavailable: %s; %d messages stay queued", exc, messages)

    def _accepted(self, batch: _Batch, poisoned: set[_Message]) -> None:
        self._backoff = self.backoff[0]
        self.stats.add("batches")
        self.stats.add("events", sum(len(lines) for m, lines in batch.parts if m not in poisoned))
        ready = []
        with self._lock:
            for message, _ in batch.parts:
                message.outstanding -= 1
                if message.outstanding == 0 and message.sealed and not message.failed:
                    ready.append(message)
        if ready:
            self._delete(ready)

    def _post(self, parts: list[tuple[_Message, list[bytes]]]) -> set[_Message]:
        """POST parts as one request (or smaller ones on 413); returns messages HEC refused as
        bad data, marked failed. Raises ``HecError`` when HEC is down or misconfigured."""
        try:
            self.hec.send(b"\n".join(line for _, lines in parts for line in lines))
            return set()
        except HecError as exc:
            total = sum(len(lines) for _, lines in parts)
            if exc.kind == "too_large" and total > 1:
                self.max_batch_bytes = max(MIN_BATCH_BYTES, self.max_batch_bytes // 2)
                log.warning(
                    "HEC: batch too large; batches are now at most %d bytes", self.max_batch_bytes
                )
                first, second = _halve(parts)
                return self._post(first) | self._post(second)
            if exc.kind not in ("data", "too_large"):
                raise
            if len(parts) > 1:  # find the message whose events HEC refuses
                poisoned: set[_Message] = set()
                for part in parts:
                    poisoned |= self._post([part])
                return poisoned
            message = parts[0][0]
            if not message.failed:
                self._poison(message, f"message {message.id}: HEC refused its events: {exc}")
            return {message}

    def _fail(self, messages: list[_Message]) -> None:
        with self._lock:
            self._live.difference_update(messages)
            fresh = [m for m in messages if not m.failed]
            for message in fresh:
                message.failed = True
        if fresh:
            self._release(fresh)

    # -- the loop ----------------------------------------------------------------------------
    def run(self, stop: threading.Event | None = None, *, once: bool = False) -> bool:
        """Poll until ``stop`` is set (or, with ``once``, until the queue is empty).

        Returns False if HEC failed (with ``once``) or any message could not be ingested.
        """
        stop = stop or threading.Event()
        failures = self.stats["failures"]
        self._hec_down.clear()  # each run tries HEC afresh
        self.stats.state = "running"
        pending: list = []  # the previous receive's files, fetched while the next one runs
        reported = (time.monotonic(), self.stats["events"])
        try:
            self.queue_url  # noqa: B018 - its visibility timeout paces the heartbeat
        except (BotoCoreError, ClientError):
            if once:
                raise  # otherwise the loop retries it
        heartbeat_done = threading.Event()
        heartbeat = threading.Thread(
            target=self._keep_hidden, args=(heartbeat_done,), name="ingest-heartbeat", daemon=True
        )
        heartbeat.start()
        try:
            while not stop.is_set():
                if self._hec_down.is_set():
                    self._drop(pending)
                    pending = []
                    self._abandon_batch()
                    if once:
                        self._release_held()
                        return False
                    self._recover(stop)
                    continue
                building = bool(self._batch.parts or pending)
                wait = ONCE_WAIT_SECONDS if once else (0 if building else self.wait_seconds)
                try:
                    raws = self._receive(wait)
                except (BotoCoreError, ClientError) as exc:  # SQS unreachable or throttling
                    if once:
                        raise
                    self._sqs_failed(exc, stop)
                    raws = []
                else:
                    self._sqs_backoff = self.backoff[0]
                work = self._start(raws)
                self._collect(pending)
                pending = work
                if (
                    len(raws) < MAX_MESSAGES
                    or time.monotonic() - self._batch.started >= self.max_latency
                ):  # the queue is drained, or events waited long enough
                    self._collect(pending)
                    pending = []
                    self.flush()
                if once and not raws:
                    break
                reported = self._report(reported)
            self._collect(pending)
            self.drain()
            if self._hec_down.is_set():
                self._abandon_batch()
                self._release_held()
                return False
        finally:
            heartbeat_done.set()
            self.stats.state = "stopped"
        return self.stats["failures"] == failures

    def _keep_hidden(self, done: threading.Event) -> None:
        """Heartbeat thread: extend the visibility of messages still being worked on (slow HEC,
        large files) before SQS hands them to someone else, which would duplicate events."""
        while not done.wait(max(0.2, self.visibility / 4)):
            now = time.monotonic()
            with self._lock:
                due = [m for m in self._live if m.visible_at - now < self.visibility / 2]
            if due:
                self._change_visibility(due, self.visibility)
                for message in due:
                    message.visible_at = now + self.visibility

    def _report(self, last: tuple[float, int]) -> tuple[float, int]:
        """One progress line a minute while events flow (the lab's .lab/logs/ingest.log)."""
        now, events = time.monotonic(), self.stats["events"]
        if now - last[0] < REPORT_SECONDS:
            return last
        if events != last[1]:
            info = self.stats.snapshot()
            log.info(
                "%d events delivered in the last %.0f s; totals: %d messages, %d files, "
                "%d events, %d failures",
                events - last[1],
                now - last[0],
                info["messages"],
                info["files"],
                info["events"],
                info["failures"],
            )
        return now, events

    def _sqs_failed(self, exc: Exception, stop: threading.Event) -> None:
        """Log, wait and go on: what is in hand is still delivered and deleted."""
        self.stats.error(f"receive failed: {exc}")
        log.warning("receiving from SQS failed (%s); retrying in %.1f s", exc, self._sqs_backoff)
        stop.wait(self._sqs_backoff)
        self._sqs_backoff = min(self._sqs_backoff * 2, self.backoff[1])

    def _abandon_batch(self) -> None:
        """After a HEC failure: release what is batched, wait for the sender to settle."""
        batch, self._batch = self._batch, _Batch()
        self._fail([m for m, _ in batch.parts])
        while self._in_flight:
            self._in_flight.popleft().result()

    def _release_held(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            self._fail([m for m, _ in held.parts])

    def _recover(self, stop: threading.Event) -> None:
        """Retry the held batch with backoff, keeping its messages in flight, until HEC takes
        it (or ``stop``). Nothing is received meanwhile, so an outage or a wrong token costs
        no message a receive, and none reaches the dead-letter queue because of it."""
        held, self._held = self._held, None
        self.stats.state = "waiting for HEC"
        while held is not None:
            delay = self._backoff
            self._backoff = min(self._backoff * 2, self.backoff[1])
            self._change_visibility([m for m, _ in held.parts], int(delay) + HOLD_MARGIN)
            if stop.wait(delay):
                self._fail([m for m, _ in held.parts])
                return
            try:
                poisoned = self._post(held.parts)
            except HecError as exc:
                self._hec_failed(exc, len(held.parts))
                continue
            self._accepted(held, poisoned)
            held = None
        log.info("HEC accepts events again; resuming")
        self._hec_down.clear()
        self.stats.state = "running"

    def close(self) -> None:
        self._fetch.shutdown(wait=True)
        self._send.shutdown(wait=True)

    def __enter__(self) -> Ingester:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _halve(parts: list[tuple[_Message, list[bytes]]]):
    if len(parts) > 1:
        middle = len(parts) // 2
        return parts[:middle], parts[middle:]
    message, lines = parts[0]
    middle = len(lines) // 2
    return [(message, lines[:middle])], [(message, lines[middle:])]
