"""The ``Credentials`` setting of adapters, as IRIS has it: the name of an entry (user name
and password) in the namespace's credentials store, never the secret itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from iop.components.settings import Category, setting
from iop.errors import ConnectorError

__all__ = ["Credential", "credentials_for", "credentials_setting"]


@dataclass(frozen=True)
class Credential:
    """A user name and password; the password never shows in repr or str."""

    name: str
    username: str
    password: str = field(repr=False)


def credentials_setting() -> Any:
    """The ``Credentials`` setting an adapter declares."""
    return setting("", category=Category.BASIC,
                   description="Name of the credentials (user name and password) to log in "
                               "with, from the credentials store (iop --credentials-add)")


def credentials_for(component: Any) -> Credential | None:
    """The credentials the component's ``Credentials`` setting names, or None when it names
    none; ConnectorError when the name is not in the store."""
    name = str(getattr(component, "Credentials", "") or "").strip()
    if not name:
        return None
    raise ConnectorError(f"credentials {name}: the credentials store is not built yet")
