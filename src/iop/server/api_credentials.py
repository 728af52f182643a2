"""/api/iop/credentials (iop-engine extension): the namespace's credentials store, for the
CLI's `--credentials-*` in remote mode and any client of the API.

``GET credentials`` lists names, user names and last changes (developer: they pick the
names for adapters' ``Credentials`` setting); ``PUT credentials`` adds or changes one
(``name``, ``username``, ``password``) and ``DELETE credentials?name=`` removes one (admin of
the namespace). No answer ever holds a password; the event log records who changed what.
"""

from __future__ import annotations

from typing import Any

from iop.client.local import LocalClient
from iop.connectors.credentials import MAX_PASSWORD, MAX_USERNAME
from iop.server.http import BadRequest


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise BadRequest(f"'{key}' must be a text, got {type(value).__name__}")
    return value


def list_credentials(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    return client.credentials()


def save_credentials(client: LocalClient, query: dict[str, str], body: dict[str, Any],
                     caller: str = "") -> Any:
    return client.save_credentials(_text(body, "name"), _text(body, "username"),
                                   _text(body, "password"), user=f"{caller or 'anonymous'} "
                                                                 "(API)")


def remove_credentials(client: LocalClient, query: dict[str, str], body: dict[str, Any],
                       caller: str = "") -> Any:
    name = query.get("name")
    if not name:
        raise BadRequest("missing 'name' query parameter (the credentials to remove)")
    return client.remove_credentials(name, user=f"{caller or 'anonymous'} (API)")


ROUTES = {
    ("GET", "credentials"): list_credentials,
    ("PUT", "credentials"): save_credentials,
    ("DELETE", "credentials"): remove_credentials,
}

# Routes whose handler is given the authenticated account's name (never one from the request).
RECORDS_CALLER = frozenset({("PUT", "credentials"), ("DELETE", "credentials")})

_STR = {"type": "string"}
_ENTRY = {"type": "object", "properties": {"name": _STR, "username": _STR, "updated": _STR}}

DOCS: dict[tuple[str, str], tuple[str, list[str], dict[str, Any] | None, dict[str, Any]]] = {
    ("GET", "credentials"): ("iop-engine extension: the credentials of the namespace (name, "
                             "user name, last change in UTC); never a password", [], None,
                             {"type": "array", "items": _ENTRY}),
    ("PUT", "credentials"): (
        "iop-engine extension: add credentials or replace their user name and password (name: "
        "1-128 ASCII letters, digits, '.', '_', '@', '-'; user name up to "
        f"{MAX_USERNAME} characters; password up to {MAX_PASSWORD}); the answer has no "
        "password", [],
        {"type": "object", "required": ["name", "username", "password"], "properties": {
            "name": _STR, "username": _STR, "password": {**_STR, "writeOnly": True}}}, _ENTRY),
    ("DELETE", "credentials"): ("iop-engine extension: remove credentials", ["name"], None,
                                {"type": "object", "properties": {
                                    "name": _STR, "removed": {"type": "boolean"}}}),
}
