"""The workspace's data: channels, messages, threads and interactions, kept in SQLite.

Reads come from memory; every change writes only the rows it touched to
``<state dir>/workspace.sqlite`` (committed before the call returns), so a restarted service
shows the same channels and messages and a busy channel costs the same per message as an empty
one. Messages are stored in Slack's own shape, so the Web API can return them as they are. A
``workspace.json`` left by an older lab is imported once.
"""

from __future__ import annotations

import copy
import json
import secrets
import sqlite3
import threading
import time
from pathlib import Path

from helpers.runtime.home import private_file

TEAM = {"id": "T0LAB0001", "name": "Security Lab", "domain": "lab"}
BOT = {"user_id": "U0LABBOT1", "bot_id": "B0LAB0001", "app_id": "A0LAB0001", "name": "secbot"}
#: People who can click buttons (the web view offers them; the click API takes a name or id).
USERS = {
    "U0LAB0001": {"id": "U0LAB0001", "name": "alice", "real_name": "Alice Analyst"},
    "U0LAB0002": {"id": "U0LAB0002", "name": "bob", "real_name": "Bob Builder"},
}
#: The security channel first (its id is the incoming webhook's), then the teams' channels
#: incidents are delegated to (helpers/detections/lookups/teams.csv).
DEFAULT_CHANNELS = ("sec-alerts", "general", "team-payments", "team-platform")
STATE_FILE = "workspace.sqlite"
LEGACY_FILE = "workspace.json"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS channels (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    channel TEXT NOT NULL, ts TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (channel, ts));
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS responses (token TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS interactions (id INTEGER PRIMARY KEY AUTOINCREMENT, doc TEXT NOT NULL);
"""
#: The viewer that sees every message, ephemeral ones included (the web view).
EVERYONE = "*"


class Store:
    """Channels and messages of one workspace, persisted under ``state_dir``."""

    def __init__(self, state_dir: Path, channels: tuple[str, ...] = DEFAULT_CHANNELS):
        self.path = Path(state_dir) / STATE_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        private_file(self.path)  # response_url tokens and private messages are in it
        self.lock = threading.RLock()
        self._last_ts = 0.0
        self._epoch = secrets.token_hex(4)  # a restart changes every channel's revision
        self._revisions: dict[str, int] = {}
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self.data = self._load()
        legacy = Path(state_dir) / LEGACY_FILE
        if legacy.exists() and not self.data["channels"]:
            self._import(json.loads(legacy.read_text()))
            legacy.rename(legacy.with_suffix(".json.imported"))
        with self.lock:
            for name in channels:
                if self.channel(name) is None:
                    self.create_channel(name)

    # -- persistence ---------------------------------------------------------------------------
    def _load(self) -> dict:
        data: dict = {"channels": {}, "messages": {}, "request_url": None, "commands": {},
                      "responses": {}, "interactions": []}  # fmt: skip
        for cid, doc in self._db.execute("SELECT id, doc FROM channels ORDER BY rowid"):
            data["channels"][cid] = json.loads(doc)
            data["messages"][cid] = []
        for cid, doc in self._db.execute("SELECT channel, doc FROM messages ORDER BY ts"):
            data["messages"].setdefault(cid, []).append(json.loads(doc))
        row = self._db.execute("SELECT value FROM settings WHERE key = 'request_url'").fetchone()
        data["request_url"] = json.loads(row[0]) if row else None
        row = self._db.execute("SELECT value FROM settings WHERE key = 'commands'").fetchone()
        data["commands"] = json.loads(row[0]) if row else None
        for token, doc in self._db.execute("SELECT token, doc FROM responses"):
            data["responses"][token] = json.loads(doc)
        data["interactions"] = [
            json.loads(doc)
            for (doc,) in self._db.execute("SELECT doc FROM interactions ORDER BY id")
        ]
        return data

    def _import(self, legacy: dict) -> None:
        with self.lock:
            self.data = legacy
            for channel in legacy.get("channels", {}).values():
                self._put_channel(channel)
            for cid, messages in legacy.get("messages", {}).items():
                for message in messages:
                    self._put_message(cid, message)
            self.set_request_url(legacy.get("request_url"))
            for token, target in legacy.get("responses", {}).items():
                self._db.execute("INSERT OR REPLACE INTO responses VALUES (?, ?)",
                                 (token, json.dumps(target)))  # fmt: skip
            for record in legacy.get("interactions", []):
                self._db.execute("INSERT INTO interactions (doc) VALUES (?)", (json.dumps(record),))

    def _put_channel(self, channel: dict) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO channels VALUES (?, ?)", (channel["id"], json.dumps(channel))
        )

    def _put_message(self, channel_id: str, message: dict) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO messages VALUES (?, ?, ?)",
            (channel_id, message["ts"], json.dumps(message)),
        )

    def _changed(self, channel_id: str) -> None:
        self._revisions[channel_id] = self._revisions.get(channel_id, 0) + 1

    def revision(self, channel_id: str) -> str:
        """Changes whenever the channel's messages or interactions change (the view polls it)."""
        return f"{self._epoch}-{self._revisions.get(channel_id, 0)}"

    def next_ts(self) -> str:
        """A message timestamp in Slack's ``seconds.micros`` form, unique and increasing."""
        with self.lock:
            last = max(self._last_ts, self._latest_stored_ts())
            now = max(time.time(), last + 0.000001)
            self._last_ts = now
            return f"{now:.6f}"

    def _latest_stored_ts(self) -> float:
        latest = [float(m["ts"]) for msgs in self.data["messages"].values() for m in msgs[-1:]]
        return max(latest, default=0.0)

    # -- channels ------------------------------------------------------------------------------
    def channels(self) -> list[dict]:
        return [copy.deepcopy(c) for c in self.data["channels"].values()]

    def channel(self, ref: str | None) -> dict | None:
        """A channel by id (``C0LAB00001``), ``#name`` or ``name``; None when unknown."""
        if not ref:
            return None
        ref = str(ref)
        if ref in self.data["channels"]:
            return self.data["channels"][ref]
        name = ref.removeprefix("#")
        return next((c for c in self.data["channels"].values() if c["name"] == name), None)

    def create_channel(self, name: str) -> dict:
        with self.lock:
            name = name.removeprefix("#")
            existing = self.channel(name)
            if existing:
                return existing
            channel = {
                "id": f"C0LAB{len(self.data['channels']) + 1:05d}",
                "name": name,
                "is_channel": True,
                "is_archived": False,
                "created": int(time.time()),
            }
            self.data["channels"][channel["id"]] = channel
            self.data["messages"][channel["id"]] = []
            self._put_channel(channel)
            return channel

    # -- messages ------------------------------------------------------------------------------
    def _messages(self, channel_id: str) -> list[dict]:
        return self.data["messages"].setdefault(channel_id, [])

    def find(self, channel_id: str, ts: str) -> dict | None:
        return next((m for m in self._messages(channel_id) if m["ts"] == ts), None)

    def post(self, channel_id: str, message: dict, thread_ts: str | None = None) -> dict:
        """Store a message (``text``, ``blocks``... plus author fields) and return it."""
        with self.lock:
            message = {k: v for k, v in message.items() if v is not None}
            message.update(type="message", ts=self.next_ts(), team=TEAM["id"])
            if thread_ts:
                parent = self.find(channel_id, thread_ts)
                if parent.get("thread_ts", parent["ts"]) != parent["ts"]:  # a reply: use its root
                    parent = self.find(channel_id, parent["thread_ts"])
                parent.setdefault("thread_ts", parent["ts"])
                message["thread_ts"] = parent["ts"]
                message["parent_user_id"] = parent.get("user", parent.get("bot_id"))
                author = message.get("user", message.get("bot_id"))
                users = parent.setdefault("reply_users", [])
                if author not in users:
                    users.append(author)
                parent["reply_users_count"] = len(users)
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                parent["latest_reply"] = message["ts"]
            self._messages(channel_id).append(message)
            self._db.execute("BEGIN")
            if thread_ts:
                self._put_message(channel_id, parent)
            self._put_message(channel_id, message)
            self._db.execute("COMMIT")
            self._changed(channel_id)
            return copy.deepcopy(message)

    def update(
        self, channel_id: str, ts: str, changes: dict, editor: str, replace: bool = False
    ) -> dict | None:
        """Edit a message: ``changes`` set (None keeps a field, or drops it when ``replace``)."""
        with self.lock:
            message = self.find(channel_id, ts)
            if message is None:
                return None
            for key, value in changes.items():
                if value is not None:
                    message[key] = value
                elif replace:
                    message.pop(key, None)
            message["edited"] = {"user": editor, "ts": self.next_ts()}
            self._put_message(channel_id, message)
            self._changed(channel_id)
            return copy.deepcopy(message)

    def delete(self, channel_id: str, ts: str) -> bool:
        with self.lock:
            messages = self._messages(channel_id)
            kept = [m for m in messages if m["ts"] != ts]
            if len(kept) == len(messages):
                return False
            messages[:] = kept
            self._db.execute("DELETE FROM messages WHERE channel = ? AND ts = ?", (channel_id, ts))
            self._changed(channel_id)
            return True

    def history(self, channel_id: str, viewer: str | None = None) -> list[dict]:
        """Top-level messages, newest first (thread replies stay in their thread)."""
        return [
            copy.deepcopy(m)
            for m in reversed(self._messages(channel_id))
            if m.get("thread_ts", m["ts"]) == m["ts"] and _visible(m, viewer)
        ]

    def replies(self, channel_id: str, ts: str, viewer: str | None = None) -> list[dict]:
        """The thread's parent, then its replies, oldest first."""
        return [
            copy.deepcopy(m)
            for m in self._messages(channel_id)
            if (m["ts"] == ts or m.get("thread_ts") == ts) and _visible(m, viewer)
        ]

    # -- interactivity -------------------------------------------------------------------------
    @property
    def request_url(self) -> str | None:
        return self.data.get("request_url")

    def set_request_url(self, url: str | None) -> None:
        with self.lock:
            self.data["request_url"] = url
            self._db.execute(
                "INSERT OR REPLACE INTO settings VALUES ('request_url', ?)", (json.dumps(url),)
            )

    @property
    def commands(self) -> dict[str, str] | None:
        """The app's slash commands (``/name`` -> Request URL); None when never configured."""
        commands = self.data.get("commands")
        return None if commands is None else dict(commands)

    def set_commands(self, commands: dict[str, str] | None) -> None:
        with self.lock:
            self.data["commands"] = None if commands is None else dict(commands)
            self._db.execute(
                "INSERT OR REPLACE INTO settings VALUES ('commands', ?)", (json.dumps(commands),)
            )

    def add_response_url(self, token: str, channel_id: str, ts: str | None, user_id: str) -> None:
        with self.lock:
            target = {"channel": channel_id, "ts": ts, "user": user_id}
            self.data["responses"][token] = target
            self._db.execute(
                "INSERT OR REPLACE INTO responses VALUES (?, ?)", (token, json.dumps(target))
            )

    def response_target(self, token: str) -> dict | None:
        return self.data["responses"].get(token)

    def record_interaction(self, record: dict) -> None:
        with self.lock:
            self.data["interactions"].append(record)
            self._changed(record["channel"])
            self._db.execute("INSERT INTO interactions (doc) VALUES (?)", (json.dumps(record),))

    def interactions(self, channel_id: str | None = None) -> list[dict]:
        return [
            dict(i)
            for i in self.data["interactions"]
            if channel_id is None or i["channel"] == channel_id
        ]


def _visible(message: dict, viewer: str | None) -> bool:
    """Ephemeral messages (``response_url`` answers) are seen by their user only (``*``: all)."""
    to = message.get("ephemeral_to")
    return to is None or viewer in (to, EVERYONE)
