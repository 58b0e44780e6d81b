"""The automation server's memory: incidents, their timelines, actions and pending notes.

One SQLite file. Every step of an incident is one transaction that changes its state, appends a
timeline entry and queues the *notes* it owes the ticket and the Slack thread (an outbox per
incident). Workers send pending notes in order and mark each sent, so a crash anywhere resumes
without losing a note or repeating a step.

>>> import pathlib, tempfile
>>> from helpers.incident import Incident
>>> store = Store(pathlib.Path(tempfile.mkdtemp()) / "automation.sqlite")
>>> incident = Incident("cloudtrail-logging-stopped", "lab-trail", "123456789012")
>>> store.receive(incident, sid="rt_1").new
True
>>> store.receive(incident, sid="rt_1").new_evidence   # the same alert again
False
>>> store.get(incident.dedup_key)["state"]
'received'
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers.automation.lifecycle import FINAL, LifecycleError, can_move
from helpers.incident import Incident

__all__ = ["Received", "Store"]

#: Evidence rows kept per incident (the newest); the ticket has every "seen again" comment.
MAX_EVIDENCE = 20

#: How long the store remembers an alert's ``sid``, so that a repeat of it adds nothing: a week,
#: beyond any retry of Splunk's webhook outbox and the dead-letter replays of a workshop.
SIGHTINGS_KEPT = 7 * 86400

_SCHEMA = """
CREATE TABLE IF NOT EXISTS incidents (
    dedup_key TEXT PRIMARY KEY,
    detection TEXT NOT NULL, resource TEXT NOT NULL, account TEXT NOT NULL,
    severity TEXT NOT NULL, state TEXT NOT NULL, ticket TEXT, ticket_url TEXT,
    slack_channel TEXT, slack_ts TEXT, playbook TEXT, incident TEXT NOT NULL,
    seen INTEGER NOT NULL DEFAULT 1, created REAL NOT NULL, updated REAL NOT NULL);
CREATE INDEX IF NOT EXISTS incidents_ticket ON incidents (ticket);
CREATE TABLE IF NOT EXISTS sightings (
    sid TEXT NOT NULL, dedup_key TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (sid, dedup_key));
CREATE TABLE IF NOT EXISTS timeline (
    id INTEGER PRIMARY KEY AUTOINCREMENT, dedup_key TEXT NOT NULL, at REAL NOT NULL,
    state TEXT NOT NULL, step TEXT NOT NULL, text TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS timeline_key ON timeline (dedup_key, id);
CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, dedup_key TEXT NOT NULL, target TEXT NOT NULL,
    text TEXT NOT NULL, data TEXT NOT NULL, sent REAL);
CREATE INDEX IF NOT EXISTS notes_pending ON notes (dedup_key, sent, id);
CREATE TABLE IF NOT EXISTS actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, dedup_key TEXT NOT NULL, playbook TEXT NOT NULL,
    mode TEXT NOT NULL, status TEXT NOT NULL, verified INTEGER, plan TEXT NOT NULL,
    result TEXT NOT NULL, rollback TEXT NOT NULL, approved_by TEXT, created REAL NOT NULL,
    updated REAL NOT NULL);
