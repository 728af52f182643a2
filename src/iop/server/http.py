"""HTTP plumbing shared by the API routes: bounded JSON bodies and one-line JSON errors."""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from iop.engine.errors import EngineError
from iop.messages.codec import MessageError
from iop.production.errors import ProductionError
from iop.server.auth import REALM, Forbidden, Unauthorized
from iop.server.login_limits import LoginRefused
from iop.server.password_pool import Busy
from iop.server.uploads import UploadRejected
from iop.store.errors import StoreError

_log = logging.getLogger("iop.server")


class TooLarge(Exception):
    """The request body is over the server's limit (HTTP 413)."""


class BadRequest(Exception):
    """The request body is not the JSON the route needs (HTTP 400)."""


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _one_line(text: str, fallback: str) -> str:
    lines = [x.strip() for x in text.strip().splitlines() if x.strip()]
    return lines[0] if lines else fallback


def error_for(exc: Exception) -> JSONResponse:
    """The JSON error answer for ``exc``: 401/403/413/400 for the caller's mistakes, 500 for
    what the engine refused (IoP's client shows the ``error`` text either way)."""
    if isinstance(exc, Unauthorized):
        return error(401, str(exc), {"WWW-Authenticate": REALM})
    if isinstance(exc, Forbidden):
        return error(403, str(exc))
    if isinstance(exc, LoginRefused):
        return error(429, str(exc), {"Retry-After": str(exc.retry_after)})
    if isinstance(exc, Busy):
        return error(503, str(exc), {"Retry-After": str(exc.retry_after)})
    if isinstance(exc, TooLarge):
        return error(413, str(exc))
    if isinstance(exc, (BadRequest, UploadRejected)):
        return error(400, str(exc))
    if isinstance(exc, (EngineError, StoreError, MessageError, ProductionError)):
        return error(500, _one_line(str(exc), type(exc).__name__))
    _log.exception("unexpected error")
    return error(500, f"internal error: {type(exc).__name__}: {_one_line(str(exc), '')}")


async def read_json(request: Request, limit: int) -> Any:
    """The request's JSON body (``{}`` when empty), read up to ``limit`` bytes."""
    too_large = TooLarge(f"request body is larger than the server's limit of {limit} bytes")
    length = request.headers.get("content-length")
    if length is not None:
        try:
            if int(length) > limit:
                raise too_large
        except ValueError as exc:
            raise BadRequest("invalid Content-Length header") from exc
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from exc
