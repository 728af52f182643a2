"""/api/services/<namespace>/<item>/<path>: the production's HTTP services through the server.

IRIS can run an HTTP service inside its web server (``EnableStandardRequests``). This server
never imports user code (see iop.server.isolated), so it does not run the service itself:
it authenticates the caller (operator role in the namespace, ``roles.SERVICES``) and relays
the request to the item's own listener on loopback, where the service runs in its job as for
any client; the item's answer (sent after its sends are committed) is relayed back. The item
must be in the running production, with ``EnableStandardRequests`` on and a ``Port``; the
relay reads both from the production's configuration, importing nothing.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from iop.engine import control
from iop.engine.config import parse_production
from iop.engine.errors import NotRunning, UnknownItem
from iop.server import roles
from iop.server.auth import require_namespace
from iop.server.http import NoRoute, refuse_foreign_origin
from iop.server.namespaces import canonical
from iop.store.base import Store

__all__ = ["PREFIX", "routes"]

PREFIX = "/api/services"
RELAY_CONNECT_SECONDS = 5.0
RELAY_RESPONSE_SECONDS = 300.0  # a synchronous service may wait long on its target
_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
# Not relayed: the caller's credentials (for this server only) and hop-by-hop headers.
_NOT_RELAYED = frozenset({"authorization", "cookie", "host", "content-length", "connection",
                          "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
                          "proxy-authorization"})
_NOT_RETURNED = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive",
                           "content-encoding"})
_ON = ("1", "true", "yes", "on")


def routes(server: Any) -> list[BaseRoute]:
    async def service_route(request: Request) -> Response:
        user = await server.authenticate(request)
        namespace = canonical(request.path_params["namespace"])
        require_namespace(user, namespace)
        roles.require_service(user, namespace)
        refuse_foreign_origin(request)
        client = await run_in_threadpool(server.namespaces.client, namespace)
        item = request.path_params["item"]
        address = await run_in_threadpool(listener_of, client.store, item)
        body = await request.body()  # BodyLimit has bounded it already
        return await _relay(request, address, body)

    return [
        Route(PREFIX + "/{namespace}/{item}/{rest:path}", service_route, methods=_METHODS),
        Route(PREFIX + "/{namespace}/{item}", service_route, methods=_METHODS),
    ]


def listener_of(store: Store, item: str) -> tuple[str, int]:
    """Where the item of the running production listens: (host, port); NoRoute when it does
    not take requests through the server, NotRunning when no production runs."""
    production, status = control.current_status(store)
    definition = store.get_production(production) if production and status != "stopped" \
        else None
    if definition is None:
        raise NotRunning("no production is running: its HTTP services cannot be called")
    config = parse_production(definition)
    found = config.item(item)
    if found is None:
        raise UnknownItem(f"item {item} is not in production {production}")
    settings = found.adapter_settings
    port = str(settings.get("Port", "") or "").strip()
    if str(settings.get("EnableStandardRequests", "")).strip().lower() not in _ON \
            or not port.isdigit() or int(port) <= 0:
        raise NoRoute(f"item {item} does not take requests under {PREFIX}: it needs the "
                      "EnsLib.HTTP.InboundAdapter settings EnableStandardRequests on and a Port")
    interface = str(settings.get("LocalInterface", "") or "").strip()
    return (interface if interface not in ("", "0.0.0.0", "::") else "127.0.0.1", int(port))


async def _relay(request: Request, address: tuple[str, int], body: bytes) -> Response:
    import httpx

    host, port = address
    headers = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_RELAYED}
    if request.client is not None:
        headers["x-forwarded-for"] = request.client.host
    path = "/" + request.path_params.get("rest", "")
    url = f"http://{host if ':' not in host else f'[{host}]'}:{port}{path}"
    timeout = httpx.Timeout(RELAY_RESPONSE_SECONDS, connect=RELAY_CONNECT_SECONDS)
    try:
        async with httpx.AsyncClient(timeout=timeout, trust_env=False) as client:
            answer = await client.request(request.method, url, content=body, headers=headers,
                                          params=request.url.query or None)
    except httpx.HTTPError as exc:
        return Response(f"the item's listener on port {port} did not answer "
                        f"({type(exc).__name__}); is the item running?\n", status_code=503,
                        media_type="text/plain", headers={"Retry-After": "5"})
    relayed = {k: v for k, v in answer.headers.items() if k.lower() not in _NOT_RETURNED}
    return Response(answer.content, status_code=answer.status_code, headers=relayed)
