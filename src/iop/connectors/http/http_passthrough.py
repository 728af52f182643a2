"""The generic HTTP and REST hosts: HTTP in, through a production, HTTP out, no code.

``EnsLib.HTTP.GenericService`` sends each request (a ``GenericMessage``) to its
TargetConfigName and answers with the target's response (synchronous), or 202 at once
when OneWay. ``EnsLib.HTTP.GenericOperation`` sends a ``GenericMessage`` through its
outbound adapter and returns the response as a ``GenericMessage``; a 4xx response is
returned (the server answered the request), a 5xx or an unreachable server is the
message's error, for ReplyCodeActions / RetryInterval / FailureTimeout. The REST ones
differ in the path: ``EnsLib.REST.GenericOperation`` appends the request's path to the
adapter's URL, where the HTTP one sends to the URL itself (the request's path when URL is
empty).
"""

from __future__ import annotations

from typing import Any

from iop.components.operation import BusinessOperation
from iop.components.service import BusinessService
from iop.components.settings import Category, setting, target
from iop.connectors.http.generic_message import GenericMessage
from iop.connectors.http.http_outbound import HTTPStatusError

__all__ = ["GenericOperation", "GenericService", "RESTGenericOperation", "RESTGenericService"]

# Not forwarded: hop-by-hop headers and those the client sets from its own connection.
_NOT_FORWARDED = frozenset({"host", "content-length", "connection", "keep-alive",
                            "transfer-encoding", "te", "trailer", "upgrade",
                            "proxy-authorization", "proxy-connection", "accept-encoding"})
# Not returned: what described the body on the wire (httpx has already decoded it).
_NOT_RETURNED = frozenset({"content-length", "content-encoding", "transfer-encoding",
                           "connection", "keep-alive"})


class GenericService(BusinessService):
    """EnsLib.HTTP.GenericService: each HTTP request to TargetConfigName, its response back."""

    TargetConfigName = target(description="Item each request is sent to")
    OneWay = setting(False, category=Category.ADDITIONAL,
                     description="Send asynchronously and answer 202 at once, without waiting "
                                 "for the target's response")

    @classmethod
    def get_adapter_type(cls) -> str | None:
        return "EnsLib.HTTP.InboundAdapter"

    def on_process_input(self, message_input: Any = None) -> Any:
        name = str(self.TargetConfigName or "").strip()
        if not name:
            raise ValueError(f"{type(self).__name__}: the TargetConfigName setting is empty")
        if self.OneWay:
            self.send_request_async(name, message_input)
            return GenericMessage.response(202)
        return self.send_request_sync(name, message_input)


class RESTGenericService(GenericService):
    """EnsLib.REST.GenericService: GenericService for REST calls (every method, any path)."""


class GenericOperation(BusinessOperation):
    """EnsLib.HTTP.GenericOperation: sends a GenericMessage, returns the response as one."""

    @classmethod
    def get_adapter_type(cls) -> str | None:
        return "EnsLib.HTTP.OutboundAdapter"

    def on_message(self, request: Any) -> Any:
        if not isinstance(request, GenericMessage):
            raise TypeError(f"{type(self).__name__} sends EnsLib.HTTP.GenericMessage, not "
                            f"{type(request).__name__}")
        headers = {k: v for k, v in request.wire_headers().items()
                   if k.lower() not in _NOT_FORWARDED}
        try:
            response = self.adapter.send(request.method, self.path_for(request),
                                         request.body() or None, headers=headers,
                                         params=request.query or None)
        except HTTPStatusError as exc:
            if exc.response is None or exc.status_code >= 500:
                raise
            response = exc.response  # answered: the caller gets the answer, no retry
        return GenericMessage.response(response.status_code, response.content,
                                       {k.lower(): v for k, v in response.headers.items()
                                        if k.lower() not in _NOT_RETURNED})

    def path_for(self, request: GenericMessage) -> str:
        """Where the request goes: the adapter's URL, or the request's path without one."""
        return "" if str(self.adapter.URL or "") else request.url


class RESTGenericOperation(GenericOperation):
    """EnsLib.REST.GenericOperation: sends to the request's path under the adapter's URL."""

    def path_for(self, request: GenericMessage) -> str:
        return request.url.lstrip("/")
