"""The ASGI application: /api/iop (and /api/iop/v1), the Atelier init routes, auth, errors."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from iop.engine.errors import EngineError
from iop.messages.codec import MessageError
from iop.server import api, atelier
from iop.server.namespaces import Namespaces, UnknownNamespace
from iop.server.users import User, UserStore
from iop.store.errors import StoreError

MAX_BODY_BYTES = 32 * 1024 * 1024
_AUTH_CACHE_SECONDS = 60.0


class Unauthorized(Exception):
    """Missing or wrong credentials."""


class Forbidden(Exception):
    """The user may not use that namespace."""


class TooLarge(Exception):
    """Request body over MAX_BODY_BYTES."""


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


class Server:
    """State shared by the routes: users, namespaces, a short cache of verified logins."""

    def __init__(self, users: UserStore | None = None, namespaces: Namespaces | None = None,
                 allow_anonymous: bool = False) -> None:
        self.users = users or UserStore()
        self.namespaces = namespaces or Namespaces()
        self.allow_anonymous = allow_anonymous
        self._verified: dict[str, tuple[float, User]] = {}
        self._lock = threading.Lock()

    def authenticate(self, request: Request) -> User | None:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            if self.allow_anonymous:
                return None
            raise Unauthorized("authentication required")
        try:
            name, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError) as exc:
            raise Unauthorized("malformed Basic credentials") from exc
        if not name and not password and self.allow_anonymous:
            return None
        key = hashlib.sha256(header.encode()).hexdigest()
        with self._lock:
            cached = self._verified.get(key)
        if cached is not None and time.monotonic() - cached[0] < _AUTH_CACHE_SECONDS:
            return cached[1]
        user = self.users.check(name, password)
        if user is None:
            raise Unauthorized("wrong user name or password")
        with self._lock:
            self._verified[key] = (time.monotonic(), user)
        return user


async def _json_body(request: Request) -> dict[str, Any] | list[Any]:
    length = request.headers.get("content-length")
    if length and int(length) > MAX_BODY_BYTES:
        raise TooLarge()
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise TooLarge()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EngineError(f"request body is not valid JSON: {exc}") from exc
    return data  # type: ignore[no-any-return]


def _guard(server: Server, request: Request, namespace: str) -> None:
    user = server.authenticate(request)
    if user is not None and not user.may_use(namespace):
        raise Forbidden(f"user {user.name} may not use namespace {namespace.upper()}")


def _respond(exc: Exception) -> JSONResponse:
    if isinstance(exc, Unauthorized):
        return _error(401, str(exc), **{"WWW-Authenticate": 'Basic realm="iop"'})
    if isinstance(exc, Forbidden):
        return _error(403, str(exc))
    if isinstance(exc, TooLarge):
        return _error(413, f"request body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB")
    if isinstance(exc, (EngineError, StoreError, MessageError, UnknownNamespace)):
        return _error(500, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    return _error(500, f"internal error: {type(exc).__name__}: {exc}".splitlines()[0])


def build_app(server: Server | None = None) -> Starlette:
    """The server's ASGI app."""
    state = server or Server()

    async def iop_route(request: Request) -> Response:
        route = request.path_params["route"].strip("/")
        handler = api.ROUTES.get((request.method, route))
        if handler is None:
            if any(path == route for (_, path) in api.ROUTES):
                return _error(405, f"{request.method} is not allowed on /api/iop/{route}")
            return _error(404, f"no route /api/iop/{route}")
        try:
            body: Any = {}
            if request.method in ("POST", "PUT"):
                body = await _json_body(request)
                if not isinstance(body, dict):
                    raise EngineError("request body must be a JSON object")
            query = dict(request.query_params)
            namespace = (body.get("namespace") if request.method in ("POST", "PUT") else None) \
                or query.get("namespace") or "USER"
            _guard(state, request, namespace)
            client = await run_in_threadpool(state.namespaces.client, namespace)
            result = await run_in_threadpool(handler, client, query, body)
        except Exception as exc:  # every failure is one JSON error line
            return _respond(exc)
        return JSONResponse(result)

    async def atelier_route(request: Request) -> Response:
        namespace = request.path_params["namespace"]
        try:
            _guard(state, request, namespace)
            body = await _json_body(request) if request.method in ("POST", "PUT") else {}
            result, status_code = await run_in_threadpool(
                atelier.handle, state.namespaces, request.method, namespace,
                request.path_params["rest"], body)
        except Exception as exc:
            return _respond(exc)
        return JSONResponse(result, status_code=status_code)

    methods = ["GET", "POST", "PUT", "DELETE"]
    routes = [
        Route("/api/iop/v1/{route:path}", iop_route, methods=methods),
        Route("/api/iop/{route:path}", iop_route, methods=methods),
        Route("/api/atelier/v1/{namespace}/{rest:path}", atelier_route, methods=methods),
    ]
    return Starlette(routes=routes)
