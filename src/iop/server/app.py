"""The ASGI application: /api/iop (and /api/iop/v1), the Atelier init routes, and room for
the portal.

``build_app(server, routes=[...])`` puts extra routes (the portal: ``Mount("/", portal)``)
after the API's, so one line adds the portal and it cannot shadow /api. The portal finds
the ``Server`` (users, namespaces, the authenticator) at ``request.app.state.server``.
``BodyLimit`` wraps it all: no body passes its route's limit, not even before routing or
authentication (``Server.body_limit``).

Routes raise; they never answer an error themselves. The app's exception handlers turn what
they raise into the answer: under /api/, one JSON error line with the status
``http.status_for`` gives (``api_error``); elsewhere, the page the portal passed as
``page_error`` to ``build_app``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from iop.errors import IopError
from iop.server import api, api_accounts, api_services, atelier, openapi, roles
from iop.server.auth import Authenticator, require_namespace
from iop.server.http import (
    BadRequest,
    MethodNotAllowed,
    NoRoute,
    error,
    error_for,
    read_json,
    refuse_foreign_origin,
)
from iop.server.limits import FORM_MAX_BYTES, BodyLimit, TooLarge
from iop.server.namespaces import Namespaces, canonical
from iop.server.users import User, UserStore

DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024  # projects of a few MB upload in one body
# The /api/ routes take them all and say 405 themselves, after authentication.
_ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]


class Server:
    """What the routes share: accounts, namespaces, the body size limit."""

    def __init__(self, users: UserStore | None = None, namespaces: Namespaces | None = None,
                 *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
                 allow_anonymous: bool = False) -> None:
        self.users = users or UserStore()
        self.namespaces = namespaces or Namespaces()
        self.auth = Authenticator(self.users, allow_anonymous=allow_anonymous)
        self.max_body_bytes = max_body_bytes

    async def authenticate(self, request: Request) -> User | None:
        """The caller (None: allowed anonymous); raises Unauthorized. The password hash is
        slow on purpose, so it runs off the event loop, after the failed-login back-off."""
        header = request.headers.get("authorization", "")
        address = request.client.host if request.client else ""
        await asyncio.sleep(self.auth.delay(header, address))
        return await run_in_threadpool(self.auth.user_for, header, address)

    def body_limit(self, path: str) -> int:
        """The largest body a request to ``path`` may carry: the API's limit, or a form's."""
        return self.max_body_bytes if path.startswith("/api/") else FORM_MAX_BYTES

    async def body(self, request: Request) -> dict[str, Any]:
        data = await read_json(request, self.max_body_bytes)
        if not isinstance(data, dict):
            raise BadRequest("request body must be a JSON object")
        return data


def _handler(method: str, route: str) -> api.Handler:
    """The handler of ``method /api/iop/<route>``; NoRoute or MethodNotAllowed otherwise."""
    handler = api.ROUTES.get((method, route))
    if handler is not None:
        return handler
    if any(path == route for (_, path) in api.ROUTES):
        raise MethodNotAllowed(f"{method} is not allowed on /api/iop/{route}")
    raise NoRoute(f"no route /api/iop/{route}")


def _api_routes(server: Server) -> list[BaseRoute]:
    # Every /api/ route takes every method and authenticates before anything else, so a
    # stranger learns nothing (not even which routes exist) from 404s and 405s.
    async def iop_route(request: Request) -> Response:
        user = await server.authenticate(request)
        route = request.path_params["route"].strip("/")
        handler = _handler(request.method, route)
        refuse_foreign_origin(request)
        body: dict[str, Any] = {}
        if request.method in ("POST", "PUT"):
            body = await server.body(request)
        query = dict(request.query_params)
        # IRIS's rule: a non-empty namespace in a POST/PUT body wins over the query.
        wanted = body.get("namespace") if isinstance(body.get("namespace"), str) else None
        namespace = canonical(wanted or query.get("namespace") or None)
        require_namespace(user, namespace)
        roles.require(user, namespace, request.method, route)
        client = await run_in_threadpool(server.namespaces.client, namespace)
        caller = [user.name if user else ""] if (request.method, route) in api.RECORDS_CALLER \
            else []
        result = await run_in_threadpool(handler, client, query, body, *caller)
        return JSONResponse(result)

    async def openapi_route(request: Request) -> Response:
        roles.require_any(await server.authenticate(request))
        if request.method != "GET":
            raise MethodNotAllowed(f"{request.method} is not allowed on {request.url.path}")
        return JSONResponse(openapi.document())

    async def atelier_route(request: Request) -> Response:
        user = await server.authenticate(request)
        refuse_foreign_origin(request)
        namespace = canonical(request.path_params["namespace"])
        require_namespace(user, namespace)
        roles.require_atelier(user, namespace)
        payload = await read_json(request, server.max_body_bytes) \
            if request.method in ("POST", "PUT") else None
        result, status = await run_in_threadpool(
            atelier.handle, server.namespaces, request.method, namespace,
            request.path_params["rest"], payload)
        return JSONResponse(result, status_code=status)

    async def unknown_api_route(request: Request) -> Response:
        await server.authenticate(request)
        raise NoRoute(f"no route {request.url.path}")

    return [
        Route("/api/iop/openapi.json", openapi_route, methods=_ANY_METHOD),
        Route("/api/iop/v1/openapi.json", openapi_route, methods=_ANY_METHOD),
        *api_accounts.routes(server),  # admin on every namespace (roles.is_account_admin)
        Route("/api/iop/v1/{route:path}", iop_route, methods=_ANY_METHOD),
        Route("/api/iop/{route:path}", iop_route, methods=_ANY_METHOD),
        Route("/api/atelier/v1/{namespace}/{rest:path}", atelier_route, methods=_ANY_METHOD),
        *api_services.routes(server),  # mounted HTTP services (EnableStandardRequests)
        Route("/api/{rest:path}", unknown_api_route, methods=_ANY_METHOD),
    ]


async def _not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    detail = exc.detail if isinstance(exc, HTTPException) else "internal error"
    if request.url.path.startswith("/api/"):
        try:  # a method no /api/ route takes (TRACE...): still nothing said to strangers
            await request.app.state.server.authenticate(request)
        except Exception as failure:  # raised inside a handler: no other handler sees it
            return error_for(failure)
        if status == 405:
            return error(405, f"{request.method} is not allowed on {request.url.path}")
        return error(status, f"no route {request.url.path}" if status == 404 else str(detail))
    return PlainTextResponse(str(detail), status_code=status)


ErrorPage = Callable[[Request, Exception], Awaitable[Response]]


async def api_error(request: Request, exc: Exception) -> Response:
    """The API's answer to what a route raised: one JSON error line (``http.error_for``)."""
    return error_for(exc)


async def _plain_error(request: Request, exc: Exception) -> Response:
    return PlainTextResponse("Internal Server Error", status_code=500)  # Starlette's own


def build_app(server: Server | None = None, *, routes: Sequence[BaseRoute] = (),
              page_error: ErrorPage | None = None) -> Starlette:
    """The server's ASGI app: the API, then ``routes`` (the portal mounts itself here), and
    ``page_error`` to answer what those routes raise (the portal's error page)."""
    state = server or Server()
    elsewhere = page_error or _plain_error

    async def failed(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith("/api/"):
            return await api_error(request, exc)
        if isinstance(exc, TooLarge):  # a form over its limit: BodyLimit answers it
            raise exc
        return await elsewhere(request, exc)

    app = Starlette(routes=[*_api_routes(state), *routes],
                    # IopError: a refusal, answered with its status. Exception: a bug of ours,
                    # answered (500) by Starlette's outermost middleware, which then raises it
                    # again for uvicorn to log.
                    exception_handlers={HTTPException: _not_found, IopError: failed,
                                        Exception: failed},
                    middleware=[Middleware(BodyLimit, limit_for=state.body_limit)])
    app.state.server = state
    return app
