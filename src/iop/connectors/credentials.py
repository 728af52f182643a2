"""The ``Credentials`` setting of adapters, as IRIS has it: the name of an entry (user name
and password) in the namespace's credentials store, never the secret itself.

The store keeps each entry's user name in clear and its password sealed with a key kept
outside the store (iop.connectors.credentials_key). Passwords go in through
``save_credentials`` and come out only through ``credentials_for`` (to the adapter that
logs in with them): listings show names and user names, never a password.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from iop.components.settings import Category, controls, setting
from iop.connectors.credentials_key import CredentialsKey, CredentialsKeyError
from iop.errors import ConnectorError, EngineError
from iop.store import records as r
from iop.store.base import Store

__all__ = ["BadCredentials", "Credential", "CredentialsKeyError", "MAX_NAME", "MAX_PASSWORD",
           "MAX_USERNAME", "UnknownCredentials", "check_name", "credentials_for",
           "credentials_setting", "list_credentials", "load_credentials", "remove_credentials",
           "save_credentials"]

MAX_NAME = 128  # IRIS's Ens.Config.Credentials ID
MAX_USERNAME = 256
MAX_PASSWORD = 4096
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]*", re.ASCII)
NAME_RULE = (f"a credentials name is 1-{MAX_NAME} ASCII letters, digits, '.', '_', '@' or '-', "
             "starting with a letter or digit")


class BadCredentials(EngineError, ValueError):
    """A credentials name, user name or password that the store does not take."""


class UnknownCredentials(ConnectorError, LookupError):
    """No credentials of that name in the namespace's store."""


@dataclass(frozen=True)
class Credential:
    """A user name and password; the password never shows in repr or str."""

    name: str
    username: str
    password: str = field(repr=False)


def credentials_setting() -> Any:
    """The ``Credentials`` setting an adapter declares (the portal shows a picker)."""
    return setting("", category=Category.BASIC, control=controls.credentials(),
                   description="Name of the credentials (user name and password) to log in "
                               "with, from the credentials store (iop --credentials-add)")


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 60 else f"{text[:40]!r}... ({len(text)} characters)"


def check_name(name: Any) -> str:
    """``name`` when it is a credentials name; BadCredentials says the rule otherwise."""
    if not isinstance(name, str) or not name:
        raise BadCredentials(f"a credentials name is needed; {NAME_RULE}")
    if len(name) > MAX_NAME or not _NAME.fullmatch(name):
        raise BadCredentials(f"credentials name {_shown(name)} is refused: {NAME_RULE}")
    return name


def _check_username(username: Any) -> str:
    if not isinstance(username, str):
        raise BadCredentials("the user name must be a text")
    if len(username) > MAX_USERNAME:
        raise BadCredentials(f"the user name is {len(username)} characters long; at most "
                             f"{MAX_USERNAME}")
    if any(ord(c) < 32 or ord(c) == 127 for c in username):
        raise BadCredentials("the user name holds a control character (a line break, a tab...)")
    return username


def _check_password(password: Any) -> str:
    # Never quoted back, not even in part.
    if not isinstance(password, str):
        raise BadCredentials("the password must be a text")
    if len(password) > MAX_PASSWORD:
        raise BadCredentials(f"the password is over {MAX_PASSWORD} characters long")
    if any(c in "\x00\r\n" for c in password):
        raise BadCredentials("the password holds a line break or a NUL character")
    return password


def save_credentials(store: Store, name: str, username: str, password: str) -> dict[str, Any]:
    """Add credentials ``name`` or replace its user name and password; the key file is made
    on the first add when no key is configured. Returns the entry as listings show it."""
    name = check_name(name)
    username, password = _check_username(username), _check_password(password)
    secret = CredentialsKey.load(create=True).seal(name, password)
    store.put_credential(name, username, secret)
    return {"name": name, "username": username, "updated": r.format_time(time.time())}


def list_credentials(store: Store) -> list[dict[str, Any]]:
    """Every entry's name, user name and last change (UTC), by name; no password."""
    return [{"name": name, "username": username, "updated": r.format_time(updated)}
            for name, username, updated in sorted(store.list_credentials())]


def remove_credentials(store: Store, name: str) -> dict[str, Any]:
    """Delete credentials ``name``; UnknownCredentials when there is none."""
    if not store.delete_credential(check_name(name)):
        raise UnknownCredentials(f"credentials {name} do not exist in namespace "
                                 f"{store.namespace}")
    return {"name": name, "removed": True}


def load_credentials(store: Store, name: str) -> Credential:
    """Credentials ``name`` with their password decrypted; UnknownCredentials or
    CredentialsKeyError (one line, naming the key's place) otherwise."""
    found = store.get_credential(check_name(name))
    if found is None:
        raise UnknownCredentials(f"credentials {name} do not exist in namespace "
                                 f"{store.namespace}: add them with iop --credentials-add "
                                 f"{name} --username USER")
    username, secret = found
    return Credential(name, username, CredentialsKey.load().open(name, secret))


def credentials_for(component: Any) -> Credential | None:
    """The credentials the component's ``Credentials`` setting names, or None when it names
    none; ConnectorError when they are not in the store or cannot be decrypted."""
    name = str(getattr(component, "Credentials", "") or "").strip()
    if not name:
        return None
    runtime = getattr(component, "_iop_runtime", None)
    store = getattr(runtime, "store", None)
    if store is None:
        raise ConnectorError(f"credentials {name}: {type(component).__name__} runs outside a "
                             "production, so there is no credentials store to read them from")
    try:
        return load_credentials(store, name)
    except BadCredentials as exc:
        raise ConnectorError(f"setting Credentials: {exc}") from None
