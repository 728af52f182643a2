"""/api/iop/accounts: the `--user-*` commands for a remote admin (admin on every namespace).

``GET accounts`` lists them (roles, lockouts; never hashes), ``POST accounts`` adds one
(``name``, ``password``, ``roles``: {namespace or ``*``: role}), ``PUT accounts/roles`` replaces
an account's roles, ``POST accounts/unlock`` clears a lockout, ``DELETE accounts?name=``
removes one, ``GET accounts/log?top=N`` shows the accounts' events (%SYS's event log). An
admin cannot remove or demote its own account here, so one request cannot leave a server
without the admin who made it; the CLI on the host can do anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from iop.server import roles
from iop.server.auth import Forbidden
from iop.server.http import BadRequest, error, refuse_foreign_origin
from iop.server.login_limits import accounts
from iop.server.users import User, UserError, UserStore

if TYPE_CHECKING:
    from iop.server.app import Server

MAX_LOG = 1000


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"'{key}' must be a non-empty text")
    return value


def _roles(body: dict[str, Any]) -> dict[str, str]:
    value = body.get("roles")
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                              for k, v in value.items()):
        raise BadRequest("'roles' must be an object of namespace (or *) → role name")
    return value


def _not_self(user: User | None, name: str, what: str) -> None:
    if user is not None and user.name == name:
        raise Forbidden(f"an admin cannot {what} its own account over the API; use another "
                        "admin account or `iop --user-*` on the server's host")


def _handle(users: UserStore, user: User | None, method: str, route: str,
            query: dict[str, str], body: dict[str, Any]) -> Any:
    by = f"{user.name if user else 'anonymous'} (API)"
    if (method, route) == ("GET", "accounts"):
        return accounts(users)
    if (method, route) == ("POST", "accounts"):
        name, password, wanted = _text(body, "name"), _text(body, "password"), _roles(body)
        added = users.add(name, password, None, wanted)
        users.event("info", f"account {name} added by {by} with roles {added.roles}")
        return added.public()
    if (method, route) == ("PUT", "accounts/roles"):
        name = _text(body, "name")
        _not_self(user, name, "change the roles of")
        changed = users.set_roles(name, _roles(body))
        users.event("info", f"roles of account {name} set to {changed.roles} by {by}")
        return changed.public()
    if (method, route) == ("POST", "accounts/unlock"):
        name = _text(body, "name")
        return {"name": name, "was_locked": users.unlock(name, by)}
    if (method, route) == ("DELETE", "accounts"):
        name = query.get("name") or ""
        _not_self(user, name, "remove")
        if not users.remove(name):
            raise UserError(f"user {name} does not exist")
        users.event("info", f"account {name} removed by {by}")
        return {"name": name, "removed": True}
    try:
        top = min(MAX_LOG, max(0, int(query.get("top") or 50)))
    except ValueError as exc:
        raise BadRequest("top must be a whole number") from exc
    return [entry.to_dict() for entry in users.store.log_top(top)]


ROUTES = {("GET", "accounts"), ("POST", "accounts"), ("PUT", "accounts/roles"),
          ("POST", "accounts/unlock"), ("DELETE", "accounts"), ("GET", "accounts/log")}


def routes(server: Server) -> list[BaseRoute]:
    """The accounts routes, to put before the catch-all /api/iop routes."""

    async def endpoint(request: Request) -> Response:
        route = request.url.path.split("/api/iop/", 1)[1].removeprefix("v1/").strip("/")
        user = await server.authenticate(request)
        if (request.method, route) not in ROUTES:
            return error(405, f"{request.method} is not allowed on /api/iop/{route}")
        refuse_foreign_origin(request)
        if not roles.is_account_admin(user):
            raise Forbidden(f"managing accounts needs the admin role in every namespace "
                            f"(*); user {user.name if user else ''} does not have it")
        body = await server.body(request) if request.method in ("POST", "PUT") else {}
        result = await run_in_threadpool(_handle, server.users, user, request.method, route,
                                         dict(request.query_params), body)
        return JSONResponse(result)

    # Every method reaches the endpoint, so a stranger gets 401 before any 405.
    methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
    return [Route(f"{prefix}/accounts{rest}", endpoint, methods=methods)
            for prefix in ("/api/iop/v1", "/api/iop") for rest in ("", "/roles", "/unlock", "/log")]
