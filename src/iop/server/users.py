"""Accounts of the server: salted scrypt hashes kept in the reserved %SYS namespace's store.

The REST API (Basic auth) and the portal (login form) check passwords through the same
``UserStore``, so one account works for both. Users live in the store, not in a file next to
the server, so every host of a PostgreSQL deployment sees the same accounts.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import re
import time
from dataclasses import asdict, dataclass, field

from iop.engine.errors import EngineError
from iop.store import check_namespace, open_store
from iop.store.base import Store
from iop.store.errors import StoreError

SYSTEM_NAMESPACE = "%SYS"
MIN_PASSWORD_LENGTH = 8
ALL_NAMESPACES = "*"
_KEY = "user:"
_INDEX = "users"
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
# scrypt cost: about 50 ms and 16 MB per check here; slow enough to make guessing expensive.
_SCHEME, _N, _R, _P = "scrypt", 2**14, 8, 1


class UserError(EngineError):
    """A user name, password or namespace list that cannot be stored."""


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32,
                          maxmem=64 * 1024 * 1024)


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash`` (hex): the parameters travel with the hash, so they can be
    raised later without invalidating stored accounts."""
    salt = os.urandom(16)
    digest = _derive(password, salt, _N, _R, _P)
    return f"{_SCHEME}${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != _SCHEME:
            return False
        actual = _derive(password, bytes.fromhex(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, bytes.fromhex(digest))


@functools.cache
def _dummy_hash() -> str:
    # Checked when the user does not exist, so that a wrong user name costs the same time
    # as a wrong password and account names cannot be probed by timing.
    return hash_password(os.urandom(16).hex())


@dataclass
class User:
    """A server account: the namespaces it may use (``*`` for all) and its roles."""

    name: str
    password_hash: str
    namespaces: list[str] = field(default_factory=lambda: [ALL_NAMESPACES])
    roles: list[str] = field(default_factory=list)
    created: float = 0.0

    def may_use(self, namespace: str) -> bool:
        wanted = namespace.upper()
        return any(n == ALL_NAMESPACES or n.upper() == wanted for n in self.namespaces)

    def public(self) -> dict[str, object]:
        """What may be shown about the account (never the hash)."""
        return {"name": self.name, "namespaces": self.namespaces, "roles": self.roles,
                "created": self.created}


def check_user_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise UserError(f"invalid user name {name!r}: use 1-64 letters, digits, '_', '.', "
                        "'@' or '-'")
    return name


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if password != password.strip() or "\n" in password:
        raise UserError("the password must not start or end with white space")


class UserStore:
    """Create, check, list and remove the server's users."""

    def __init__(self, store: Store | None = None) -> None:
        self.store = store or open_store(SYSTEM_NAMESPACE)

    def _names(self) -> list[str]:
        raw = self.store.get_meta(_INDEX)
        return list(json.loads(raw)) if raw else []

    def add(self, name: str, password: str, namespaces: list[str] | None = None,
            roles: list[str] | None = None, replace: bool = False) -> User:
        """Store a new account (or, with ``replace``, a new password and namespaces)."""
        check_user_name(name)
        check_password_strength(password)
        allowed = []
        for ns in namespaces or [ALL_NAMESPACES]:
            try:
                allowed.append(ns if ns == ALL_NAMESPACES else check_namespace(ns))
            except StoreError as exc:
                raise UserError(str(exc)) from exc
        if self.get(name) is not None and not replace:
            raise UserError(f"user {name} already exists (use --user-password to change "
                            "the password)")
        user = User(name, hash_password(password), allowed, roles or [], time.time())
        self.store.set_meta(_KEY + name, json.dumps(asdict(user)))
        names = self._names()
        if name not in names:
            self.store.set_meta(_INDEX, json.dumps(sorted([*names, name])))
        return user

    def get(self, name: str) -> User | None:
        raw = self.store.get_meta(_KEY + name) if name else ""
        if not raw:
            return None
        try:
            return User(**json.loads(raw))
        except (TypeError, ValueError) as exc:
            raise UserError(f"the stored account of user {name} is unreadable: {exc}") from exc

    def list(self) -> list[User]:
        return [u for u in (self.get(n) for n in self._names()) if u is not None]

    def remove(self, name: str) -> bool:
        if self.get(name) is None:
            return False
        self.store.set_meta(_KEY + name, "")
        self.store.set_meta(_INDEX, json.dumps([n for n in self._names() if n != name]))
        return True

    def check(self, name: str, password: str) -> User | None:
        """The user when the password is right, else None (same work either way)."""
        user = self.get(name)
        ok = verify_password(password, user.password_hash if user else _dummy_hash())
        return user if ok and user is not None else None
