"""Who may call splunkd: the admin password, session keys, and an authentication token.

splunklib authenticates in four ways (wire spec 1.1): ``Authorization: Splunk <session key or
token>``, ``Authorization: Bearer <token>``, ``Authorization: Basic <user:password>`` and the
``splunkd_<port>`` cookie. All four are accepted; anything else is a 401.

>>> auth = Auth("admin", "pw", token="tok")
>>> auth.user_for({"HTTP_AUTHORIZATION": "Bearer tok"})
'admin'
>>> auth.user_for({"HTTP_AUTHORIZATION": "Bearer nope"}) is None
True
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import secrets
import threading
import time
from http.cookies import SimpleCookie
from pathlib import Path

from helpers.runtime.home import write_private

#: How long an unused session key stays valid (Splunk's default sessionTimeout is 1h).
SESSION_TIMEOUT = 3600.0


#: Roles a user may be given (splunkd's built-in ones).
ROLES = ("admin", "can_delete", "power", "sc_admin", "splunk-system-role", "user")
#: PBKDF2 rounds for stored passwords of users made through the API.
PBKDF2_ROUNDS = 200_000


def _digest(password: str, salt: bytes) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, PBKDF2_ROUNDS).hex()


class Auth:
    """The admin (from the settings) and the users made through ``authentication/users``
    (kept in ``users_file`` with salted password hashes); sessions map to their user."""

    def __init__(self, username: str, password: str, token: str | None = None, users_file=None):
        self.username = username
        self._password = password
        self._token = token or None
        self._sessions: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self.session_timeout = SESSION_TIMEOUT
        self._users_file = Path(users_file) if users_file is not None else None
        self._users: dict[str, dict] = {}
        if self._users_file is not None and self._users_file.exists():
            with contextlib.suppress(ValueError):
                self._users = json.loads(self._users_file.read_text())

    # -- users ---------------------------------------------------------------------------------
    def users(self) -> dict[str, dict]:
        """``name -> {"roles": [...], "realname", "email", "defaultApp"}``, the admin first."""
        admin = {"roles": ["admin"], "realname": "Administrator", "email": "",
                 "defaultApp": "launcher"}  # fmt: skip
        with self._lock:
            others = {n: {k: v for k, v in u.items() if k not in ("salt", "hash")}
                      for n, u in sorted(self._users.items())}  # fmt: skip
        return {self.username: admin, **others}

    def add_user(self, name: str, password: str, roles: list[str], **details: str) -> None:
        """A new user; ValueError when the name is taken or a role is unknown."""
        unknown = [r for r in roles if r not in ROLES]
        if unknown:
            raise ValueError(f"Role={unknown[0]} is not grantable")
        salt = secrets.token_bytes(16)
        with self._lock:
            if name == self.username or name in self._users:
                raise KeyError(name)
            self._users[name] = {"salt": salt.hex(), "hash": _digest(password, salt),
                                 "roles": list(roles), **details}  # fmt: skip
            self._save()

    def remove_user(self, name: str) -> bool:
        with self._lock:
            if self._users.pop(name, None) is None:
                return False
            self._sessions = {k: v for k, v in self._sessions.items() if v[0] != name}
            self._save()
        return True

    def _save(self) -> None:
        if self._users_file is not None:
            write_private(self._users_file, json.dumps(self._users, indent=1, sort_keys=True))

    def _password_ok(self, username: str, password: str) -> bool:
        if hmac.compare_digest(username.encode(), self.username.encode()):
            return hmac.compare_digest(password.encode(), self._password.encode())
        with self._lock:
            user = self._users.get(username)
        if user is None:
            return False
        return hmac.compare_digest(_digest(password, bytes.fromhex(user["salt"])), user["hash"])

    # -- sessions ------------------------------------------------------------------------------
    def login(self, username: str, password: str) -> str | None:
        """A new session key, or None when the credentials are wrong."""
        if not self._password_ok(username, password):
            return None
        key = secrets.token_urlsafe(32)
        with self._lock:
            self._sessions[key] = (username, time.monotonic())
        return key

    def logout(self, key: str) -> None:
        with self._lock:
            self._sessions.pop(key, None)

    def end_sessions(self) -> None:
        """Forget every session key (what a restart does); tokens and passwords still work."""
        with self._lock:
            self._sessions.clear()

    def _session_user(self, key: str) -> str | None:
        now = time.monotonic()
        with self._lock:
            found = self._sessions.get(key)
            if found is None:
                return None
            user, seen = found
            if now - seen > self.session_timeout:
                del self._sessions[key]
                return None
            self._sessions[key] = (user, now)
            return user

    def _token_ok(self, value: str) -> bool:
        return self._token is not None and hmac.compare_digest(value.encode(), self._token.encode())

    def user_for(self, environ: dict) -> str | None:
        """The authenticated user of a request, or None."""
        header = environ.get("HTTP_AUTHORIZATION", "").strip()
        scheme, _, value = header.partition(" ")
        value = value.strip()
        scheme = scheme.lower()
        if scheme in ("splunk", "bearer") and value:
            if self._token_ok(value):
                return self.username
            return self._session_user(value)
        if scheme == "basic" and value:
            try:
                user, _, password = base64.b64decode(value).decode("utf-8").partition(":")
            except ValueError:
                return None
            return user if self._password_ok(user, password) else None
        if not header and environ.get("HTTP_COOKIE"):
            cookie = SimpleCookie()
            try:
                cookie.load(environ["HTTP_COOKIE"])
            except Exception:
                return None
            for name, morsel in cookie.items():
                user = self._session_user(morsel.value) if name.startswith("splunkd_") else None
                if user is not None:
                    return user
        return None
