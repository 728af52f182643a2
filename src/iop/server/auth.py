"""Who is calling: HTTP Basic credentials checked against the server's users.

The portal reuses ``Authenticator.login`` for its login form and ``require_namespace`` for
its pages, so the API and the portal grant exactly the same access. Passwords are checked in
a bounded pool (password_pool.py) under the failed-login limits (login_limits.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
import time

from iop.errors import RequestRefused
from iop.server.login_limits import LoginLimits
from iop.server.password_pool import HashPool
from iop.server.users import User, UserStore, verify_account

REALM = 'Basic realm="iop"'
_CACHE_SECONDS = 60.0
_CACHE_SIZE = 1024


class Unauthorized(RequestRefused):
    """Missing, malformed or wrong credentials (HTTP 401)."""


class Forbidden(RequestRefused):
    """The authenticated user may not use the namespace asked for (HTTP 403)."""


def parse_basic(header: str) -> tuple[str, str] | None:
    """(user, password) of an ``Authorization: Basic ...`` header; None if there is none."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise Unauthorized("malformed Basic credentials") from exc
    name, sep, password = decoded.partition(":")
    if not sep:
        raise Unauthorized("malformed Basic credentials")
    return name, password


class Authenticator:
    """Checks credentials; remembers a verified header for a minute to skip the slow hash.

    A remembered login is still compared with the stored account on every request, so a
    removed user or a changed password takes effect at once.
    """

    def __init__(self, users: UserStore, allow_anonymous: bool = False) -> None:
        self.users = users
        self.allow_anonymous = allow_anonymous
        self._verified: dict[str, tuple[float, str, str]] = {}
        self._lock = threading.Lock()
        self.limits = LoginLimits(users)
        self.pool = HashPool()

    def login(self, name: str, password: str, address: str = "") -> User | None:
        """The user when ``password`` is right (the portal's login form uses this); raises
        LoginRefused (too many failures) or Busy (too many checks at once)."""
        user = self.users.get(name)
        self.limits.check(name, address, user is not None)
        if not self.pool.run(verify_account, password, user) or user is None:
            self.limits.failed(name, address, user is not None)
            return None
        self.limits.succeeded(name)
        return user

    def delay(self, authorization: str, address: str) -> float:
        """Seconds to hold a request from ``address`` before its password is checked: none
        for a header verified within the last minute."""
        key = hashlib.sha256(authorization.encode("utf-8")).hexdigest()
        with self._lock:
            cached = self._verified.get(key)
        if cached is not None and time.monotonic() - cached[0] < _CACHE_SECONDS:
            return 0.0
        return self.limits.delay(address)

    def user_for(self, authorization: str, address: str = "") -> User | None:
        """The user an Authorization header proves; None for allowed anonymous access."""
        credentials = parse_basic(authorization) if authorization else None
        if credentials is None or credentials == ("", ""):
            # IoP's client sends "Basic Og==" (empty user and password) when none are set.
            if self.allow_anonymous:
                return None
            raise Unauthorized("authentication required")
        name, password = credentials
        key = hashlib.sha256(authorization.encode("utf-8")).hexdigest()
        now = time.monotonic()
        with self._lock:
            cached = self._verified.get(key)
        if cached is not None and now - cached[0] < _CACHE_SECONDS:
            user = self.users.get(cached[1])
            if user is not None and user.password_hash == cached[2]:
                return user
        user = self.login(name, password, address)
        if user is None:
            raise Unauthorized("wrong user name or password")
        with self._lock:
            if len(self._verified) >= _CACHE_SIZE:
                self._verified.clear()
            self._verified[key] = (now, user.name, user.password_hash)
        return user


def require_namespace(user: User | None, namespace: str) -> None:
    """Raise Forbidden unless ``user`` (None: anonymous, allowed) may use ``namespace``."""
    if user is not None and not user.may_use(namespace):
        raise Forbidden(f"user {user.name} may not use namespace {namespace.upper()}")
