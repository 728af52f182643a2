"""Roles per namespace and the role each route needs: the server's one authorization table.

Four roles, each including the ones below it (IRIS's %Operator / %Developer / %Manager in
spirit): ``viewer`` reads (messages, event log, status, configuration, queues, bindings);
``operator`` runs productions and handles messages (start, stop, kill, update, recover,
component start/stop, test, resend, resubmit, discard, purge); ``developer`` changes what
runs (migrate code, init a namespace, bind/unbind classes, set the default production, save
configuration, list the credentials' names); ``admin`` sets and removes credentials in its
namespaces and manages accounts, which needs ``admin`` on every namespace (``*``). An
account holds a role per namespace and/or one for all namespaces (``*``); the higher of the
two applies. docs/security.md shows ``markdown_table()`` (a test keeps them equal).
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

from iop.errors import EngineError

if TYPE_CHECKING:  # users.py stores roles with this module's names: import it lazily
    from iop.server.auth import Forbidden
    from iop.server.users import User

ALL_NAMESPACES = "*"


class UnknownRole(EngineError, ValueError):
    """A role name that is none of the four."""


class Role(IntEnum):
    """A role; a higher one may do everything a lower one may."""

    VIEWER = 1
    OPERATOR = 2
    DEVELOPER = 3
    ADMIN = 4

    @property
    def label(self) -> str:
        return self.name.lower()


VIEWER, OPERATOR, DEVELOPER = Role.VIEWER, Role.OPERATOR, Role.DEVELOPER

# /api/iop/<route> (and /api/iop/v1/<route>), by (method, route). A route missing here needs
# admin (fail closed); a test checks that every route of api.ROUTES is listed.
API: dict[tuple[str, str], Role] = {
    ("GET", "version"): VIEWER,
    ("GET", "status"): VIEWER,
    ("GET", "list"): VIEWER,
    ("GET", "default"): VIEWER,
    ("GET", "bindings"): VIEWER,
    ("GET", "log"): VIEWER,
    ("GET", "export"): VIEWER,
    ("GET", "connections"): VIEWER,
    ("GET", "queues"): VIEWER,
    ("GET", "hosts"): VIEWER,
    ("GET", "messages"): VIEWER,
    ("GET", "suspended"): VIEWER,
    ("GET", "overview"): VIEWER,
    ("GET", "configuration"): VIEWER,
    ("GET", "messages/search"): VIEWER,
    ("GET", "messages/choices"): VIEWER,
    ("GET", "message"): VIEWER,
    ("GET", "trace"): VIEWER,
    ("GET", "log/search"): VIEWER,
    ("GET", "queues/details"): VIEWER,
    ("GET", "queues/messages"): VIEWER,
    ("GET", "jobs"): VIEWER,
    ("GET", "alerts"): VIEWER,
    ("GET", "alert"): VIEWER,
    ("POST", "start"): OPERATOR,
    ("POST", "stop"): OPERATOR,
    ("POST", "kill"): OPERATOR,
    ("POST", "restart"): OPERATOR,
    ("POST", "update"): OPERATOR,
    ("POST", "component/start"): OPERATOR,
    ("POST", "component/stop"): OPERATOR,
    ("POST", "component/restart"): OPERATOR,
    ("POST", "test"): OPERATOR,
    ("POST", "resubmit"): OPERATOR,
    ("POST", "discard"): OPERATOR,
    ("POST", "purge"): OPERATOR,
    ("POST", "recover"): OPERATOR,
    ("POST", "resend"): OPERATOR,
    ("POST", "queues/action"): OPERATOR,
    ("POST", "alerts/action"): OPERATOR,
    ("PUT", "default"): DEVELOPER,
    ("DELETE", "binding"): DEVELOPER,
    ("PUT", "migrate"): DEVELOPER,
    ("PUT", "item"): DEVELOPER,
    ("PUT", "production/settings"): DEVELOPER,
    # Credentials: developers see the names (and user names) to put in Credentials settings;
    # only an admin of the namespace sets or removes a password.
    ("GET", "credentials"): DEVELOPER,
    ("PUT", "credentials"): Role.ADMIN,
    ("DELETE", "credentials"): Role.ADMIN,
}

# /api/atelier/v1/<namespace>/...: `iop -i` creates or upgrades a namespace's store.
ATELIER = DEVELOPER

# /api/services/<namespace>/<item>/...: a mounted HTTP service puts input into the
# production, as `test` and `resend` do: the least role that may is operator.
SERVICES = OPERATOR

# The portal's pages and actions under /ns/<namespace>, by (method, path after it).
PORTAL: dict[tuple[str, str], Role] = {
    ("GET", "/productions"): VIEWER,
    ("GET", "/monitor"): VIEWER,
    ("GET", "/monitor/state"): VIEWER,
    ("GET", "/config"): VIEWER,
    ("GET", "/messages"): VIEWER,
    ("GET", "/messages/export"): VIEWER,
    ("GET", "/messages/{id}"): VIEWER,
    ("GET", "/trace/{session}"): VIEWER,
    ("GET", "/suspended"): VIEWER,
    ("GET", "/log"): VIEWER,
    ("GET", "/log/tail"): VIEWER,
    ("GET", "/queues"): VIEWER,
    ("GET", "/queues/{item}"): VIEWER,
    ("GET", "/jobs"): VIEWER,
    ("GET", "/bindings"): VIEWER,
    ("GET", "/alerts"): VIEWER,
    ("GET", "/alerts/{id}"): VIEWER,
    ("POST", "/productions/action"): OPERATOR,
    ("POST", "/messages/resend"): OPERATOR,
    ("POST", "/queues/action"): OPERATOR,
    ("POST", "/monitor/acknowledge"): OPERATOR,
    ("POST", "/alerts/action"): OPERATOR,
    # The item panel's actions: the API's test and component start/stop/restart roles.
    ("POST", "/items/test"): OPERATOR,
    ("POST", "/items/restart"): OPERATOR,
    ("POST", "/items/enable"): OPERATOR,
    ("POST", "/suspended/action"): OPERATOR,
    ("POST", "/suspended/edit"): OPERATOR,
    ("GET", "/purge"): OPERATOR,
    ("POST", "/purge"): OPERATOR,
    # The folder and file pickers only serve the configuration forms, which save as developer.
    ("GET", "/fs"): DEVELOPER,
    ("POST", "/config/save"): DEVELOPER,
    ("POST", "/config/production"): DEVELOPER,
    # Adding, copying, removing items and changing connections; rolling such an edit back.
    ("POST", "/config/edit"): DEVELOPER,
    ("POST", "/config/rollback"): DEVELOPER,
    ("GET", "/credentials"): DEVELOPER,
    ("POST", "/credentials"): Role.ADMIN,
    ("POST", "/credentials/remove"): Role.ADMIN,
}


def parse_role(text: str) -> Role:
    """The role named ``text`` (any case); UnknownRole names the four."""
    try:
        return Role[text.strip().upper()]
    except KeyError:
        raise UnknownRole(f"unknown role {text!r}: use one of "
                          f"{', '.join(r.label for r in Role)}") from None


def role_in(user: User, namespace: str) -> Role | None:
    """The account's role in ``namespace`` (the higher of its own and ``*``'s), or None."""
    wanted = namespace.upper()
    held = [parse_role(role) for ns, role in user.roles.items()
            if ns == ALL_NAMESPACES or ns.upper() == wanted]
    return max(held) if held else None


def may(user: User | None, namespace: str, needed: Role) -> bool:
    """Whether ``user`` (None: allowed anonymous access) holds ``needed`` in ``namespace``."""
    if user is None:
        return True
    held = role_in(user, namespace)
    return held is not None and held >= needed


def is_account_admin(user: User | None) -> bool:
    """Account management needs admin on every namespace, not on one."""
    return user is None or user.roles.get(ALL_NAMESPACES) == Role.ADMIN.label


def _refuse(user: User, namespace: str, needed: Role, what: str) -> Forbidden:
    from iop.server.auth import Forbidden

    held = role_in(user, namespace)
    has = f"has {held.label}" if held else "has no role"
    return Forbidden(f"{what} needs the {needed.label} role in namespace {namespace.upper()}; "
                     f"user {user.name} {has} there")


def require(user: User | None, namespace: str, method: str, route: str) -> None:
    """Raise Forbidden (403) unless ``user`` may call ``method /api/iop/<route>`` here."""
    needed = API.get((method, route), Role.ADMIN)
    if user is not None and not may(user, namespace, needed):
        raise _refuse(user, namespace, needed, f"{method} /api/iop/{route}")


def require_atelier(user: User | None, namespace: str) -> None:
    """Raise Forbidden unless ``user`` may create or upgrade ``namespace`` (`iop -i`)."""
    if user is not None and not may(user, namespace, ATELIER):
        raise _refuse(user, namespace, ATELIER, "initialising a namespace (iop -i)")


def require_portal(user: User, namespace: str, method: str, path: str) -> None:
    """Raise Forbidden unless ``user`` may use the portal's ``method /ns/<ns><path>``."""
    needed = PORTAL.get((method, path), Role.ADMIN)
    if not may(user, namespace, needed):
        raise _refuse(user, namespace, needed, "this page" if method == "GET" else
                      "this action")


