"""The management portal: server-rendered pages next to /api/iop, on the same accounts.

``portal_routes(server)`` returns what ``build_app(server, routes=...)`` mounts at ``/``;
``install(app, roots)`` gives the app the portal's state (sessions, pickers' roots).
Every action goes through a Client (iop.server.served_client), as the CLI's do.
"""

from __future__ import annotations

import asyncio
import secrets
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from iop.server.portal import (
    pages_config,
    pages_messages,
    pages_ops,
    pages_purge,
    pages_suspended,
)
from iop.server.portal.files import FileRoots
from iop.server.portal.sessions import (
    COOKIE,
    FAILED_LOGIN_DELAY,
    IDLE_SECONDS,
    LOGIN_COOKIE,
    Sessions,
)
from iop.server.portal.web import HERE, Portal, first, page, read_form, render, same_origin
from iop.server.users import ALL_NAMESPACES
from iop.store import DEFAULT_NAMESPACE

__all__ = ["install", "portal_routes"]


def _safe_next(target: str) -> str:
    # Only a path of this portal: never another site (open redirect).
    return target if target.startswith("/ns/") and "//" not in target else "/"


async def login_form(request: Request, error: str | None = None, status: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", status=status, error=error, login_token=token,
                      next=_safe_next(request.query_params.get("next", "")))
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=3600)
    return response


async def login_page(request: Request) -> Response:
    return await login_form(request)


async def login(request: Request) -> Response:
    portal: Portal = request.app.state.portal
    form = await read_form(request)
    token = request.cookies.get(LOGIN_COOKIE, "")
    if not same_origin(request) or not token or first(form, "login_token") != token:
        return await login_form(request, "The login form expired; please try again.", 400)
    name, password = first(form, "username").strip(), first(form, "password")
    user = await run_in_threadpool(request.app.state.server.auth.login, name, password) \
        if name and password else None
    if user is None:
        await asyncio.sleep(FAILED_LOGIN_DELAY)
        return await login_form(request, "Wrong user name or password.", 401)
    namespace = DEFAULT_NAMESPACE if ALL_NAMESPACES in user.namespaces \
        or user.may_use(DEFAULT_NAMESPACE) else user.namespaces[0].upper()
    session = portal.sessions.open(user, namespace)
    target = _safe_next(first(form, "next"))
    response = RedirectResponse(target if target != "/" else f"/ns/{namespace}/productions",
                                status_code=303)
    response.set_cookie(COOKIE, session.token, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", max_age=IDLE_SECONDS)
    response.delete_cookie(LOGIN_COOKIE)
    return response


async def logout(request: Request) -> Response:
    portal: Portal = request.app.state.portal
    found = portal.sessions.find(request.cookies.get(COOKIE))
    form = await read_form(request)
    if found is not None and found[0].csrf_ok(first(form, "csrf")):
        portal.sessions.close(found[0].token)
    response = RedirectResponse("/login?" + urlencode({"bye": "1"}), status_code=303)
    response.delete_cookie(COOKIE)
    return response


async def home(request: Request) -> Response:
    portal: Portal = request.app.state.portal
    found = portal.sessions.find(request.cookies.get(COOKIE))
    if found is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(f"/ns/{found[0].namespace}/productions", status_code=303)


async def switch_namespace(request: Request) -> Response:
    wanted = request.query_params.get("ns", "").strip().upper()
    return RedirectResponse(f"/ns/{wanted}/productions" if wanted else "/", status_code=303)


def portal_routes() -> list[BaseRoute]:
    """The portal's routes, to mount at ``/`` after the API's."""
    ns = "/ns/{ns}"
    return [
        Route("/", home),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/switch", switch_namespace),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
        Route(f"{ns}/productions", page(pages_config.productions)),
        Route(f"{ns}/productions/action", page(pages_config.production_action, post=True),
              methods=["POST"]),
        Route(f"{ns}/config", page(pages_config.configuration_page)),
        Route(f"{ns}/config/save", page(pages_config.save_configuration, post=True),
              methods=["POST"]),
        Route(f"{ns}/config/production",
              page(pages_config.save_production_settings, post=True), methods=["POST"]),
        Route(f"{ns}/fs", page(pages_config.file_listing)),
        Route(f"{ns}/messages", page(pages_messages.messages)),
        Route(f"{ns}/messages/resend", page(pages_messages.resend, post=True),
              methods=["POST"]),
        Route(f"{ns}/messages/{{id}}", page(pages_messages.message)),
        Route(f"{ns}/trace/{{session}}", page(pages_messages.trace)),
        Route(f"{ns}/suspended", page(pages_suspended.suspended_page)),
        Route(f"{ns}/suspended/action", page(pages_suspended.act, post=True),
              methods=["POST"]),
        Route(f"{ns}/suspended/edit", page(pages_suspended.edit, post=True), methods=["POST"]),
        Route(f"{ns}/purge", page(pages_purge.purge_page)),
        Route(f"{ns}/purge", page(pages_purge.purge, post=True), methods=["POST"]),
        Route(f"{ns}/log", page(pages_ops.event_log)),
        Route(f"{ns}/log/tail", page(pages_ops.log_tail)),
        Route(f"{ns}/queues", page(pages_ops.queues)),
        Route(f"{ns}/jobs", page(pages_ops.jobs)),
        Route(f"{ns}/bindings", page(pages_ops.bindings)),
    ]


def install(app: Starlette, roots: FileRoots | None = None) -> None:
    """Give ``app`` (built with ``portal_routes()``) the portal's sessions and roots."""
    server = app.state.server
    app.state.portal = Portal(Sessions(server.users), roots or FileRoots.configured())
