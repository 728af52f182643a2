"""/api/services/<namespace>/<item>/<path>: HTTP services run inside the server.

IRIS runs an HTTP service "in the web server" when its EnableStandardRequests is on; here an
item whose adapter is ``EnsLib.HTTP.InboundAdapter`` with ``EnableStandardRequests`` on
takes requests at this path as it does on its own Port: the request becomes an
``EnsLib.HTTP.GenericMessage`` (``URL`` is the part after the item's name), the service
runs in the server's process as a Director's does (``create_business_service``), and what
it returns is the response, sent after its sends are committed. The caller authenticates
first, and needs the operator role in the namespace (``roles.SERVICES``).
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from iop.connectors.http.generic_message import GenericMessage
from iop.connectors.http.http_inbound import HTTPInboundAdapter, log_failure
from iop.connectors.http.http_replies import Reply, error_reply, reply_for
from iop.engine.in_process_service import create_business_service
from iop.server import roles
from iop.server.auth import require_namespace
from iop.server.http import NoRoute, refuse_foreign_origin
from iop.server.namespaces import canonical
from iop.store.base import Store

__all__ = ["PREFIX", "routes"]

PREFIX = "/api/services"
_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]


def routes(server: Any) -> list[BaseRoute]:
    async def service_route(request: Request) -> Response:
        user = await server.authenticate(request)
        namespace = canonical(request.path_params["namespace"])
        require_namespace(user, namespace)
        roles.require_service(user, namespace)
        refuse_foreign_origin(request)
        body = await request.body()  # BodyLimit has bounded it already
        client = await run_in_threadpool(server.namespaces.client, namespace)
        message = GenericMessage.request(
            request.method, "/" + request.path_params.get("rest", ""), body,
            {k.lower(): v for k, v in request.headers.items() if k.lower() != "authorization"},
            request.url.query)
        message.HTTPHeaders["RemoteAddr"] = request.client.host if request.client else ""
        reply = await run_in_threadpool(call_service, client.store,
                                        request.path_params["item"], message)
        return Response(reply.body, status_code=reply.status, headers=reply.headers)

    return [
        Route(PREFIX + "/{namespace}/{item}/{rest:path}", service_route, methods=_METHODS),
        Route(PREFIX + "/{namespace}/{item}", service_route, methods=_METHODS),
    ]


def call_service(store: Store, item: str, request: GenericMessage) -> Reply:
    """Run the service ``item`` on ``request`` in this process; what to answer."""
    host = create_business_service(store, item)
    adapter = getattr(host, "adapter", None)
    try:
        if not isinstance(adapter, HTTPInboundAdapter) or not adapter.EnableStandardRequests:
            raise NoRoute(f"item {item} does not take requests under {PREFIX} (its adapter "
                          "must be EnsLib.HTTP.InboundAdapter with EnableStandardRequests on)")
        if len(request.body()) > int(adapter.MaxBodySize or 0):
            return error_reply(413, f"request body is over the limit of {adapter.MaxBodySize}")
        try:
            result = host.on_process_input(request)
        except Exception as exc:
            log_failure(host, request, exc)
            return error_reply(500, f"{type(exc).__name__}: {exc}")
        return reply_for(result)
    finally:
        try:
            if adapter is not None:
                adapter.on_tear_down()
            host.on_tear_down()
        finally:
            host._iop_runtime.flush_logs()
