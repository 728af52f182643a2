"""Request bodies bounded as they stream: no route, authenticated or not, buffers more than
its limit.

``BodyLimit`` wraps the whole ASGI app, so it runs before routing and authentication. A
``Content-Length`` over the limit is answered 413 without reading a byte; a body without one
(chunked) is counted as the app reads it, and the read that passes the limit raises
``TooLarge``, which becomes the same 413. ``read_bounded`` is the readers' own guard, for
any app built without the middleware.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import Request

from iop.errors import RequestRefused

FORM_MAX_BYTES = 1024 * 1024  # the portal's forms: a login, a setting, an edited message

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class TooLarge(RequestRefused):
    """The request body is over the route's limit (HTTP 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body is larger than the server's limit of {limit} bytes")


class BadLength(RequestRefused):
    """The Content-Length header is not a byte count (HTTP 400)."""


def declared_length(headers: Any) -> int | None:
    """The request's Content-Length (None when absent); BadLength when it is not a count."""
    raw = headers.get("content-length")
    if raw is None:
        return None
    text = raw.decode("latin-1") if isinstance(raw, bytes) else str(raw)
    if not text.strip().isdigit():
        raise BadLength(f"invalid Content-Length header {text[:40]!r}")
    return int(text)


async def read_bounded(request: Request, limit: int) -> bytes:
    """The whole body, refused with TooLarge as soon as it passes ``limit`` bytes."""
    length = declared_length(request.headers)
    if length is not None and length > limit:
        raise TooLarge(limit)
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def _refuse(send: Send, status: int, text: str) -> None:
    body = json.dumps({"error": text}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """ASGI middleware: 413 for a body over ``limit_for(path)`` bytes, before it is read."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        headers = {k.decode("latin-1").lower(): v for k, v in scope.get("headers", [])}
        try:
            length = declared_length(headers)
        except BadLength as exc:
            await _refuse(send, 400, str(exc))
            return
        if length is not None and length > limit:
            await _refuse(send, 413, str(TooLarge(limit)))
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise TooLarge(limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except TooLarge as exc:
            if started:
                raise
            await _refuse(send, 413, str(exc))
