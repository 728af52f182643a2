"""HTTP plumbing shared by the API routes: bounded JSON bodies and one-line JSON errors.

``status_for`` is the one place where an exception becomes an HTTP status:

- 400: the request is malformed or its values are refused (``BadRequest``, an invalid
  upload, production, message or namespace name, and any other ``EngineError``: the
  engine's errors are the ones a user can fix);
- 401 / 403: credentials missing or wrong / a namespace or origin not allowed;
- 404: what the request names does not exist (route, production, item, class, message,
  namespace); 405: the route exists for other methods;
- 409: the state forbids it now (already running, not running, not suspended, busy);
- 413 / 415: the body is over the limit / not JSON;
- 503: the store cannot be reached or written (``StoreError``);
- 500: anything else, which is a bug of ours, and is logged with its traceback.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from iop.client.operator import MessageNotFound
from iop.connectors.credentials import UnknownCredentials
from iop.connectors.credentials_key import CredentialsKeyError
from iop.engine.errors import (
    AlreadyRunning,
    Busy,
    NotRunning,
    UnknownClass,
    UnknownItem,
    UnknownProduction,
)
from iop.engine.managed_alerts import AlertRefused, UnknownAlert
from iop.engine.queue_actions import NotWaiting
from iop.engine.suspended import NotSuspended
from iop.errors import (
    BodyRefused,
    CliError,
    ComponentError,
    EngineError,
    IopError,
    MessageError,
    ProductionError,
    RemoteError,
    RequestRefused,
    StoreError,
)
from iop.messages import json_body
from iop.production.errors import UnknownComponent
from iop.server.auth import REALM, Forbidden, Unauthorized
from iop.server.isolated import IsolatedError
from iop.server.limits import BadLength, TooLarge, read_bounded
from iop.server.login_limits import LoginRefused
from iop.server.namespaces import InvalidNamespaceName, ReservedNamespace, UnknownNamespace
from iop.server.password_pool import HashPoolBusy

__all__ = ["BadRequest", "MAX_JSON_DEPTH", "MethodNotAllowed", "NoRoute", "TooLarge",
           "UnsupportedMediaType", "check_depth", "error", "error_for", "query_int", "read_json",
           "refuse_foreign_origin", "status_for"]

_log = logging.getLogger("iop.server")

MAX_JSON_DEPTH = json_body.MAX_JSON_DEPTH  # nested arrays/objects; deeper is refused with 400


class BadRequest(RequestRefused):
    """The request is not what the route needs: its body, a field or a query value (400)."""


class UnsupportedMediaType(RequestRefused):
    """A request body that is not ``application/json`` (HTTP 415)."""


class NoRoute(RequestRefused):
    """No route at this path (HTTP 404); said only to an authenticated caller."""


class MethodNotAllowed(RequestRefused):
    """The path exists, not for this method (HTTP 405); said only to an authenticated caller."""


# The one table from the error tree (iop.errors) to HTTP statuses. Most specific first: the
# first class that matches gives the status; every branch of the tree ends the table.
_STATUS: tuple[tuple[tuple[type[IopError], ...], int], ...] = (
    ((Unauthorized,), 401),
    ((Forbidden, ReservedNamespace), 403),
    ((TooLarge,), 413),
    ((LoginRefused,), 429),
    ((HashPoolBusy,), 503),
    ((UnsupportedMediaType,), 415),
    ((MethodNotAllowed,), 405),
    ((BadRequest, BadLength, InvalidNamespaceName), 400),
    ((NoRoute, UnknownNamespace, UnknownProduction, UnknownItem, UnknownClass, UnknownComponent,
      MessageNotFound, UnknownAlert, UnknownCredentials), 404),
    ((AlreadyRunning, NotRunning, NotSuspended, NotWaiting, AlertRefused, Busy), 409),
    # The branches: what a user can fix is a 400; a store out of reach a 503; a component's
    # failure or a CLI misuse reaching the server is a bug of ours (500).
    ((EngineError, ProductionError, MessageError, RemoteError, RequestRefused), 400),
    # The server's credentials key is missing or unreadable: its administrator must fix it.
    ((StoreError, CredentialsKeyError), 503),
    ((ComponentError, CliError), 500),
)


def status_for(exc: BaseException) -> int:
    """The HTTP status that ``exc`` means (500: not one of ours, so a bug of ours)."""
    if isinstance(exc, IsolatedError):  # classified by the child that raised it
        return exc.status
    for classes, status in _STATUS:
        if isinstance(exc, classes):
            return status
    return 500


# The mark of a 400 answer whose cause is the request's message body (a BodyRefused): a
# remote client raises BodyRefused again, so that `iop -t`/`--resubmit -B` exit 2 as locally.
REFUSED_BODY = {"refused": "body"}


def error(status: int, message: str, headers: dict[str, str] | None = None,
          extra: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message, **(extra or {})}, status_code=status,
                        headers=headers)


def _one_line(text: str, fallback: str) -> str:
    lines = [x.strip() for x in text.strip().splitlines() if x.strip()]
    return lines[0] if lines else fallback


def error_for(exc: Exception) -> JSONResponse:
    """The one-line JSON error answer for ``exc``, with the status ``status_for`` gives."""
    status = status_for(exc)
    if status == 401:
        return error(401, str(exc), {"WWW-Authenticate": REALM})
    if isinstance(exc, (LoginRefused, HashPoolBusy)):
        return error(status, str(exc), {"Retry-After": str(exc.retry_after)})
    if status == 500:
        _log.error("unexpected error", exc_info=exc)
        return error(500, f"internal error: {type(exc).__name__}: {_one_line(str(exc), '')}")
    if status == 503:
        _log.error("store error: %s", exc)
    return error(status, _one_line(str(exc), type(exc).__name__),
                 extra=REFUSED_BODY if isinstance(exc, BodyRefused) else None)


def check_depth(raw: bytes, limit: int = MAX_JSON_DEPTH) -> None:
    """BadRequest when ``raw`` nests arrays/objects deeper than ``limit`` (brackets inside
    strings do not count); checked before parsing, which would recurse that deep."""
    try:
        json_body.check_depth(raw, limit, what="request body")
    except json_body.BodyError as exc:
        raise BadRequest(str(exc)) from exc


MAX_ID = 2**63 - 1  # ids and counts are 64-bit in the store


def query_int(query: dict[str, str], key: str, low: int = 0, high: int = MAX_ID) -> int | None:
    """The whole number ``query[key]`` (None when absent or empty); BadRequest when it is not
    one or lies outside ``low``..``high``."""
    text = query.get(key)
    if text is None or not text.strip():
        return None
    try:
        value = int(text.strip())
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise BadRequest(f"{key} must be a whole number from {low} to {high}, got {text[:40]!r}")
    return value


STATE_CHANGING = ("POST", "PUT", "DELETE", "PATCH")


def refuse_foreign_origin(request: Request) -> None:
    """Forbidden for a state-changing call whose ``Origin`` is not this server: a page of
    another site must not drive the API with the browser's credentials. Clients that are
    not browsers send no Origin and are not concerned."""
    if request.method not in STATE_CHANGING:
        return
    origin = request.headers.get("origin")
    if origin is None:
        return
    host = request.headers.get("host", "").lower()
    if not host or origin.split("://", 1)[-1].rstrip("/").lower() != host:
        raise Forbidden(f"cross-site request refused: Origin {origin[:100]!r} is not this "
                        "server")


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json"


async def read_json(request: Request, limit: int) -> Any:
    """The request's JSON body (``{}`` when empty), read up to ``limit`` bytes; a non-empty
    body must say it is ``application/json`` (a form or text/plain one is refused)."""
    raw = await read_bounded(request, limit)
    if not raw.strip():
        return {}
    if not _is_json(request.headers.get("content-type", "")):
        raise UnsupportedMediaType("request body must be JSON (Content-Type: application/json)")
    # Checking and parsing megabytes takes a while: off the event loop.
    return await run_in_threadpool(_parse, raw)


def _parse(raw: bytes) -> Any:
    check_depth(raw)
    try:
        return json.loads(raw)
    except RecursionError as exc:
        raise BadRequest("request body nests JSON too deeply") from exc
    except ValueError as exc:  # not JSON, not UTF-8, or an integer of thousands of digits
        raise BadRequest(f"request body is not valid JSON: {exc}") from exc
