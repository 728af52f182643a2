"""The management portal: server-rendered pages next to /api/iop, on the same accounts.

``portal_routes(server)`` returns what ``build_app(server, routes=..., page_error=...)``
mounts at ``/``, and ``page_error`` answers what its pages raise;
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

from iop.server.login_limits import LoginRefused
from iop.server.password_pool import HashPoolBusy
from iop.server.portal import (
    pages_alerts,
    pages_config,
    pages_credentials,
    pages_edit,
    pages_items,
    pages_messages,
    pages_monitor,
    pages_ops,
    pages_purge,
    pages_queue,
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
from iop.server.portal.web import (
    HERE,
    Handler,
    Portal,
    first,
    page,
    page_error,
    read_form,
    render,
    same_origin,
)
from iop.server.users import ALL_NAMESPACES
from iop.store import DEFAULT_NAMESPACE

__all__ = ["install", "page_error", "portal_routes"]


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
    auth = request.app.state.server.auth
    address = request.client.host if request.client else ""
    try:
        await asyncio.sleep(auth.limits.delay(address))  # the failed-login back-off
        user = await run_in_threadpool(auth.login, name, password, address) \
            if name and password else None
    except (LoginRefused, HashPoolBusy) as exc:
        return await login_form(request, str(exc), 429 if isinstance(exc, LoginRefused)
                                else 503)
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


async def favicon(request: Request) -> Response:
    """Browsers that ask /favicon.ico before reading the page get the portal's SVG icon."""
    return RedirectResponse("/static/favicon.svg", status_code=301)


async def switch_namespace(request: Request) -> Response:
    wanted = request.query_params.get("ns", "").strip().upper()
    return RedirectResponse(f"/ns/{wanted}/productions" if wanted else "/", status_code=303)


def _ns(path: str, handler: Handler, *, post: bool = False) -> Route:
    """A page or action under /ns/<namespace>, needing the role roles.PORTAL gives it."""
    return Route(f"/ns/{{ns}}{path}", page(handler, path, post=post),
                 methods=["POST" if post else "GET"])


def portal_routes() -> list[BaseRoute]:
    """The portal's routes, to mount at ``/`` after the API's."""
    return [
        Route("/", home),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/switch", switch_namespace),
        Route("/favicon.ico", favicon),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
        _ns("/productions", pages_config.productions),
        _ns("/productions/action", pages_config.production_action, post=True),
        _ns("/monitor", pages_monitor.monitor_page),
        _ns("/monitor/state", pages_monitor.monitor_state),
        _ns("/monitor/acknowledge", pages_monitor.acknowledge, post=True),
        _ns("/alerts", pages_alerts.alerts_page),
        _ns("/alerts/action", pages_alerts.act, post=True),
        _ns("/alerts/{id}", pages_alerts.alert_page),
        _ns("/config", pages_config.configuration_page),
        _ns("/config/save", pages_config.save_configuration, post=True),
        _ns("/config/production", pages_config.save_production_settings, post=True),
        _ns("/config/edit", pages_edit.edit_production, post=True),
        _ns("/config/rollback", pages_edit.rollback, post=True),
        _ns("/items/test", pages_items.send_test, post=True),
        _ns("/items/restart", pages_items.restart_item, post=True),
        _ns("/items/enable", pages_items.enable_item, post=True),
        _ns("/fs", pages_config.file_listing),
        _ns("/messages", pages_messages.messages),
        _ns("/messages/resend", pages_messages.resend, post=True),
        _ns("/messages/export", pages_messages.export),
        _ns("/messages/{id}", pages_messages.message),
        _ns("/trace/{session}", pages_messages.trace),
        _ns("/suspended", pages_suspended.suspended_page),
        _ns("/suspended/action", pages_suspended.act, post=True),
        _ns("/suspended/edit", pages_suspended.edit, post=True),
        _ns("/purge", pages_purge.purge_page),
        _ns("/purge", pages_purge.purge, post=True),
        _ns("/log", pages_ops.event_log),
        _ns("/log/tail", pages_ops.log_tail),
        _ns("/queues", pages_ops.queues),
        _ns("/queues/action", pages_queue.act, post=True),
        _ns("/queues/{item}", pages_queue.queue_page),
        _ns("/jobs", pages_ops.jobs),
        _ns("/bindings", pages_ops.bindings),
        _ns("/credentials", pages_credentials.credentials_page),
        _ns("/credentials", pages_credentials.save, post=True),
        _ns("/credentials/remove", pages_credentials.remove, post=True),
    ]


def install(app: Starlette, roots: FileRoots | None = None) -> None:
    """Give ``app`` (built with ``portal_routes()``) the portal's sessions and roots."""
    server = app.state.server
    app.state.portal = Portal(Sessions(server.users), roots or FileRoots.configured())
