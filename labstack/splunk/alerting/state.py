"""What alerting must remember across a restart: throttles, fired alerts, the action outbox.

One SQLite file under the state directory (``alerts.sqlite``). Every change is committed before
the caller goes on, so a suppression or a queued delivery survives a crash or a restart. The
outbox is a :class:`helpers.runtime.queue.Queue` (``webhooks``) on the same connection: a fired
alert and its deliveries (webhook POSTs, SNS publishes...) are written in one transaction.

>>> import pathlib, tempfile
>>> state = AlertState(pathlib.Path(tempfile.mkdtemp()) / "alerts.sqlite")
>>> state.suppress("Lab Alert", "user=alice", until=200.0)
>>> state.suppressed("Lab Alert", "user=alice", now=100.0)
True
>>> state.suppressed("Lab Alert", "user=bob", now=100.0)
False
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from helpers.runtime.queue import Backoff, Message, Queue

__all__ = ["AlertState", "Delivery", "Fired"]

#: Fired alerts kept at most (oldest first out); Splunk keeps them until alert.expires.
MAX_FIRED = 5000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS throttle (search TEXT, key TEXT, until REAL, PRIMARY KEY (search, key));
CREATE TABLE IF NOT EXISTS counts (search TEXT PRIMARY KEY, count INTEGER);
CREATE TABLE IF NOT EXISTS fired (
    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, search TEXT, sid TEXT, trigger_time REAL,
    result_count INTEGER, digest INTEGER, severity TEXT, actions TEXT, alert_type TEXT,
    mode TEXT, owner TEXT, app TEXT, expires REAL, tracked INTEGER DEFAULT 1);
CREATE INDEX IF NOT EXISTS fired_search ON fired (search);
"""
#: The outbox queue's name in ``alerts.sqlite``. It holds every action's deliveries; the name is
#: older than the second action and is kept so an existing state directory keeps its backlog.
WEBHOOKS = "webhooks"
#: The action of a queued message that names none (queued before there were several).
DEFAULT_ACTION = "webhook"
#: Queue states as the deliveries views name them.
STATUS = {"ready": "pending", "done": "delivered", "dead": "failed"}
_HTTP = re.compile(r"\bHTTP (\d{3})\b")


@dataclass
class Fired:
    """One triggered alert: a digest trigger, or one result of a per-result trigger."""

    id: int
    name: str
    search: str
    sid: str
    trigger_time: float
    result_count: int
    digest: bool
    severity: str
    actions: str
    alert_type: str
    mode: str  # scheduled | realtime | dispatch
    owner: str
    app: str
    expires: float
    tracked: bool = True  # alert.track: listed in alerts/fired_alerts (Splunk's Triggered Alerts)


@dataclass
class Delivery:
    """One action's delivery (a webhook POST, an SNS publish) and where it stands: pending,
    delivered or failed (gave up).

    A view of one outbox message (:meth:`from_message`); its body holds action, fired_id, search,
    sid, target (the webhook URL, the SNS topic) and payload.
    """

    id: int
    fired_id: int
    search: str
    sid: str
    action: str
    target: str
    payload: dict
    status: str
    attempts: int
    next_attempt: float
    last_error: str
    http_status: int | None
    created: float
    finished: float | None

    @classmethod
    def from_message(cls, message: Message) -> Delivery:
        body, status = message.body, STATUS[message.state]
        note = message.note
        code = _HTTP.search(note)
        return cls(
            id=message.id, fired_id=body["fired_id"], search=body["search"], sid=body["sid"],
            action=body.get("action", DEFAULT_ACTION), target=body.get("target", body.get("url")),
            payload=body["payload"], status=status, attempts=message.attempts,
            next_attempt=message.visible_at, last_error="" if status == "delivered" else note,
            http_status=int(code.group(1)) if code else None, created=message.created,
            finished=None if status == "pending" else message.updated,
        )  # fmt: skip

    @property
    def url(self) -> str:
        """The target (a webhook's URL): the name the listing had when webhooks were all."""
        return self.target


