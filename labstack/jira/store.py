"""Persistence for the lab's Jira: one SQLite file under the service's state directory.

Issues, comments, histories, links, remote links, webhooks and pending webhook deliveries live in
the same database, so a change and the deliveries it causes are committed together (a restart
loses neither). Documents are JSON; only what lookups need is a column.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS issues (id INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL, doc TEXT);
CREATE TABLE IF NOT EXISTS comments (
    id INTEGER PRIMARY KEY, issue_id INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS histories (
    id INTEGER PRIMARY KEY, issue_id INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS links (
    id INTEGER PRIMARY KEY, type_id TEXT, inward_id INTEGER, outward_id INTEGER);
CREATE TABLE IF NOT EXISTS remotelinks (
    id INTEGER PRIMARY KEY, issue_id INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS webhooks (id INTEGER PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT, webhook_id INTEGER, url TEXT NOT NULL,
    body TEXT NOT NULL, secret TEXT, state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL, last_error TEXT,
    created REAL NOT NULL);
"""

# First ids, so the lab's ids look like a real site's (issues 10001, comments 20000, ...).
ID_STARTS = {
    "issues": 10001,
    "comments": 20000,
    "histories": 30000,
    "links": 40000,
    "remotelinks": 50000,
    "webhooks": 1,
}


