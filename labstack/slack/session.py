"""Who is using the web view, and proof that a form was sent from its own page.

The lab has no passwords: the view's user switch (``?as=bob``) logs the browser in as that person
by setting a signed, ``HttpOnly``, ``SameSite=Strict`` session cookie. Every form the view draws
(buttons, the message box) carries a CSRF token derived from that session and the channel, so a
POST acts only as the session's user, only from a page of that channel, and only when it came
from this origin (``Origin``/``Sec-Fetch-Site`` are checked when the browser sends them).

The key is derived from the signing secret, so sessions survive a restart and nobody without the
secret can mint a cookie or a token.

>>> sessions = Sessions("signing-secret")
>>> cookie = sessions.issue("U0LAB0002")
>>> session = sessions.read(cookie)
>>> session.user_id
'U0LAB0002'
>>> token = sessions.csrf(session, "C0LAB00001")
>>> sessions.check_csrf(session, "C0LAB00001", token), sessions.check_csrf(session, "C2", token)
(True, False)
>>> sessions.read(cookie.replace("U0LAB0002", "U0LAB0001")) is None  # forged user
True
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

COOKIE = "lab_slack_session"


@dataclass(frozen=True)
class Session:
    user_id: str
    nonce: str


class Sessions:
    """Signed session cookies and the CSRF tokens tied to them."""

    def __init__(self, secret: str):
        self.key = hmac.new(secret.encode(), b"labstack.slack web view", hashlib.sha256).digest()

    def _mac(self, purpose: str, *parts: str) -> str:
        message = "\n".join((purpose, *parts)).encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()

    def issue(self, user_id: str) -> str:
        """A new session cookie value for ``user_id``."""
        nonce = secrets.token_urlsafe(18)
        return f"{user_id}.{nonce}.{self._mac('session', user_id, nonce)}"

    def read(self, cookie: str | None) -> Session | None:
        """The session a cookie proves, or None when it is missing or forged."""
        parts = (cookie or "").split(".")
        if len(parts) != 3:
            return None
        user_id, nonce, mac = parts
        if not hmac.compare_digest(mac.encode(), self._mac("session", user_id, nonce).encode()):
            return None
        return Session(user_id, nonce)

    def csrf(self, session: Session, channel_id: str) -> str:
        """The token the forms of ``channel_id``'s page carry for this session."""
        return self._mac("csrf", session.user_id, session.nonce, channel_id)

    def check_csrf(self, session: Session, channel_id: str, token: str | None) -> bool:
        expected = self.csrf(session, channel_id)
        return bool(token) and hmac.compare_digest(str(token).encode(), expected.encode())
