"""``EnsLib.HTTP.GenericMessage``: an HTTP request or response carried through a production.

As in IRIS, the request line and status line travel in ``HTTPHeaders`` beside the real
headers: ``HttpRequest`` (the method), ``URL`` (the path), ``RawParams`` (the query string)
for a request, ``StatusLine`` (``HTTP/1.1 200 OK``) for a response. ``Stream`` holds the body
as text; a body that is not text (``Type`` ``Binary``) is held in base64.
"""

from __future__ import annotations

import base64
import http
from dataclasses import dataclass, field

from iop.messages.base import Message
from iop.messages.codec import register_message_class

__all__ = ["GenericMessage", "PSEUDO_HEADERS"]

# Keys of HTTPHeaders that are no HTTP header: never sent on the wire.
PSEUDO_HEADERS = frozenset({"httprequest", "url", "rawparams", "statusline", "httpversion",
                            "remoteaddr", "charencoding"})
BINARY = "Binary"


@dataclass
class GenericMessage(Message):
    """EnsLib.HTTP.GenericMessage: HTTP headers (with the request or status line) and body."""

    Stream: str = ""
    Type: str = ""  # "" the body is text; "Binary": Stream holds it in base64
    HTTPHeaders: dict[str, str] = field(default_factory=dict)

    @classmethod
    def request(cls, method: str, url: str, body: bytes = b"", headers: dict[str, str] | None = None,
                query: str = "") -> GenericMessage:
        message = cls(HTTPHeaders=_real(headers))
        message.HTTPHeaders.update(HttpRequest=method.upper(), URL=url, RawParams=query)
        message.set_body(body, message.header("content-type"))
        return message

    @classmethod
    def response(cls, status: int, body: bytes = b"", headers: dict[str, str] | None = None
                 ) -> GenericMessage:
        message = cls(HTTPHeaders=_real(headers))
        message.HTTPHeaders["StatusLine"] = _status_line(status)
        message.set_body(body, message.header("content-type"))
        return message

    def header(self, name: str, default: str = "") -> str:
        """A header's value, whatever the case of its name."""
        wanted = name.lower()
        for key, value in self.HTTPHeaders.items():
            if key.lower() == wanted:
                return str(value)
        return default

    @property
    def method(self) -> str:
        return self.header("HttpRequest", "GET").upper()

    @property
    def url(self) -> str:
        return self.header("URL")

    @property
    def query(self) -> str:
        return self.header("RawParams")

    @property
    def status(self) -> int:
        """The status code of a response (200 when the message has no status line)."""
        parts = self.header("StatusLine").split()
        return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 200

    def wire_headers(self) -> dict[str, str]:
        """The real HTTP headers, without the request or status line entries."""
        return {k: str(v) for k, v in self.HTTPHeaders.items() if k.lower() not in PSEUDO_HEADERS}

    def body(self) -> bytes:
        if self.Type == BINARY:
            return base64.b64decode(self.Stream)
        return self.Stream.encode(_charset(self.header("content-type")), errors="replace")

    def set_body(self, body: bytes, content_type: str = "") -> None:
        try:
            self.Stream, self.Type = body.decode(_charset(content_type)), ""
        except (UnicodeDecodeError, LookupError):
            self.Stream, self.Type = base64.b64encode(body).decode("ascii"), BINARY


def _real(headers: dict[str, str] | None) -> dict[str, str]:
    """Headers received from outside, without any that would pass for the request or status
    line (a client sending ``HttpRequest: DELETE`` must not change the method)."""
    return {k: v for k, v in (headers or {}).items() if k.lower() not in PSEUDO_HEADERS}


def _status_line(status: int) -> str:
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    return f"HTTP/1.1 {status} {reason}".rstrip()


def _charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip('"')
    return "utf-8"


GenericMessage._iop_class_name = "EnsLib.HTTP.GenericMessage"  # type: ignore[attr-defined]
register_message_class("EnsLib.HTTP.GenericMessage", GenericMessage)
