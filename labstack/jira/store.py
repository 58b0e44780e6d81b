"""Persistence for the lab's Jira: one SQLite file under the service's state directory.

Issues, comments, histories, links, remote links, webhooks and pending webhook deliveries live in
the same database, so a change and the deliveries it causes are committed together (a restart
loses neither). Documents are JSON; only what lookups need is a column.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

from helpers.runtime.home import private_file
from helpers.runtime.queue import Backoff, Queue

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
"""
#: The webhook outbox's queue in the same database; its states as the deliveries views name them.
WEBHOOK_QUEUE = "webhooks"
STATES = {"ready": "pending", "done": "delivered", "dead": "failed"}
#: Tries per delivery (about 15 minutes of retries), then it is parked as a dead letter.
MAX_ATTEMPTS = 40
#: Seconds before the first retry; doubles each attempt up to the cap.
BACKOFF = Backoff(base=0.5, factor=2.0, cap=30.0, jitter=0.1)

# First ids, so the lab's ids look like a real site's (issues 10001, comments 20000, ...).
ID_STARTS = {
    "issues": 10001,
    "comments": 20000,
    "histories": 30000,
    "links": 40000,
    "remotelinks": 50000,
    "webhooks": 1,
}


#: The largest id SQLite holds; a longer number names no row.
MAX_ROW_ID = 2**63 - 1


def row_id(ref: int | str) -> int | None:
    """The row id ``ref`` spells, or None when it is not a number SQLite can hold.

    >>> row_id("10001"), row_id("99999999999999999999"), row_id("SEC-1")
    (10001, None, None)
    """
    text = str(ref).strip()
    if not text.isascii() or not text.isdigit() or int(text) > MAX_ROW_ID:
        return None
    return int(text)


class Store:
    """A thread-safe SQLite store. Use ``with store.tx():`` around a change that spans tables."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        private_file(path)  # webhook secrets are in it
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self._lock = threading.RLock()
        self._depth = 0
        # Webhook deliveries: a queue on this connection, so a change enqueues them in its own
        # transaction. Rows hold no secret: it stays on the webhook and is used at send time.
        self.deliveries_queue = Queue(
            self._db, WEBHOOK_QUEUE, visibility=60.0, max_attempts=MAX_ATTEMPTS,
            backoff=BACKOFF, lock=self._lock,
        )  # fmt: skip
        self._adopt_old_deliveries()

    def _adopt_old_deliveries(self) -> None:
        """A database from before the queue: its pending deliveries join the queue."""
        with self._lock:
            if not self._q("SELECT 1 FROM sqlite_master WHERE name = 'deliveries'"):
                return
            with self.tx():
                for row in self._q("SELECT * FROM deliveries WHERE state = 'pending'"):
                    self.enqueue(row["webhook_id"], row["url"], row["body"])
                self._q("DROP TABLE deliveries")

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
        if text.isdigit():  # an id; one too long for a row names none
            rows = self._q("SELECT doc FROM issues WHERE id = ?", (row_id(text),))
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
        if row_id(doc_id) is None:
            return None
        rows = self._q(f"SELECT doc FROM {table} WHERE id = ?", (row_id(doc_id),))
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
        if row_id(link_id) is None:
            return None
        rows = self._q("SELECT * FROM links WHERE id = ?", (row_id(link_id),))
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
    def enqueue(self, webhook_id: int, url: str, body: str) -> None:
        """Queue one delivery (inside the caller's transaction when one is open)."""
        self.deliveries_queue.put(
            {"webhook_id": webhook_id, "url": url, "body": body}, key=str(webhook_id)
        )

    def requeue(self, delivery_id: int) -> bool:
        """Send a parked (failed) delivery again now; False when there is no such delivery."""
        return self.deliveries_queue.replay(delivery_id) > 0

    def deliveries(self, webhook_id: int | None = None, limit: int = 200) -> list[dict]:
        """Recent deliveries, newest first: id, webhook_id, url, state, attempts, last_error."""
        key = None if webhook_id is None else str(webhook_id)
        return [
            {
                "id": m.id, "webhook_id": m.body["webhook_id"], "url": m.body["url"],
                "state": STATES[m.state], "attempts": m.attempts,
                "last_error": None if m.state == "done" else (m.note or None),
            }
            for m in self.deliveries_queue.messages(limit=limit, key=key)
        ]  # fmt: skip
