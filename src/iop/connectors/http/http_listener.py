"""The HTTP server an inbound adapter runs: one thread per connection, each request turned
into a ``GenericMessage`` and answered with what ``respond`` returns.

Every input is bounded: the request line and headers by ``http.server`` (64 KiB a line,
100 headers), the body by ``max_body`` (a larger one is refused with 413 before it is read;
a body without Content-Length with 411), a silent peer by ``read_timeout``, the open
connections (and so the threads) by ``MAX_CONNECTIONS``. Refusals are one
plain-text line; a peer not in ``allowed`` is disconnected without an answer.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from iop.connectors.http.generic_message import GenericMessage
from iop.connectors.http.http_replies import Reply, error_reply
from iop.errors import ConnectorError

__all__ = ["HTTPListener"]

Respond = Callable[[GenericMessage], Reply]
MAX_CONNECTIONS = 100  # open connections at once; more are answered 503 and closed
_TOO_MANY_TEXT = b"too many connections, retry later\n"
_TOO_MANY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
             b"Retry-After: 1\r\nConnection: close\r\nContent-Length: "
             + str(len(_TOO_MANY_TEXT)).encode() + b"\r\n\r\n" + _TOO_MANY_TEXT)
METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")


class HTTPListener:
    """Listens on ``interface:port`` (all interfaces when empty) until ``close``."""

    def __init__(self, port: int, respond: Respond, *, interface: str = "",
                 allowed: list[str] | None = None, tls: tuple[str, str] | None = None,
                 read_timeout: float = 5.0, max_body: int = 10 * 1024 * 1024) -> None:
        self._allowed = _resolve(allowed or [])
        handler = _handler_class(respond, read_timeout, max_body)
        try:
            self._server = _Server((interface or "0.0.0.0", port), handler)
        except OSError as exc:
            raise ConnectorError(f"HTTP listener on {interface or '*'}:{port}: "
                                 f"{exc.strerror or exc}") from None
        self._server.allowed = self._allowed
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            try:
                context.load_cert_chain(tls[0], tls[1] or None)
            except (OSError, ssl.SSLError) as exc:
                self._server.server_close()
                raise ConnectorError(f"HTTP listener on port {port}: SSLConfig {tls[0]}: "
                                     f"{getattr(exc, 'strerror', None) or exc}") from None
            self._server.tls = context
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.2,),
                                        name=f"http-listener-{port}", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def close(self) -> None:
        """Stop accepting, close the socket; requests in progress are failed by the hand-off."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    allowed: set[str] = set()
    tls: ssl.SSLContext | None = None

    def __init__(self, address: tuple[str, int], handler: type) -> None:
        super().__init__(address, handler)
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def process_request(self, request: Any, client_address: Any) -> None:
        # One thread per connection, so a bound on connections bounds the threads.
        if not self._slots.acquire(blocking=False):
            if self.tls is None:
                try:
                    request.sendall(_TOO_MANY)
                except OSError:
                    pass
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def verify_request(self, request: Any, client_address: Any) -> bool:
        return not self.allowed or client_address[0] in self.allowed

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.tls is not None:
            try:
                request.settimeout(10)
                request = self.tls.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError):
                return  # a failed handshake: nothing to answer
        super().finish_request(request, client_address)


def _handler_class(respond: Respond, read_timeout: float, max_body: int) -> type:
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: clients reuse their connection
        timeout = read_timeout if read_timeout > 0 else None
        server_version = "iop"
        sys_version = ""

        def handle_one_request(self) -> None:
            try:
                super().handle_one_request()
            except (TimeoutError, ConnectionError, ssl.SSLError):
                self.close_connection = True

        def _serve(self) -> None:
            if self.headers.get("transfer-encoding"):
                return self._answer(error_reply(411, "send the body with a Content-Length, "
                                                     "not chunked"), close=True)
            length_text = self.headers.get("content-length", "0") or "0"
            if not length_text.isdigit():
                return self._answer(error_reply(400, "Content-Length is not a number"),
                                    close=True)
            length = int(length_text)
            if length > max_body:
                return self._answer(error_reply(413, f"request body of {length} bytes is over "
                                                     f"the limit of {max_body}"), close=True)
            body = self.rfile.read(length) if length else b""
            if len(body) < length:
                self.close_connection = True
                return None  # the peer went away mid-body
            parts = urlsplit(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            request = GenericMessage.request(self.command, parts.path, body, headers, parts.query)
            request.HTTPHeaders["HTTPVersion"] = self.request_version.split("/")[-1]
            request.HTTPHeaders["RemoteAddr"] = self.client_address[0]
            self._answer(respond(request))
            return None

        def _answer(self, reply: Reply, close: bool = False) -> None:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)

        def send_error(self, code: int, message: str | None = None,
                       explain: str | None = None) -> None:
            # http.server's own refusals (a bad request line, too many headers): one line,
            # with a status line even when the request line was not HTTP/1.x.
            self.request_version = "HTTP/1.1"
            self._answer(error_reply(code, message or explain or "bad request"), close=True)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the production's log says what matters; no access log on stderr

    for method in METHODS:
        setattr(RequestHandler, f"do_{method}", RequestHandler._serve)
    return RequestHandler


def _resolve(names: list[str]) -> set[str]:
    """The IP addresses of ``names`` (addresses or host names; an optional :port ignored)."""
    addresses: set[str] = set()
    for name in names:
        host = name.strip()
        if host.count(":") == 1:
            host = host.split(":")[0]
        if not host:
            continue
        try:
            for info in socket.getaddrinfo(host, None):
                addresses.add(str(info[4][0]))
        except OSError:
            addresses.add(host)
    return addresses
