"""Portal logins: a session cookie after a form login with the API's accounts, and the CSRF
token every POST form must carry.

Sessions live in the server's memory (a restart logs everyone out, which is acceptable for
an operator's console and keeps no secret on disk). Each request re-reads the account, so a
removed user or a changed password ends the session at once.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

from iop.server.users import User, UserStore

COOKIE = "iop_session"
LOGIN_COOKIE = "iop_login"  # double-submit token of the login form (no session exists yet)
IDLE_SECONDS = 8 * 3600
MAX_SESSIONS = 10_000
FAILED_LOGIN_DELAY = 0.5  # on top of the scrypt check: slows password guessing further


@dataclass
class Session:
    """One logged-in browser."""

    token: str
    user: str
    password_hash: str
    csrf: str
    namespace: str
    seen: float
    flashes: list[tuple[str, str]] = field(default_factory=list)  # (kind, text) to show once

    def flash(self, kind: str, text: str) -> None:
        self.flashes.append((kind, text))

    def take_flashes(self) -> list[tuple[str, str]]:
        flashes, self.flashes = self.flashes, []
        return flashes

    def csrf_ok(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf, token or "")


class Sessions:
    """The logged-in browsers of this server process."""

    def __init__(self, users: UserStore) -> None:
        self.users = users
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, user: User, namespace: str) -> Session:
        session = Session(secrets.token_urlsafe(32), user.name, user.password_hash,
                          secrets.token_urlsafe(24), namespace, time.monotonic())
        with self._lock:
            if len(self._sessions) >= MAX_SESSIONS:
                self._expire()
            self._sessions[session.token] = session
        return session

    def find(self, token: str | None) -> tuple[Session, User] | None:
        """The live session of a cookie and its (re-read) account; None when logged out."""
        if not token:
            return None
        with self._lock:
            session = self._sessions.get(token)
        if session is None:
            return None
        now = time.monotonic()
        user = self.users.get(session.user)
        if now - session.seen > IDLE_SECONDS or user is None \
                or user.password_hash != session.password_hash:
            self.close(token)
            return None
        session.seen = now
        return session, user

    def close(self, token: str | None) -> None:
        with self._lock:
            self._sessions.pop(token or "", None)

    def _expire(self) -> None:
        cutoff = time.monotonic() - IDLE_SECONDS
        for token in [t for t, s in self._sessions.items() if s.seen < cutoff]:
            del self._sessions[token]
        if len(self._sessions) >= MAX_SESSIONS:  # still full: drop the least recently seen
            oldest = sorted(self._sessions.values(), key=lambda s: s.seen)
            for session in oldest[: len(oldest) // 10 + 1]:
                del self._sessions[session.token]
