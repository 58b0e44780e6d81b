"""One durable work queue on SQLite: at-least-once delivery, acknowledged after the work.

``put`` commits before it returns, so whatever a caller acknowledged to its own client is on disk.
``claim`` hands a message out and hides it for ``visibility`` seconds; the worker ``ack``s it when
the work is done. A worker that crashes never acks, so the message comes back after the timeout
(at-least-once: handlers must be idempotent). A failed attempt is retried after an exponential
backoff with jitter; after ``max_attempts`` the message becomes a *dead letter* that a person can
list and ``replay``. Finished messages are kept as history (``done``) until ``prune``.

Several processes may share one file (WAL mode, ``BEGIN IMMEDIATE`` claims). A queue may also live
inside another SQLite database on a connection its owner manages, so that enqueueing happens in the
owner's own transaction (an outbox)::

>>> import pathlib, tempfile
>>> q = Queue(pathlib.Path(tempfile.mkdtemp()) / "work.sqlite", "alerts")
>>> q.put({"n": 1})
1
>>> [m] = q.claim()
>>> m.body, m.attempts
({'n': 1}, 1)
>>> q.ack(m, note="done")
True
>>> q.counts()
{'ready': 0, 'in_flight': 0, 'dead': 0, 'done': 1}
"""

from __future__ import annotations

import json
import logging
import random
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Backoff", "Message", "Permanent", "Queue", "Retry", "Worker"]

log = logging.getLogger("helpers.runtime.queue")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS queue_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    body TEXT NOT NULL,
    key TEXT,
    state TEXT NOT NULL DEFAULT 'ready',          -- ready | dead | done
    attempts INTEGER NOT NULL DEFAULT 0,
    visible_at REAL NOT NULL,
    receipt TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS queue_messages_due ON queue_messages (queue, state, visible_at);
