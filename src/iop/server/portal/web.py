"""What every portal page shares: templates, the logged-in session, namespaces, forms, CSRF,
and the one place where what a page raises becomes an error page (``page_error``)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)

from iop.errors import IopError
from iop.server import roles
from iop.server.auth import Forbidden, require_namespace
from iop.server.http import status_for
from iop.server.limits import FORM_MAX_BYTES, read_bounded
from iop.server.namespaces import canonical
from iop.server.portal.files import FileRoots
from iop.server.portal.sessions import COOKIE, Session, Sessions
from iop.server.served_client import ServedClient
from iop.server.users import ALL_NAMESPACES, SYSTEM_NAMESPACE, User
from iop.store import iop_home

HERE = Path(__file__).parent
log = logging.getLogger("iop.portal")
MAX_FORM_BYTES = FORM_MAX_BYTES

templates = Environment(loader=FileSystemLoader(str(HERE / "templates")),
                        autoescape=select_autoescape(["html"]), trim_blocks=True,
                        lstrip_blocks=True)

NAV = (("productions", "Productions"), ("monitor", "Monitor"), ("alerts", "Alerts"),
       ("config", "Configuration"), ("messages", "Messages"),
       ("suspended", "Suspended"), ("log", "Event log"), ("queues", "Queues"), ("jobs", "Jobs"),
       ("bindings", "Bindings"), ("credentials", "Credentials"), ("purge", "Purge"))
BADGE_LIMIT = 99  # the navigation counts suspended messages up to this, then shows "99+"


def age(seconds: float | None) -> str:
    """``3 s``, ``4 min 10 s``, ``2 h 5 min``: how long ago, for tables."""
    if seconds is None:
        return ""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def default_note(value: Any, boolean: bool = False) -> Markup:
    """The one spelling of a setting's default in every form: ``Default: off``,
    ``Default: on``, ``Default: 120``; nothing when it has none."""
    if value is None or value == "":
        return Markup("")
    if boolean or isinstance(value, bool):
        text = "on" if str(value).strip().lower() in ("1", "true", "on", "yes") else "off"
    else:
        text = str(value)
    return Markup('<span class="muted default">Default: {}</span>').format(text)


templates.filters["age"] = age
templates.globals["default_note"] = default_note
templates.globals["NAV"] = NAV
# Each navigation entry shows only to a role that may open its page.
templates.globals["NAV_ROLES"] = {key: roles.PORTAL[("GET", f"/{key}")].label for key, _ in NAV}


@dataclass
class Portal:
    """Portal-wide state: the login sessions and the pickers' roots."""

    sessions: Sessions
    roots: FileRoots


@dataclass
class Page:
    """One authenticated request: who, which namespace, and its Client."""

    request: Request
    portal: Portal
    session: Session
    user: User
    namespace: str
    client: ServedClient
    suspended_badge: str = ""  # the navigation's count of suspended messages ("" for none)
    alerts_badge: str = ""  # the navigation's count of open managed alerts ("" for none)
    store_outage: dict[str, Any] | None = None  # the banner's outage, while one lasts

    def url(self, view: str, **query: Any) -> str:
        base = f"/ns/{self.namespace}/{view}"
        query = {k: v for k, v in query.items() if v not in (None, "")}
        return base + ("?" + urlencode(query) if query else "")

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        return render(self.request, template, status=status, page=self, session=self.session,
                      user=self.user, namespace=self.namespace,
                      namespaces=namespaces_of(self.user, self.namespace),
                      suspended_badge=self.suspended_badge, alerts_badge=self.alerts_badge,
                      store_outage=self.store_outage,
                      **context)

    def redirect(self, view: str, **query: Any) -> RedirectResponse:
        return RedirectResponse(self.url(view, **query), status_code=303)

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """A Client call, off the event loop (they read the store or wait on processes)."""
        return await run_in_threadpool(getattr(self.client, method), *args, **kwargs)


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    session = context.get("session")
    context.setdefault("flashes", session.take_flashes() if session is not None else [])
    context.setdefault("csrf", session.csrf if session is not None else "")
    context.setdefault("active", "")
    context.setdefault("may", _may_for(context.get("user"), context.get("namespace")))
    html = templates.get_template(template).render(request=request, **context)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def _may_for(user: User | None, namespace: str | None) -> Callable[[str], bool]:
    """The templates' ``may(role)``: nothing before a login or without a namespace."""
    if user is None or not namespace:
        return lambda role: False
    return lambda role: roles.may(user, namespace, roles.parse_role(role))


# Every portal response's headers (render's; downloads and plain-text errors use them too).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                               "script-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def namespaces_of(user: User, current: str) -> list[str]:
    """Namespaces to offer in the switcher: the user's, or every one the server has."""
    if ALL_NAMESPACES not in user.namespaces:
        return sorted({n.upper() for n in user.namespaces} | {current})
    found = {current, "USER"}
    home = iop_home()
    if os.path.isdir(home):
        for name in os.listdir(home):
            if os.path.exists(os.path.join(home, name, "store.sqlite3")) \
                    and name != SYSTEM_NAMESPACE:
                found.add(name.upper())
    return sorted(found)


async def read_form(request: Request) -> dict[str, list[str]]:
    """An urlencoded form body (every value of a repeated key kept); TooLarge (413) as soon
    as it passes MAX_FORM_BYTES, before the rest is read."""
    body = await read_bounded(request, MAX_FORM_BYTES)
    return parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)


def first(form: dict[str, list[str]], key: str, default: str = "") -> str:
    values = form.get(key)
    return values[0] if values else default


