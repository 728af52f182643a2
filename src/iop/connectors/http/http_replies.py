"""What an HTTP service's returned value becomes as the HTTP response.

- a ``GenericMessage``: its status line, headers and body;
- None: ``200`` with an empty body;
- a string or bytes: ``200``, ``text/plain`` (bytes: ``application/octet-stream``);
- any other message: ``200``, the message as JSON (``application/json``).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from iop.connectors.http.generic_message import GenericMessage

__all__ = ["Reply", "error_reply", "reply_for"]

# Headers the listener sets itself from the body it sends.
_OWN_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})


@dataclasses.dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def reply_for(result: Any) -> Reply:
    if result is None:
        return Reply(200, {}, b"")
    if isinstance(result, GenericMessage):
        headers = {k: v for k, v in result.wire_headers().items() if k.lower() not in _OWN_HEADERS}
        return Reply(result.status, headers, result.body())
    if isinstance(result, bytes):
        return Reply(200, {"Content-Type": "application/octet-stream"}, result)
    if isinstance(result, str):
        return Reply(200, {"Content-Type": "text/plain; charset=utf-8"}, result.encode("utf-8"))
    return Reply(200, {"Content-Type": "application/json"},
                 json.dumps(_as_json(result), default=str).encode("utf-8"))


def error_reply(status: int, text: str, headers: dict[str, str] | None = None) -> Reply:
    """A one-line plain-text error: the first line of ``text``, never a traceback."""
    line = (text.strip().splitlines() or [""])[0][:500]
    return Reply(status, {"Content-Type": "text/plain; charset=utf-8", **(headers or {})},
                 (line + "\n").encode("utf-8"))


def _as_json(result: Any) -> Any:
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return dataclasses.asdict(result)
    dump = getattr(result, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    return result
