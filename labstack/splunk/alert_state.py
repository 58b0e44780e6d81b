"""What alerting must remember across a restart: throttles, fired alerts, the webhook outbox.

One SQLite file under the state directory (``alerts.sqlite``). Every change is committed before
the caller goes on, so a suppression or a queued webhook survives a crash or a restart.

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
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

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
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, fired_id INTEGER, search TEXT, sid TEXT, url TEXT,
    payload TEXT, status TEXT, attempts INTEGER, next_attempt REAL, last_error TEXT,
    http_status INTEGER, created REAL, finished REAL);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, next_attempt);
CREATE INDEX IF NOT EXISTS fired_search ON fired (search);
"""


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
    """One webhook POST and where it stands: pending, delivered or failed (gave up)."""

    id: int
    fired_id: int
    search: str
    sid: str
    url: str
    payload: dict
    status: str
    attempts: int
    next_attempt: float
    last_error: str
    http_status: int | None
    created: float
    finished: float | None


class AlertState:
    """Thread-safe access to the alerting database (one connection, one lock)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(fired)")}
        if "tracked" not in columns:  # a state directory from before alert.track was kept
            self._db.execute("ALTER TABLE fired ADD COLUMN tracked INTEGER DEFAULT 1")

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

    # -- previous result counts (``drops by`` / ``rises by``) ---------------------------------
    def swap_count(self, search: str, count: int) -> int | None:
        """Store this run's count and return the previous run's (None on the first run)."""
        with self._lock:
            row = self._db.execute("SELECT count FROM counts WHERE search = ?", (search,))
            previous = row.fetchone()
            self._db.execute("INSERT OR REPLACE INTO counts VALUES (?, ?)", (search, count))
        return previous[0] if previous else None

    # -- fired alerts and the outbox -------------------------------------------------------------
    def record(self, fired: Fired, deliveries: list[tuple[str, dict]], now: float) -> Fired:
        """Store a fired alert and its webhook deliveries (url, payload) in one transaction."""
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
                for url, payload in deliveries:
                    self._db.execute(
                        "INSERT INTO outbox (fired_id, search, sid, url, payload, status, "
                        "attempts, next_attempt, last_error, created) "
                        "VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, '', ?)",
                        (fired.id, fired.search, fired.sid, url, json.dumps(payload), now, now),
                    )
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

    def due(self, now: float, limit: int = 50) -> list[Delivery]:
        rows = self._run(
            "SELECT * FROM outbox WHERE status = 'pending' AND next_attempt <= ? "
            "ORDER BY next_attempt, id LIMIT ?",
            (now, limit),
        )
        return [_delivery(r) for r in rows]

    def next_due(self) -> float | None:
        rows = self._run("SELECT min(next_attempt) FROM outbox WHERE status = 'pending'")
        return rows[0][0] if rows else None

    def deliveries(self, fired_id: int | None = None, limit: int = 200) -> list[Delivery]:
        if fired_id is None:
            rows = self._run("SELECT * FROM outbox ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = self._run("SELECT * FROM outbox WHERE fired_id = ? ORDER BY id", (fired_id,))
        return [_delivery(r) for r in rows]

    def attempted(
        self,
        delivery_id: int,
        status: str,
        attempts: int,
        next_attempt: float,
        error: str,
        http_status: int | None,
        now: float,
    ) -> None:
        finished = now if status != "pending" else None
        self._run(
            "UPDATE outbox SET status = ?, attempts = ?, next_attempt = ?, last_error = ?, "
            "http_status = ?, finished = ? WHERE id = ?",
            (status, attempts, next_attempt, error, http_status, finished, delivery_id),
        )

    def prune(self, now: float, keep: int = MAX_FIRED) -> None:
        """Forget what no longer matters: expired throttles and fired alerts, and finished
        deliveries beyond the newest ``keep`` (pending ones always stay)."""
        self._run("DELETE FROM throttle WHERE until <= ?", (now,))
        self._run("DELETE FROM fired WHERE expires <= ?", (now,))
        self._run(
            "DELETE FROM outbox WHERE status != 'pending' "
            "AND id <= (SELECT max(id) FROM outbox) - ?",
            (keep,),
        )


def _delivery(row: tuple) -> Delivery:
    values = list(row)
    values[5] = json.loads(values[5])
    return Delivery(*values)