def ticked_ids(form: dict[str, list[str]]) -> list[int]:
    """The message ids of a list's ticked boxes (anything else in ``ids`` is ignored)."""
    return [int(v) for v in form.get("ids", []) if v.strip().isdigit()]


def last(form: dict[str, list[str]], key: str, default: str = "") -> str:
    values = form.get(key)
    return values[-1] if values else default


def same_origin(request: Request) -> bool:
    """A POST from another site is refused even before the CSRF token is looked at."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


Handler = Callable[[Page], Awaitable[Response]]


async def suspended_badge(page: Page) -> str:
    """How many messages wait in the Suspended page, for its navigation badge. One page of
    the message search by status (an index holds exactly these rows), not a full count."""
    try:
        found = await page.call("search_messages", {"status": "suspended"}, None, None,
                                BADGE_LIMIT)
    except Exception:  # the badge must never cost the page itself
        log.exception("counting suspended messages failed")
        return ""
    count = len(found["messages"])
    return f"{BADGE_LIMIT}+" if found["has_older"] else (str(count) if count else "")


async def alerts_badge(page: Page) -> str:
    """How many managed alerts are open (new or acknowledged), for their navigation badge:
    a count over the index on state, cheap however many closed alerts the store keeps."""
    try:
        found = await page.call("alert_counts", True)
    except Exception:  # the badge must never cost the page itself
        log.exception("counting open alerts failed")
        return ""
    count = int(found.get("open", 0))
    return f"{BADGE_LIMIT}+" if count > BADGE_LIMIT else (str(count) if count else "")


async def store_outage(page: Page) -> dict[str, Any] | None:
    """The store outage the production's supervisors are waiting out, for the banner every
    page shows while it lasts (from their status files when the store itself is out)."""
    try:
        status = await page.call("status")
    except Exception:  # the banner must never cost the page; the page says what failed
        return None
    outage = status.get("outage")
    return outage if isinstance(outage, dict) else None


def page(handler: Handler, path: str, *, post: bool = False
         ) -> Callable[[Request], Awaitable[Response]]:
    """A route needing a login (else: to the login form), a namespace the user may use, the
    role roles.PORTAL names for ``path`` there, and on POST a same-origin request carrying
    the session's CSRF token."""
    method = "POST" if post else "GET"
    if (method, path) not in roles.PORTAL:
        raise KeyError(f"portal route {method} {path} has no role in roles.PORTAL")

    async def endpoint(request: Request) -> Response:
        portal: Portal = request.app.state.portal
        found = await run_in_threadpool(portal.sessions.find, request.cookies.get(COOKIE))
        wants_json = request.url.path.endswith(("/tail", "/fs", "/state"))
        if found is None:
            if wants_json:
                return JSONResponse({"error": "not logged in"}, status_code=401)
            target = "/login?" + urlencode({"next": str(request.url.path)})
            return RedirectResponse(target, status_code=303)
        session, user = found
        try:
            namespace = canonical(request.path_params.get("ns") or session.namespace)
            require_namespace(user, namespace)
            roles.require_portal(user, namespace, method, path)
        except (Forbidden, Exception) as exc:
            if wants_json and isinstance(exc, Forbidden):
                return JSONResponse({"error": str(exc)}, status_code=403)
            return render(request, "error.html", status=403 if isinstance(exc, Forbidden)
                          else 404, session=session, user=user, error=str(exc),
                          namespace=session.namespace, namespaces=namespaces_of(
                              user, session.namespace))
        if post:
            form = await read_form(request)
            if not same_origin(request) or not session.csrf_ok(first(form, "csrf")):
                return render(request, "error.html", status=403, session=session, user=user,
                              namespace=namespace, namespaces=[namespace],
                              error="This form has expired or did not come from this portal; "
                                    "reload the page and try again.")
            request.state.form = form
        session.namespace = namespace
        try:
            store = (await run_in_threadpool(
                request.app.state.server.namespaces.client, namespace)).store
        except Exception as exc:
            return render(request, "error.html", status=404, session=session, user=user,
                          namespace=namespace, namespaces=namespaces_of(user, namespace),
                          error=str(exc))
        current = Page(request, portal, session, user, namespace,
                       ServedClient(namespace, store))
        request.state.page = current  # for page_error, should the handler raise
        if not wants_json:  # a POST may render a page too (a refused form)
            current.store_outage = await store_outage(current)
            current.suspended_badge = await suspended_badge(current)
            current.alerts_badge = await alerts_badge(current)
        return await handler(current)

    return endpoint


async def page_error(request: Request, exc: Exception) -> Response:
    """The portal's answer to what a page raised (the app's exception handler outside /api/):
    an ``IopError`` is said in the page (or as JSON to /tail and /fs) with the status
    ``http.status_for`` gives it; anything else is a bug, logged, and still answers a page."""
    current: Page | None = getattr(request.state, "page", None)
    if current is None:  # not a page (the login form...): Starlette's own answer
        return PlainTextResponse("Internal Server Error", status_code=500)
    if isinstance(exc, IopError):
        status = status_for(exc)
        if status >= 500:
            log.error("portal page %s: %s", request.url.path, exc)
        if request.url.path.endswith(("/tail", "/fs", "/state")):
            return JSONResponse({"error": str(exc)}, status_code=status)
        return current.render("error.html", status=status, error=str(exc))
    log.error("portal page %s failed", request.url.path, exc_info=exc)
    return render(request, "error.html", status=500, session=current.session,
                  user=current.user, namespace=current.namespace,
                  namespaces=[current.namespace],
                  error=f"The page failed: {type(exc).__name__}: {exc}. The server log has "
                        "the details.")


def elapsed_ms(started: float) -> str:
    return f"{(time.perf_counter() - started) * 1000:.0f} ms"
