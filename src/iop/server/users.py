"""Users of the server: salted scrypt hashes kept in the %SYS namespace's store."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from dataclasses import dataclass, field

from iop.engine.errors import EngineError
from iop.store import open_store
from iop.store.base import Store

SYSTEM_NAMESPACE = "%SYS"
_KEY = "user:"
# scrypt parameters: about 30 ms and 16 MB per check on this class of machine.
_N, _R, _P = 2**14, 8, 1


@dataclass
class User:
    """A server account: which namespaces it may use (``*`` for all) and its roles."""

    name: str
    salt: str
    hash: str
    namespaces: list[str] = field(default_factory=lambda: ["*"])
    roles: list[str] = field(default_factory=lambda: ["admin"])
    created: float = 0.0

    def may_use(self, namespace: str) -> bool:
        return "*" in self.namespaces or namespace.upper() in (n.upper() for n in self.namespaces)


def _hash(password: str, salt: bytes) -> str:
    return hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32).hex()


class UserStore:
    """Create, check and remove users."""

    def __init__(self, store: Store | None = None) -> None:
        self.store = store or open_store(SYSTEM_NAMESPACE)

    def add(self, name: str, password: str, namespaces: list[str] | None = None,
            roles: list[str] | None = None) -> User:
        if not name or ":" in name:
            raise EngineError(f"invalid user name {name!r}")
        if len(password) < 8:
            raise EngineError("the password must have at least 8 characters")
        salt = os.urandom(16)
        user = User(name, salt.hex(), _hash(password, salt), namespaces or ["*"],
                    roles or ["admin"], time.time())
        self.store.set_meta(_KEY + name, json.dumps(user.__dict__))
        return user

    def get(self, name: str) -> User | None:
        raw = self.store.get_meta(_KEY + name)
        return User(**json.loads(raw)) if raw else None

    def remove(self, name: str) -> bool:
        if self.get(name) is None:
            return False
        self.store.set_meta(_KEY + name, "")
        return True

    def check(self, name: str, password: str) -> User | None:
        """The user when the password is right, else None (same work either way)."""
        user = self.get(name)
        salt = bytes.fromhex(user.salt) if user else b"\0" * 16
        expected = user.hash if user else "0" * 64
        ok = hmac.compare_digest(_hash(password, salt), expected)
        return user if ok and user is not None else None