def require_service(user: User | None, namespace: str) -> None:
    """Raise Forbidden unless ``user`` may call a mounted HTTP service of ``namespace``."""
    if user is not None and not may(user, namespace, SERVICES):
        raise _refuse(user, namespace, SERVICES, "calling an HTTP service (/api/services)")


def require_any(user: User | None) -> None:
    """Raise Forbidden unless ``user`` holds some role somewhere (the OpenAPI document)."""
    from iop.server.auth import Forbidden

    if user is not None and not user.roles:
        raise Forbidden(f"user {user.name} has no role in any namespace")


def markdown_table() -> str:
    """The route → role table of docs/security.md, generated from the tables above."""
    lines = ["| Role (also all above) | API (`/api/iop/...`) | Portal (`/ns/<NS>/...`) |",
             "|---|---|---|"]
    for role in Role:
        api = ", ".join(f"`{m} {r}`" for (m, r), need in API.items() if need == role)
        if role == Role.VIEWER:
            api += ", `GET openapi.json` (any role in any namespace)"
        if role == ATELIER:
            api += ", `Atelier /api/atelier/v1/<NS>/...` (`iop -i`)"
        if role == SERVICES:
            api += ", `any /api/services/<NS>/<item>/...` (mounted HTTP services)"
        portal = ", ".join(f"`{m} {p}`" for (m, p), need in PORTAL.items() if need == role)
        if role == Role.ADMIN:
            api += ("; with admin on `*`: `GET accounts`, `POST accounts`, `PUT accounts/roles`, "
                    "`POST accounts/unlock`, `DELETE accounts`, `GET accounts/log`")
        lines.append(f"| {role.label} | {api or '—'} | {portal or '—'} |")
    return "\n".join(lines) + "\n"