CREATE INDEX IF NOT EXISTS actions_key ON actions (dedup_key, id);
CREATE TABLE IF NOT EXISTS replays (signature TEXT PRIMARY KEY, at REAL NOT NULL);
"""


@dataclass(frozen=True)
class Received:
    """What :meth:`Store.receive` did: a new incident, new evidence, a reopened incident."""

    dedup_key: str
    new: bool
    new_evidence: bool
    reopened: bool
    state: str


class Store:
    """Thread-safe; several worker threads share one instance (one connection, one lock)."""

    def __init__(self, path: str | Path, clock=time.time):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.clock = clock
        self._db = sqlite3.connect(
            str(path), check_same_thread=False, isolation_level=None, timeout=30.0
        )
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # as the inbox: safe when the process dies
        self._lock = threading.RLock()
        with self._lock:
            self._db.executescript(_SCHEMA)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._db.in_transaction:
                yield self._db
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- incidents ---------------------------------------------------------------------------------
    def receive(self, incident: Incident, sid: str = "") -> Received:
        """Record an alert's incident: create it, or add the new evidence to the existing one.

        The same alert (same ``sid``) for the same key adds nothing. A finished incident that
        fires again is reopened (state ``ticketed`` when it has a ticket, else ``received``).
        """
        key, now = incident.dedup_key, self.clock()
        with self._tx() as db:
            if sid:
                seen = db.execute(
                    "INSERT OR IGNORE INTO sightings VALUES (?, ?, ?)", (sid, key, now)
                ).rowcount
                if not seen:
                    state = self._state(key) or "received"
                    return Received(key, False, False, False, state)
            row = db.execute("SELECT * FROM incidents WHERE dedup_key = ?", (key,)).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO incidents (dedup_key, detection, resource, account, severity, "
                    "state, playbook, incident, created, updated) "
                    "VALUES (?, ?, ?, ?, ?, 'received', ?, ?, ?, ?)",
                    (
                        key,
                        incident.detection,
                        incident.resource,
                        incident.account,
                        incident.severity.value,
                        incident.playbook,
                        json.dumps(incident.as_dict(), default=str),
                        now,
                        now,
                    ),
                )
                self._step(
                    key,
                    "received",
                    "received",
                    f"Alert received: {incident.summary}",
                    {"sid": sid, "evidence": incident.evidence[-1:]},
                )
                return Received(key, True, True, False, "received")
            stored = Incident.from_dict(json.loads(row["incident"]))
            stored.evidence = (stored.evidence + incident.evidence)[-MAX_EVIDENCE:]
            if incident.severity.rank > stored.severity.rank:
                stored.severity = incident.severity
            state, reopened = row["state"], row["state"] in FINAL
            if reopened:
                state = "ticketed" if row["ticket"] else "received"
            db.execute(
                "UPDATE incidents SET incident = ?, severity = ?, seen = seen + 1, state = ?, "
                "updated = ? WHERE dedup_key = ?",
                (json.dumps(stored.as_dict(), default=str), stored.severity.value, state, now, key),
            )
            text = "Seen again" + (f" (reopened; it was {row['state']})" if reopened else "")
            self._step(
                key, state, "seen-again", text, {"sid": sid, "evidence": incident.evidence[-1:]}
            )
            if row["ticket"]:
                reopen = {"state": state} if reopened else {}
                self._note(key, "jira", _seen_again_text(incident, reopened), reopen)
            if row["slack_ts"]:
                self._note(key, "slack", f"Seen again: {incident.summary}", {})
            return Received(key, False, True, reopened, state)

    def prune_sightings(self, older_than: float = SIGHTINGS_KEPT) -> int:
        """Forget which alerts (by Splunk ``sid``) were seen more than ``older_than`` seconds
        ago; returns how many. An alert delivered again after that (a replayed dead letter of
        last month) counts as a new sighting of its incident, which is then only seen again."""
        with self._tx() as db:
            return db.execute(
                "DELETE FROM sightings WHERE at < ?", (self.clock() - older_than,)
            ).rowcount

    def _state(self, key: str) -> str | None:
        row = self._db.execute("SELECT state FROM incidents WHERE dedup_key = ?", (key,))
        found = row.fetchone()
        return found["state"] if found else None

    def get(self, key: str) -> dict | None:
        """One incident with its timeline, actions and pending notes, or None."""
        with self._lock:
            row = self._db.execute("SELECT * FROM incidents WHERE dedup_key = ?", (key,))
            found = row.fetchone()
            if found is None:
                return None
            data = _incident_row(found)
            data["timeline"] = [
                _timeline_row(r)
                for r in self._db.execute(
                    "SELECT * FROM timeline WHERE dedup_key = ? ORDER BY id", (key,)
                )
            ]
            data["actions"] = [
                _action_row(r)
                for r in self._db.execute(
                    "SELECT * FROM actions WHERE dedup_key = ? ORDER BY id", (key,)
                )
            ]
            data["pending_notes"] = self._db.execute(
                "SELECT count(*) FROM notes WHERE dedup_key = ? AND sent IS NULL", (key,)
            ).fetchone()[0]
        return data

    def incident(self, key: str) -> Incident:
        """The stored :class:`Incident` (its evidence and enrichment included)."""
        with self._lock:
            row = self._db.execute("SELECT incident FROM incidents WHERE dedup_key = ?", (key,))
            found = row.fetchone()
        if found is None:
            raise KeyError(f"no incident {key!r}")
        return Incident.from_dict(json.loads(found["incident"]))

    def list(self, *, state: str | None = None, limit: int = 200) -> list[dict]:
        """Incidents, most recently updated first."""
        sql, params = "SELECT * FROM incidents", ()
        if state:
            sql, params = sql + " WHERE state = ?", (state,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY updated DESC LIMIT ?", (*params, limit))
            return [_incident_row(r) for r in rows.fetchall()]

    def by_ticket(self, ticket: str) -> str | None:
        """The dedup key of the incident whose ticket is ``ticket``."""
        with self._lock:
            row = self._db.execute(
                "SELECT dedup_key FROM incidents WHERE ticket = ?", (ticket,)
            ).fetchone()
        return row["dedup_key"] if row else None

    def set_ticket(self, key: str, ticket: str, url: str, created: bool) -> None:
        """Record the ticket and move ``received -> ticketed``."""
        with self._tx() as db:
            db.execute(
                "UPDATE incidents SET ticket = ?, ticket_url = ?, updated = ? WHERE dedup_key = ?",
                (ticket, url, self.clock(), key),
            )
            verb = "opened" if created else "found (opened earlier)"
            self.move(
                key,
                "ticketed",
                f"Ticket {ticket} {verb}",
                {"ticket": ticket, "url": url},
                notes=False,
            )

    def set_thread(self, key: str, channel: str, ts: str) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE incidents SET slack_channel = ?, slack_ts = ?, updated = ? "
                "WHERE dedup_key = ?",
                (channel, ts, self.clock(), key),
            )
            self._step(
                key,
                self._state(key),
                "slack-thread",
                f"Slack thread {ts} in {channel}",
                {"channel": channel, "ts": ts},
            )

    def update_incident(self, incident: Incident) -> None:
        """Store changed incident facts (enrichment)."""
        with self._tx() as db:
            db.execute(
                "UPDATE incidents SET incident = ?, updated = ? WHERE dedup_key = ?",
                (json.dumps(incident.as_dict(), default=str), self.clock(), incident.dedup_key),
            )

    # -- steps -------------------------------------------------------------------------------------
    def move(
        self,
        key: str,
        state: str,
        text: str,
        data: dict | None = None,
        *,
        notes: bool = True,
        jira_text: str | None = None,
    ) -> None:
        """Move an incident to ``state``, record the step and queue its notes (ticket, thread)."""
        with self._tx() as db:
            current = self._state(key)
            if current is None:
                raise KeyError(f"no incident {key!r}")
            if current != state and not can_move(current, state):
                raise LifecycleError(f"{key}: cannot move from {current} to {state}")
            db.execute(
                "UPDATE incidents SET state = ?, updated = ? WHERE dedup_key = ?",
                (state, self.clock(), key),
            )
            self._step(key, state, state, text, data or {})
            if notes:
                self._note(key, "jira", jira_text or text, {"state": state})
                self._note(key, "slack", text, {"state": state})

    def record(self, key: str, step: str, text: str, data: dict | None = None,
               *, notes: bool = True) -> None:  # fmt: skip
        """Record a step that does not change the state (an enrichment failure, a retry)."""
        with self._tx():
            self._step(key, self._state(key), step, text, data or {})
            if notes:
                self._note(key, "jira", text, {})
                self._note(key, "slack", text, {})

    def ask_approval(self, key: str, action: str, reason: str) -> None:
        """Queue the approval request (buttons in the thread) and say why on the ticket."""
        with self._tx():
            self._step(
                key,
                self._state(key),
                "approval-requested",
                f"Approval requested: {action}",
                {"reason": reason},
            )
            self._note(key, "slack", reason, {"approval": action})

    def _step(self, key: str, state: str | None, step: str, text: str, data: dict) -> None:
        self._db.execute(
            "INSERT INTO timeline (dedup_key, at, state, step, text, data) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (key, self.clock(), state or "", step, text, json.dumps(data, default=str)),
        )

    def _note(self, key: str, target: str, text: str, data: dict) -> None:
        self._db.execute(
            "INSERT INTO notes (dedup_key, target, text, data) VALUES (?, ?, ?, ?)",
            (key, target, text, json.dumps(data, default=str)),
        )

    def pending_notes(self, key: str, target: str) -> list[dict]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, text, data FROM notes WHERE dedup_key = ? AND target = ? "
                "AND sent IS NULL ORDER BY id",
                (key, target),
            ).fetchall()
        return [{"id": r["id"], "text": r["text"], "data": json.loads(r["data"])} for r in rows]

    def note_sent(self, note_id: int) -> None:
        with self._tx() as db:
            db.execute("UPDATE notes SET sent = ? WHERE id = ?", (self.clock(), note_id))

    # -- actions -----------------------------------------------------------------------------------
    def add_action(self, key: str, playbook: str, mode: str, plan: dict) -> int:
        now = self.clock()
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO actions (dedup_key, playbook, mode, status, plan, result, rollback, "
                "created, updated) VALUES (?, ?, ?, 'planned', ?, '{}', '{}', ?, ?)",
                (key, playbook, mode, json.dumps(plan, default=str), now, now),
            )
            return cur.lastrowid

    def update_action(self, action_id: int, **changes: Any) -> None:
        allowed = {"mode", "status", "verified", "result", "rollback", "approved_by", "plan"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"unknown action fields: {', '.join(sorted(unknown))}")
        values = {
            k: json.dumps(v, default=str) if k in ("result", "rollback", "plan") else v
            for k, v in changes.items()
        }
        if "verified" in values and values["verified"] is not None:
            values["verified"] = int(bool(values["verified"]))
        sets = ", ".join(f"{k} = ?" for k in values)
        with self._tx() as db:
            db.execute(
                f"UPDATE actions SET {sets}, updated = ? WHERE id = ?",
                (*values.values(), self.clock(), action_id),
            )

    def last_action(self, key: str) -> dict | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM actions WHERE dedup_key = ? ORDER BY id DESC LIMIT 1", (key,)
            ).fetchone()
        return _action_row(row) if row else None

    def actions_since(self, playbook: str, since: float) -> int:
        """How many actions of ``playbook`` were applied since ``since`` (for rate limits)."""
        with self._lock:
            return self._db.execute(
                "SELECT count(*) FROM actions WHERE playbook = ? AND status IN "
                "('applied', 'verified', 'failed') AND updated >= ?",
                (playbook, since),
            ).fetchone()[0]

    # -- replay protection for signed requests -----------------------------------------------------
    def first_use(self, signature: str, keep: float = 600.0) -> bool:
        """True the first time a request signature is seen (within ``keep`` seconds)."""
        now = self.clock()
        with self._tx() as db:
            db.execute("DELETE FROM replays WHERE at < ?", (now - keep,))
            return (
                db.execute("INSERT OR IGNORE INTO replays VALUES (?, ?)", (signature, now)).rowcount
                == 1
            )

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT state, count(*) FROM incidents GROUP BY state")
            return {r[0]: r[1] for r in rows.fetchall()}


def _seen_again_text(incident: Incident, reopened: bool) -> str:
    evidence = incident.evidence[-1] if incident.evidence else {}
    facts = ", ".join(
        f"{k}: {v}"
        for k, v in (
            ("actor", incident.actor),
            ("source IP", incident.source_ip),
            ("event time", incident.event_time),
            ("event", evidence.get("eventName")),
        )
        if v
    )
    head = "The detection fired again" + (" and the incident is reopened" if reopened else "")
    body = json.dumps(evidence, indent=2, default=str)[:20_000]
    return f"{head} ({facts}).\n\nh3. New evidence\n{{code:json}}\n{body}\n{{code}}"


def _incident_row(row: sqlite3.Row) -> dict:
    incident = json.loads(row["incident"])
    return {
        "dedup_key": row["dedup_key"],
        "detection": row["detection"],
        "resource": row["resource"],
        "account": row["account"],
        "severity": row["severity"],
        "state": row["state"],
        "ticket": row["ticket"],
        "ticket_url": row["ticket_url"],
        "slack": {"channel": row["slack_channel"], "ts": row["slack_ts"]}
        if row["slack_ts"]
        else None,
        "playbook": row["playbook"] or None,
        "title": incident.get("title"),
        "actor": incident.get("actor"),
        "source_ip": incident.get("source_ip"),
        "region": incident.get("region"),
        "event_time": incident.get("event_time"),
        "enrichment": incident.get("enrichment") or {},
        "seen": row["seen"],
        "created": row["created"],
        "updated": row["updated"],
    }


def _timeline_row(row: sqlite3.Row) -> dict:
    return {
        "at": row["at"],
        "state": row["state"],
        "step": row["step"],
        "text": row["text"],
        "data": json.loads(row["data"]),
    }


def _action_row(row: sqlite3.Row) -> dict:
    verified = row["verified"]
    return {
        "id": row["id"],
        "playbook": row["playbook"],
        "mode": row["mode"],
        "status": row["status"],
        "verified": None if verified is None else bool(verified),
        "plan": json.loads(row["plan"]),
        "result": json.loads(row["result"]),
        "rollback": json.loads(row["rollback"]),
        "approved_by": row["approved_by"],
        "created": row["created"],
        "updated": row["updated"],
    }