class Store:
    """A thread-safe SQLite store. Use ``with store.tx():`` around a change that spans tables."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self._lock = threading.RLock()
        self._depth = 0

    @contextmanager
    def tx(self):
        """One transaction (nested calls join the outer one)."""
        with self._lock:
            if self._depth == 0:
                self._db.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._depth -= 1
                if self._depth == 0:
                    self._db.execute("ROLLBACK")
                raise
            self._depth -= 1
            if self._depth == 0:
                self._db.execute("COMMIT")

    def _q(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def _next(self, name: str) -> int:
        with self.tx():
            row = self._q("SELECT value FROM counters WHERE name = ?", (name,))
            value = row[0]["value"] if row else ID_STARTS.get(name, 1)
            self._q("INSERT OR REPLACE INTO counters VALUES (?, ?)", (name, value + 1))
            return value

    # -- issues ------------------------------------------------------------------------------------
    def create_issue(self, project: str, doc: dict) -> dict:
        with self.tx():
            doc = dict(doc, id=self._next("issues"))
            doc["key"] = f"{project}-{self._next('key:' + project)}"
            self._q("INSERT INTO issues VALUES (?, ?, ?)", (doc["id"], doc["key"], json.dumps(doc)))
            return doc

    def save_issue(self, doc: dict) -> None:
        self._q("UPDATE issues SET doc = ? WHERE id = ?", (json.dumps(doc), doc["id"]))

    def issue(self, id_or_key: str | int) -> dict | None:
        text = str(id_or_key).strip()
        if text.isdigit():
            rows = self._q("SELECT doc FROM issues WHERE id = ?", (int(text),))
        else:
            rows = self._q("SELECT doc FROM issues WHERE key = ?", (text.upper(),))
        return json.loads(rows[0]["doc"]) if rows else None

    def issues(self) -> list[dict]:
        return [json.loads(r["doc"]) for r in self._q("SELECT doc FROM issues ORDER BY id")]

    def delete_issue(self, issue_id: int) -> None:
        with self.tx():
            for table in ("comments", "histories", "remotelinks"):
                self._q(f"DELETE FROM {table} WHERE issue_id = ?", (issue_id,))
            self._q("DELETE FROM links WHERE inward_id = ? OR outward_id = ?", (issue_id, issue_id))
            self._q("DELETE FROM issues WHERE id = ?", (issue_id,))

    # -- documents attached to an issue (comments, histories, remote links) ------------------------
    def add(self, table: str, issue_id: int, doc: dict) -> dict:
        with self.tx():
            doc = dict(doc, id=self._next(table))
            self._q(f"INSERT INTO {table} VALUES (?, ?, ?)", (doc["id"], issue_id, json.dumps(doc)))
            return doc

    def update(self, table: str, doc: dict) -> None:
        self._q(f"UPDATE {table} SET doc = ? WHERE id = ?", (json.dumps(doc), doc["id"]))

    def remove(self, table: str, doc_id: int) -> None:
        self._q(f"DELETE FROM {table} WHERE id = ?", (doc_id,))

    def attached(self, table: str, issue_id: int) -> list[dict]:
        rows = self._q(f"SELECT doc FROM {table} WHERE issue_id = ? ORDER BY id", (issue_id,))
        return [json.loads(r["doc"]) for r in rows]

    def get(self, table: str, doc_id: int | str) -> dict | None:
        if not str(doc_id).isdigit():
            return None
        rows = self._q(f"SELECT doc FROM {table} WHERE id = ?", (int(doc_id),))
        return json.loads(rows[0]["doc"]) if rows else None

    # -- issue links -------------------------------------------------------------------------------
    def add_link(self, type_id: str, inward_id: int, outward_id: int) -> int:
        with self.tx():
            link_id = self._next("links")
            self._q(
                "INSERT INTO links VALUES (?, ?, ?, ?)", (link_id, type_id, inward_id, outward_id)
            )
            return link_id

    def link(self, link_id: int | str) -> dict | None:
        if not str(link_id).isdigit():
            return None
        rows = self._q("SELECT * FROM links WHERE id = ?", (int(link_id),))
        return dict(rows[0]) if rows else None

    def links_of(self, issue_id: int) -> list[dict]:
        rows = self._q(
            "SELECT * FROM links WHERE inward_id = ? OR outward_id = ? ORDER BY id",
            (issue_id, issue_id),
        )
        return [dict(r) for r in rows]

    def remove_link(self, link_id: int) -> None:
        self._q("DELETE FROM links WHERE id = ?", (link_id,))

    # -- webhooks ----------------------------------------------------------------------------------
    def add_webhook(self, doc: dict) -> dict:
        with self.tx():
            doc = dict(doc, id=self._next("webhooks"))
            self._q("INSERT INTO webhooks VALUES (?, ?)", (doc["id"], json.dumps(doc)))
            return doc

    def save_webhook(self, doc: dict) -> None:
        self._q("UPDATE webhooks SET doc = ? WHERE id = ?", (json.dumps(doc), doc["id"]))

    def webhooks(self) -> list[dict]:
        return [json.loads(r["doc"]) for r in self._q("SELECT doc FROM webhooks ORDER BY id")]

    def webhook(self, hook_id: int | str) -> dict | None:
        return self.get("webhooks", hook_id)

    def remove_webhook(self, hook_id: int) -> None:
        self._q("DELETE FROM webhooks WHERE id = ?", (hook_id,))

    # -- webhook deliveries (an outbox) ---------------------------------------------------------
    def enqueue(self, webhook_id: int, url: str, body: str, secret: str | None) -> None:
        now = time.time()
        self._q(
            "INSERT INTO deliveries (webhook_id, url, body, secret, next_at, created) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (webhook_id, url, body, secret, now, now),
        )

    def due(self, now: float, limit: int = 20) -> list[dict]:
        rows = self._q(
            "SELECT * FROM deliveries WHERE state = 'pending' AND next_at <= ? ORDER BY id LIMIT ?",
            (now, limit),
        )
        return [dict(r) for r in rows]

    def next_due(self) -> float | None:
        rows = self._q("SELECT MIN(next_at) AS t FROM deliveries WHERE state = 'pending'")
        return rows[0]["t"]

    def delivered(self, delivery_id: int) -> None:
        self._q(
            "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, last_error = NULL "
            "WHERE id = ?",
            (delivery_id,),
        )

    def failed_attempt(self, delivery_id: int, error: str, next_at: float | None) -> None:
        """Record a failed attempt: retry at ``next_at``, or park it (``None``) for a person."""
        state = "pending" if next_at is not None else "failed"
        self._q(
            "UPDATE deliveries SET attempts = attempts + 1, last_error = ?, state = ?, "
            "next_at = COALESCE(?, next_at) WHERE id = ?",
            (error, state, next_at, delivery_id),
        )

    def requeue(self, delivery_id: int) -> bool:
        """Send a parked (failed) delivery again now; False when there is no such delivery."""
        with self.tx():
            rows = self._q("SELECT state FROM deliveries WHERE id = ?", (delivery_id,))
            if not rows or rows[0]["state"] != "failed":
                return False
            self._q(
                "UPDATE deliveries SET state = 'pending', next_at = ? WHERE id = ?",
                (time.time(), delivery_id),
            )
            return True

    def deliveries(self, webhook_id: int | None = None, limit: int = 200) -> list[dict]:
        sql, args = "SELECT * FROM deliveries", ()
        if webhook_id is not None:
            sql, args = sql + " WHERE webhook_id = ?", (webhook_id,)
        rows = self._q(sql + " ORDER BY id DESC LIMIT ?", (*args, limit))
        return [dict(r) for r in rows]
