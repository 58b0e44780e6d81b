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
import hmac
import secrets
import threading
import time
from http.cookies import SimpleCookie

#: How long an unused session key stays valid (Splunk's default sessionTimeout is 1h).
SESSION_TIMEOUT = 3600.0


class Auth:
    def __init__(self, username: str, password: str, token: str | None = None):
        self.username = username
        self._password = password
        self._token = token or None
        self._sessions: dict[str, float] = {}
        self._lock = threading.Lock()
        self.session_timeout = SESSION_TIMEOUT

    def login(self, username: str, password: str) -> str | None:
        """A new session key, or None when the credentials are wrong."""
        if not (
            hmac.compare_digest(username.encode(), self.username.encode())
            and hmac.compare_digest(password.encode(), self._password.encode())
        ):
            return None
        key = secrets.token_urlsafe(32)
        with self._lock:
            self._sessions[key] = time.monotonic()
        return key

    def logout(self, key: str) -> None:
        with self._lock:
            self._sessions.pop(key, None)

    def end_sessions(self) -> None:
        """Forget every session key (what a restart does); tokens and passwords still work."""
        with self._lock:
            self._sessions.clear()

    def _session_ok(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            seen = self._sessions.get(key)
            if seen is None:
                return False
            if now - seen > self.session_timeout:
                del self._sessions[key]
                return False
            self._sessions[key] = now
            return True

    def _token_ok(self, value: str) -> bool:
        return self._token is not None and hmac.compare_digest(value.encode(), self._token.encode())

    def user_for(self, environ: dict) -> str | None:
        """The authenticated user of a request, or None."""
        header = environ.get("HTTP_AUTHORIZATION", "").strip()
        scheme, _, value = header.partition(" ")
        value = value.strip()
        scheme = scheme.lower()
        if scheme == "splunk" and value and (self._session_ok(value) or self._token_ok(value)):
            return self.username
        if scheme == "bearer" and value and (self._token_ok(value) or self._session_ok(value)):
            return self.username
        if scheme == "basic" and value:
            try:
                user, _, password = base64.b64decode(value).decode("utf-8").partition(":")
            except ValueError:
                return None
            if hmac.compare_digest(user.encode(), self.username.encode()) and hmac.compare_digest(
                password.encode(), self._password.encode()
            ):
                return self.username
            return None
        if not header and environ.get("HTTP_COOKIE"):
            cookie = SimpleCookie()
            try:
                cookie.load(environ["HTTP_COOKIE"])
            except Exception:
                return None
            for name, morsel in cookie.items():
                if name.startswith("splunkd_") and self._session_ok(morsel.value):
                    return self.username
        return None