CREATE INDEX IF NOT EXISTS queue_messages_key ON queue_messages (queue, key);
"""

STATES = ("ready", "dead", "done")


@dataclass(frozen=True)
class Backoff:
    """Seconds to wait before retry number ``n``: ``base * factor**(n-1)``, capped, +-jitter.

    >>> Backoff(base=1, factor=2, cap=10, jitter=0).delay(3)
    4.0
    >>> Backoff(base=1, factor=2, cap=10, jitter=0).delay(9)
    10.0
    """

    base: float = 0.5
    factor: float = 2.0
    cap: float = 60.0
    jitter: float = 0.2  # a fraction: 0.2 spreads each delay over +-20%

    def delay(self, attempt: int) -> float:
        raw = min(self.cap, self.base * self.factor ** max(attempt - 1, 0))
        if self.jitter:
            raw *= random.uniform(1 - self.jitter, 1 + self.jitter)
        return float(min(raw, self.cap))


@dataclass(frozen=True)
class Message:
    """One claimed (or listed) message. ``attempts`` counts this delivery too."""

    id: int
    queue: str
    body: Any
    key: str | None
    state: str
    attempts: int
    visible_at: float
    receipt: str | None
    created: float
    updated: float
    note: str

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "queue": self.queue,
            "key": self.key,
            "state": self.state,
            "attempts": self.attempts,
            "created": self.created,
            "updated": self.updated,
            "note": self.note,
            "body": self.body,
        }


class Retry(Exception):
    """Raised by a handler: try again later (``after`` seconds, e.g. a Retry-After header)."""

    def __init__(self, reason: str, after: float | None = None):
        super().__init__(reason)
        self.after = after


class Permanent(Exception):
    """Raised by a handler: this message can never succeed; make it a dead letter now."""


class Queue:
    """A named queue in a SQLite file (or on a connection whose owner manages transactions)."""

    def __init__(
        self,
        db: str | Path | sqlite3.Connection,
        name: str = "work",
        *,
        visibility: float = 30.0,
        max_attempts: int = 10,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.time,
        lock: threading.RLock | None = None,
    ):
        self.name = name
        self.visibility = visibility
        self.max_attempts = max_attempts
        self.backoff = backoff or Backoff()
        self.clock = clock
        if isinstance(db, sqlite3.Connection):
            self._db, self._owned = db, False
        else:
            path = Path(db)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                str(path), check_same_thread=False, isolation_level=None, timeout=30.0
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a commit survives the process dying (SIGKILL) the moment it returns;
            # only an OS crash or power loss could lose the last few.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._owned = True
        self._lock = lock or threading.RLock()
        self._ready = threading.Condition(threading.Lock())
        with self._lock:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)

    # -- writing -----------------------------------------------------------------------------------
    def put(self, body: Any, *, key: str | None = None, delay: float = 0.0) -> int:
        """Store one message (JSON-serialisable ``body``) and return its id; durable on return.

        On a connection whose owner has a transaction open, the message joins that transaction.
        """
        return self.put_many([body], key=key, delay=delay)[0]

    def put_many(self, bodies: Iterable[Any], *, key: str | None = None, delay: float = 0.0):
        """Store several messages in one transaction; returns their ids in order."""
        now = self.clock()
        rows = [json.dumps(b, separators=(",", ":"), ensure_ascii=False) for b in bodies]
        ids = []
        with self._lock, self._transaction():
            for text in rows:
                cur = self._db.execute(
                    "INSERT INTO queue_messages (queue, body, key, visible_at, created, updated) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (self.name, text, key, now + delay, now, now),
                )
                ids.append(cur.lastrowid)
        self.wake()
        return ids

    @contextmanager
    def _transaction(self):
        """A transaction of our own, unless the connection's owner has one open."""
        if self._db.in_transaction:
            yield
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- claiming ----------------------------------------------------------------------------------
    def claim(self, limit: int = 1) -> list[Message]:
        """Hand out up to ``limit`` due messages, hidden for ``visibility`` seconds."""
        now = self.clock()
        with self._lock, self._transaction():
            ids = [
                row[0]
                for row in self._db.execute(
                    "SELECT id FROM queue_messages WHERE queue = ? AND state = 'ready' "
                    "AND visible_at <= ? ORDER BY visible_at, id LIMIT ?",
                    (self.name, now, limit),
                )
            ]
            claimed = []
            for mid in ids:
                receipt = secrets.token_hex(8)
                self._db.execute(
                    "UPDATE queue_messages SET attempts = attempts + 1, visible_at = ?, "
                    "receipt = ?, updated = ? WHERE id = ?",
                    (now + self.visibility, receipt, now, mid),
                )
                claimed.append(self._one(mid))
        return claimed

    def get(self, timeout: float = 0.0) -> Message | None:
        """One due message, waiting up to ``timeout`` seconds for one to arrive."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.claim(1)
            if got:
                return got[0]
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.wait(min(left, self._until_due(0.5)))

    def _until_due(self, most: float) -> float:
        due = self.next_due()
        return most if due is None else max(0.0, min(most, due - self.clock()))

    def wake(self) -> None:
        """Wake workers of this process that wait for messages."""
        with self._ready:
            self._ready.notify_all()

    def wait(self, timeout: float) -> None:
        with self._ready:
            self._ready.wait(timeout)

    # -- finishing ---------------------------------------------------------------------------------
    def ack(self, message: Message, note: str = "") -> bool:
        """The work is done. False if the claim had expired and someone else holds it now."""
        return self._finish(message, "done", note, self.clock())

    def fail(self, message: Message, error: str, *, retry_after: float | None = None) -> str:
        """An attempt failed: retry after a backoff (or ``retry_after``), or park it as dead.

        Returns the message's new state, ``"ready"`` or ``"dead"``.
        """
        if message.attempts >= self.max_attempts:
            self._finish(message, "dead", f"gave up after {message.attempts} attempts: {error}")
            return "dead"
        delay = self.backoff.delay(message.attempts) if retry_after is None else retry_after
        self._finish(message, "ready", error, self.clock() + max(delay, 0.0))
        return "ready"

    def bury(self, message: Message, error: str) -> None:
        """Make a message a dead letter now (it can never succeed as it is)."""
        self._finish(message, "dead", error)

    def release(self, message: Message, delay: float = 0.0) -> None:
        """Give a claimed message back without counting the attempt (e.g. on shutdown)."""
        with self._lock, self._transaction():
            self._db.execute(
                "UPDATE queue_messages SET attempts = max(attempts - 1, 0), visible_at = ?, "
                "receipt = NULL WHERE id = ? AND receipt = ?",
                (self.clock() + delay, message.id, message.receipt),
            )
        self.wake()

    def reclaim(self) -> int:
        """Make every claimed message visible again now; returns how many.

        For a queue with one consuming process, at its start: whatever the previous process had
        claimed when it died goes back to work at once instead of after the visibility timeout.
        """
        with self._lock, self._transaction():
            count = self._db.execute(
                "UPDATE queue_messages SET visible_at = ?, receipt = NULL "
                "WHERE queue = ? AND state = 'ready' AND receipt IS NOT NULL",
                (self.clock(), self.name),
            ).rowcount
        self.wake()
        return count

    def _finish(self, message: Message, state: str, note: str, visible_at: float = 0.0) -> bool:
        now = self.clock()
        with self._lock, self._transaction():
            cur = self._db.execute(
                "UPDATE queue_messages SET state = ?, note = ?, visible_at = ?, receipt = NULL, "
                "updated = ? WHERE id = ? AND receipt = ?",
                (state, note[:2000], visible_at or now, now, message.id, message.receipt),
            )
        if state == "ready":
            self.wake()
        return cur.rowcount == 1

    # -- dead letters and history ------------------------------------------------------------------
    def messages(
        self, state: str | None = None, limit: int = 200, *, key: str | None = None
    ) -> list[Message]:
        """Messages newest first, all or in one state (``ready``, ``dead``, ``done``), all or
        those put with one ``key``."""
        if state is not None and state not in STATES:
            raise ValueError(f"unknown state {state!r}; known: {', '.join(STATES)}")
        sql = "SELECT * FROM queue_messages WHERE queue = ?"
        params: tuple = (self.name,)
        if state:
            sql += " AND state = ?"
            params += (state,)
        if key is not None:
            sql += " AND key = ?"
            params += (key,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY id DESC LIMIT ?", (*params, limit))
            return [_message(r) for r in rows.fetchall()]

    def dead_letters(self, limit: int = 200) -> list[Message]:
        return self.messages("dead", limit)

    def replay(self, message_id: int | None = None) -> int:
        """Put dead letters (one, or all) back to work with fresh attempts; returns how many."""
        sql = (
            "UPDATE queue_messages SET state = 'ready', attempts = 0, visible_at = ?, "
            "receipt = NULL, updated = ?, note = 'replayed: ' || note "
            "WHERE queue = ? AND state = 'dead'"
        )
        now = self.clock()
        params: tuple = (now, now, self.name)
        if message_id is not None:
            sql += " AND id = ?"
            params += (message_id,)
        with self._lock, self._transaction():
            count = self._db.execute(sql, params).rowcount
        self.wake()
        return count

    def counts(self) -> dict[str, int]:
        """How many messages are ready, in flight (claimed), dead and done."""
        now = self.clock()
        with self._lock:
            rows = self._db.execute(
                "SELECT state, visible_at > ? AND receipt IS NOT NULL, count(*) "
                "FROM queue_messages WHERE queue = ? GROUP BY 1, 2",
                (now, self.name),
            ).fetchall()
        counts = {"ready": 0, "in_flight": 0, "dead": 0, "done": 0}
        for state, hidden, n in rows:
            counts["in_flight" if state == "ready" and hidden else state] += n
        return counts

    def next_due(self) -> float | None:
        """When the next ready message becomes visible (None when there is none)."""
        with self._lock:
            row = self._db.execute(
                "SELECT min(visible_at) FROM queue_messages WHERE queue = ? AND state = 'ready'",
                (self.name,),
            ).fetchone()
        return row[0]

    def prune(self, keep: int = 5000) -> int:
        """Forget finished (``done``) messages beyond the newest ``keep``; returns how many."""
        with self._lock, self._transaction():
            return self._db.execute(
                "DELETE FROM queue_messages WHERE queue = ? AND state = 'done' AND id NOT IN "
                "(SELECT id FROM queue_messages WHERE queue = ? AND state = 'done' "
                "ORDER BY id DESC LIMIT ?)",
                (self.name, self.name, keep),
            ).rowcount

    def _one(self, message_id: int) -> Message:
        row = self._db.execute("SELECT * FROM queue_messages WHERE id = ?", (message_id,))
        return _message(row.fetchone())

    def close(self) -> None:
        if self._owned:
            with self._lock:
                self._db.close()

    def __repr__(self) -> str:
        return f"Queue({self.name!r})"


def _message(row: tuple) -> Message:
    values = list(row)
    values[2] = json.loads(values[2])
    return Message(*values)


class Worker(threading.Thread):
    """Runs ``handle(message)`` for each message of a queue until ``stop()``.

    A handler that returns normally acks the message (its return value, if a string, is the
    note). ``Retry`` retries after its ``after`` or the backoff; ``Permanent`` makes a dead letter
    at once; any other exception is logged and retried.
    """

    def __init__(
        self,
        queue: Queue,
        handle: Callable[[Message], Any],
        *,
        name: str | None = None,
        batch: int = 10,
        idle: float = 0.5,
    ):
        super().__init__(name=name or f"worker-{queue.name}", daemon=True)
        self.queue = queue
        self.handle = handle
        self.batch = batch
        self.idle = idle
        self._stopping = threading.Event()

    def stop(self, timeout: float | None = 10.0) -> None:
        self._stopping.set()
        self.queue.wake()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                claimed = self.queue.claim(self.batch)
            except sqlite3.Error:
                log.exception("%s: could not claim", self.name)
                claimed = []
            if not claimed:
                self.queue.wait(self.queue._until_due(self.idle))
                continue
            for message in claimed:
                if self._stopping.is_set():
                    self.queue.release(message)
                    continue
                self.process(message)

    def process(self, message: Message) -> None:
        """Handle one claimed message and settle it (ack, retry or dead letter)."""
        try:
            note = self.handle(message)
        except Retry as retry:
            self.queue.fail(message, str(retry), retry_after=retry.after)
        except Permanent as err:
            log.warning("%s: message %s is a dead letter: %s", self.name, message.id, err)
            self.queue.bury(message, str(err))
        except Exception as err:  # whatever the handler does, keep the worker up
            log.exception("%s: message %s failed", self.name, message.id)
            self.queue.fail(message, f"{type(err).__name__}: {err}")
        else:
            self.queue.ack(message, note if isinstance(note, str) else "")
