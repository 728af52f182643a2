"""Accounts of the server: salted scrypt hashes kept in the reserved %SYS namespace's store.

The REST API (Basic auth) and the portal (login form) check passwords through the same
``UserStore``, so one account works for both. Users live in the store, not in a file next to
the server, so every host of a PostgreSQL deployment sees the same accounts.

An account holds a role per namespace (``roles``: namespace or ``*`` → role, see roles.py).
Accounts stored before roles existed (format 1: a ``namespaces`` list and an unused ``roles``
list) are upgraded when read, and written back: ``developer`` on each of their namespaces,
which is everything they could do before. Failed-login state (login_limits.py) is kept next
to each account under its own key, so counting failures never rewrites the account.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from iop.engine.errors import EngineError
from iop.server.roles import ALL_NAMESPACES, Role, UnknownRole, parse_role
from iop.store import check_namespace, open_store
from iop.store import records as r
from iop.store.base import Store
from iop.store.errors import StoreError

SYSTEM_NAMESPACE = "%SYS"
MIN_PASSWORD_LENGTH = 8
FORMAT = 2  # 1: namespaces list only (before roles); 2: roles per namespace
DEFAULT_ROLE = Role.VIEWER  # a new account without --user-role: least privilege
UPGRADED_ROLE = Role.DEVELOPER  # a format-1 account: everything it could do before
ACCOUNTS_ITEM = "accounts"  # the item name of account events in %SYS's event log
_KEY = "user:"
_LOGIN_KEY = "login:"
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
    """A server account: its role per namespace (``*``: every namespace)."""

    name: str
    password_hash: str
    roles: dict[str, str] = field(default_factory=dict)
    created: float = 0.0
    legacy_roles: list[str] = field(default_factory=list)  # a format-1 list, kept as stored

    @property
    def namespaces(self) -> list[str]:
        """The namespaces the account may use (``*`` first)."""
        return sorted(self.roles, key=lambda ns: (ns != ALL_NAMESPACES, ns))

    def may_use(self, namespace: str) -> bool:
        wanted = namespace.upper()
        return any(n == ALL_NAMESPACES or n.upper() == wanted for n in self.roles)

    def public(self) -> dict[str, object]:
        """What may be shown about the account (never the hash)."""
        return {"name": self.name, "roles": dict(self.roles), "namespaces": self.namespaces,
                "created": self.created}

    def record(self) -> dict[str, Any]:
        """The stored JSON object (``namespaces`` repeated for whoever reads the store)."""
        stored: dict[str, Any] = {"format": FORMAT, "name": self.name,
                                  "password_hash": self.password_hash, "roles": self.roles,
                                  "namespaces": self.namespaces, "created": self.created}
        if self.legacy_roles:
            stored["legacy_roles"] = self.legacy_roles
        return stored

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> tuple[User, bool]:
        """The account of a stored object, and whether it was format 1 (upgraded here)."""
        name, password_hash = str(data["name"]), str(data["password_hash"])
        created = float(data.get("created") or 0.0)
        if data.get("format") == FORMAT:
            roles = data["roles"]
            if not isinstance(roles, dict):
                raise TypeError("roles is not an object")
            return cls(name, password_hash, {str(k): str(v) for k, v in roles.items()},
                       created, list(data.get("legacy_roles") or [])), False
        old_roles = data.get("roles") or []
        upgraded = {str(ns): UPGRADED_ROLE.label for ns in data.get("namespaces") or []}
        return cls(name, password_hash, upgraded, created,
                   [str(x) for x in old_roles] if isinstance(old_roles, list) else []), True


def role_map(namespaces: list[str] | None, roles: Mapping[str, str] | str | None = None
             ) -> dict[str, str]:
    """Checked ``{namespace or *: role}``: ``roles`` as such a mapping, or one role name for
    every namespace of ``namespaces`` (default ``*``); no role given: DEFAULT_ROLE."""
    if isinstance(roles, Mapping):
        wanted = dict(roles)
    else:
        role = roles or DEFAULT_ROLE.label
        wanted = {ns: role for ns in namespaces or [ALL_NAMESPACES]}
    if not wanted:
        raise UserError("an account needs a role in at least one namespace")
    checked: dict[str, str] = {}
    for ns, role in wanted.items():
        try:
            key = ns if ns == ALL_NAMESPACES else check_namespace(ns)
            checked[key] = parse_role(role).label
        except (StoreError, UnknownRole) as exc:
            raise UserError(str(exc)) from exc
        if key == SYSTEM_NAMESPACE:
            raise UserError(f"namespace {SYSTEM_NAMESPACE} is reserved for the server's "
                            "accounts; no role can be given in it")
    return checked


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
            roles: Mapping[str, str] | str | None = None, replace: bool = False) -> User:
        """Store a new account (or, with ``replace``, a new password and roles); ``roles``
        as in ``role_map``."""
        check_user_name(name)
        check_password_strength(password)
        checked = role_map(namespaces, roles)
        current = self.get(name)
        if current is not None and not replace:
            raise UserError(f"user {name} already exists (use --user-password to change "
                            "the password)")
        user = User(name, hash_password(password), checked,
                    current.created if current else time.time(),
                    current.legacy_roles if current else [])
        self._save(user)
        names = self._names()
        if name not in names:
            self.store.set_meta(_INDEX, json.dumps(sorted([*names, name])))
        return user

    def set_roles(self, name: str, roles: Mapping[str, str]) -> User:
        """Replace the roles of an existing account (its password stays)."""
        user = self.get(name)
        if user is None:
            raise UserError(f"user {name} does not exist (add it with --user-add)")
        user.roles = role_map(None, roles)
        self._save(user)
        return user

    def _save(self, user: User) -> None:
        self.store.set_meta(_KEY + user.name, json.dumps(user.record()))

    def get(self, name: str) -> User | None:
        """The account, upgraded (and written back) if stored before roles existed."""
        raw = self.store.get_meta(_KEY + name) if name else ""
        if not raw:
            return None
        try:
            user, upgraded = User.from_record(json.loads(raw))
        except (KeyError, TypeError, ValueError) as exc:
            raise UserError(f"the stored account of user {name} is unreadable: {exc}") from exc
        # Written back only if nobody changed the record meanwhile (another process may
        # have just set a new password); a later read upgrades it then.
        if upgraded and self.store.get_meta(_KEY + name) == raw:
            self._save(user)
        return user

    def list(self) -> list[User]:
        return [u for u in (self.get(n) for n in self._names()) if u is not None]

    def remove(self, name: str) -> bool:
        if self.get(name) is None:
            return False
        self.store.set_meta(_KEY + name, "")
        self.store.set_meta(_LOGIN_KEY + name, "")
        self.store.set_meta(_INDEX, json.dumps([n for n in self._names() if n != name]))
        return True

    def login_state(self, name: str) -> dict[str, Any]:
        """The failed-login state of account ``name`` (login_limits.py); {} when none."""
        raw = self.store.get_meta(_LOGIN_KEY + name) if name else ""
        try:
            state = json.loads(raw) if raw else {}
        except ValueError:
            return {}  # unreadable counters are only counters: start again
        return state if isinstance(state, dict) else {}

    def save_login_state(self, name: str, state: dict[str, Any]) -> None:
        self.store.set_meta(_LOGIN_KEY + name, json.dumps(state) if state else "")

    def unlock(self, name: str, by: str) -> bool:
        """Clear the lockout and failed logins of ``name``; whether it was locked."""
        if self.get(name) is None:
            raise UserError(f"user {name} does not exist")
        locked = float(self.login_state(name).get("locked_until") or 0) > time.time()
        self.save_login_state(name, {})
        self.event("info", f"account {name} unlocked by {by}" if locked else
                   f"failed logins of account {name} cleared by {by} (it was not locked)")
        return locked

    def event(self, kind: str, text: str) -> None:
        """One line in %SYS's event log (lockouts, unlocks): never a password."""
        self.store.log([r.LogEntry(kind, text, item=ACCOUNTS_ITEM)])

    def check(self, name: str, password: str) -> User | None:
        """The user when the password is right, else None (same work either way)."""
        user = self.get(name)
        return user if verify_account(password, user) else None


def verify_account(password: str, user: User | None) -> bool:
    """Whether ``password`` is ``user``'s; an unknown user costs one hash all the same."""
    ok = verify_password(password, user.password_hash if user else _dummy_hash())
    return ok and user is not None