class AlertState:
    """Thread-safe access to the alerting database (one connection, one lock)."""

    def __init__(self, path: Path, attempts: int = 8, backoff: Backoff | None = None):
        """``attempts`` and ``backoff`` govern the action outbox (:attr:`webhooks`)."""
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(fired)")}
        if "tracked" not in columns:  # a state directory from before alert.track was kept
            self._db.execute("ALTER TABLE fired ADD COLUMN tracked INTEGER DEFAULT 1")
        self.webhooks = Queue(
            self._db, WEBHOOKS, visibility=60.0, max_attempts=max(1, attempts),
            backoff=backoff or Backoff(base=1.0, factor=2.0, cap=60.0, jitter=0.1),
            lock=self._lock,
        )  # fmt: skip
        self._adopt_old_outbox()

    def _adopt_old_outbox(self) -> None:
        """A state directory from before the queue: its pending deliveries join the queue."""
        with self._lock:
            if not self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'outbox'").fetchone():
                return
            rows = self._db.execute(
                "SELECT fired_id, search, sid, url, payload FROM outbox WHERE status = 'pending'"
            ).fetchall()
            self._db.execute("BEGIN")
            self.webhooks.put_many(
                {
                    "action": DEFAULT_ACTION,
                    "fired_id": f,
                    "search": s,
                    "sid": sid,
                    "target": u,
                    "payload": json.loads(p),
                }
                for f, s, sid, u, p in rows
            )
            self._db.execute("DROP TABLE outbox")
            self._db.execute("COMMIT")

    def _run(self, sql: str, params=()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- throttling ------------------------------------------------------------------------------
    def suppressed(self, search: str, key: str, now: float) -> bool:
        rows = self._run("SELECT until FROM throttle WHERE search = ? AND key = ?", (search, key))
        return bool(rows) and rows[0][0] > now

    def suppress(self, search: str, key: str, until: float) -> None:
        self._run("INSERT OR REPLACE INTO throttle VALUES (?, ?, ?)", (search, key, until))

    def throttles(self, now: float | None = None) -> list[tuple[str, str, float]]:
        """Active suppressions as ``(search, key, until)``."""
        now = time.time() if now is None else now
        return self._run(
            "SELECT search, key, until FROM throttle WHERE until > ? ORDER BY search, key", (now,)
        )

    def forget_search(self, search: str) -> None:
        """A deleted or changed saved search starts afresh (no throttle, no previous count)."""
        self._run("DELETE FROM throttle WHERE search = ?", (search,))
        self._run("DELETE FROM counts WHERE search = ?", (search,))

    def rename_search(self, old: str, new: str) -> None:
        """Throttles and the previous count kept under ``old`` are ``new``'s (a search whose
        name in this state changed, see ``AlertRule.state_name``); ``new``'s own stay."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                for table in ("throttle", "counts"):
                    self._db.execute(
                        f"UPDATE OR IGNORE {table} SET search = ? WHERE search = ?", (new, old)
                    )
                    self._db.execute(f"DELETE FROM {table} WHERE search = ?", (old,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    # -- previous result counts (``drops by`` / ``rises by``) ---------------------------------
    def swap_count(self, search: str, count: int) -> int | None:
        """Store this run's count and return the previous run's (None on the first run)."""
        with self._lock:
            row = self._db.execute("SELECT count FROM counts WHERE search = ?", (search,))
            previous = row.fetchone()
            self._db.execute("INSERT OR REPLACE INTO counts VALUES (?, ?)", (search, count))
        return previous[0] if previous else None

    # -- fired alerts and the outbox -------------------------------------------------------------
    def record(self, fired: Fired, deliveries: list[tuple[str, str, dict]], now: float) -> Fired:
        """Store a fired alert and its deliveries ``(action, target, payload)`` in one
        transaction."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                cur = self._db.execute(
                    "INSERT INTO fired (name, search, sid, trigger_time, result_count, digest, "
                    "severity, actions, alert_type, mode, owner, app, expires, tracked) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (fired.name, fired.search, fired.sid, fired.trigger_time, fired.result_count,
                     int(fired.digest), fired.severity, fired.actions, fired.alert_type,
                     fired.mode, fired.owner, fired.app, fired.expires, int(fired.tracked)),
                )  # fmt: skip
                fired.id = cur.lastrowid
                self.webhooks.put_many(
                    (
                        {"action": action, "fired_id": fired.id, "search": fired.search,
                         "sid": fired.sid, "target": target, "payload": payload}
                        for action, target, payload in deliveries
                    ),
                    key=str(fired.id),
                )  # fmt: skip
                self._db.execute(
                    "DELETE FROM fired WHERE id <= (SELECT max(id) FROM fired) - ?", (MAX_FIRED,)
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return fired

    def fired(
        self, search: str | None = None, now: float | None = None, tracked_only: bool = False
    ) -> list[Fired]:
        """Unexpired fired alerts, newest first; all searches, or one."""
        now = time.time() if now is None else now
        sql = "SELECT * FROM fired WHERE expires > ?"
        params: tuple = (now,)
        if tracked_only:
            sql += " AND tracked = 1"
        if search is not None:
            sql += " AND search = ?"
            params += (search,)
        rows = self._run(sql + " ORDER BY id DESC", params)
        return [  # digest and tracked are stored as 0/1
            Fired(*row[:6], bool(row[6]), *row[7:14], bool(row[14])) for row in rows
        ]

    def delete_fired(self, name: str) -> bool:
        with self._lock:
            return self._db.execute("DELETE FROM fired WHERE name = ?", (name,)).rowcount > 0

    def deliveries(self, fired_id: int | None = None, limit: int = 200) -> list[Delivery]:
        """Action deliveries: all (newest first), or one fired alert's (oldest first)."""
        if fired_id is None:
            return [Delivery.from_message(m) for m in self.webhooks.messages(limit=limit)]
        messages = self.webhooks.messages(key=str(fired_id), limit=limit)
        return [Delivery.from_message(m) for m in reversed(messages)]

    def prune(self, now: float, keep: int = MAX_FIRED) -> None:
        """Forget what no longer matters: expired throttles and fired alerts, and finished
        deliveries beyond the newest ``keep`` (pending and failed ones stay)."""
        self._run("DELETE FROM throttle WHERE until <= ?", (now,))
        self._run("DELETE FROM fired WHERE expires <= ?", (now,))
        self.webhooks.prune(keep)
