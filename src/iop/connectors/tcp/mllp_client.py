"""One outbound TCP connection that sends MLLP frames and reads the answer frame; it is
opened when first needed, reused, and reopened once when found dead (the peer restarted)."""

from __future__ import annotations

import socket

from iop.connectors.tcp.mllp_framing import (
    DEFAULT_MAX_FRAME,
    FrameReader,
    FramingError,
    PeerClosed,
    mllp_frame,
)
from iop.errors import ConnectorError

__all__ = ["MllpClient"]


class MllpClient:
    """Frames to ``host:port``, one at a time; ``system`` names the peer in errors."""

    def __init__(self, host: str, port: int, connect_timeout: float = 5.0,
                 response_timeout: float = 30.0, max_size: int = DEFAULT_MAX_FRAME,
                 local_interface: str = "", system: str = "MLLP") -> None:
        self.host = host
        self.port = int(port)
        self.connect_timeout = connect_timeout
        self.response_timeout = response_timeout
        self.max_size = max_size
        self.local_interface = local_interface
        self.system = system
        self._sock: socket.socket | None = None
        self._reader: FrameReader | None = None

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def connect(self) -> None:
        if self._sock is not None:
            return
        source = (self.local_interface, 0) if self.local_interface else None
        try:
            sock = socket.create_connection((self.host, self.port), self.connect_timeout,
                                            source_address=source)
        except OSError as exc:
            raise ConnectorError(f"{self.system} {self.where}: cannot connect: "
                                 f"{_cause(exc)}") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        self._reader = FrameReader(sock, self.max_size)

    def close(self) -> None:
        sock, self._sock, self._reader = self._sock, None, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    def exchange(self, payload: bytes, want_reply: bool = True) -> bytes | None:
        """Send ``payload`` framed and return the reply frame's payload (None when
        ``want_reply`` is off). A connection that turns out dead before anything was
        answered is reopened once; then a failure is a ConnectorError."""
        fresh = self._sock is None
        try:
            return self._exchange_once(payload, want_reply)
        except (PeerClosed, ConnectionError, BrokenPipeError) as exc:
            self.close()
            if fresh:
                raise ConnectorError(f"{self.system} {self.where}: {_cause(exc)}") from None
        # The reused connection was stale (the peer restarted): one more try on a new one.
        try:
            return self._exchange_once(payload, want_reply)
        except (PeerClosed, ConnectionError, BrokenPipeError) as exc:
            self.close()
            raise ConnectorError(f"{self.system} {self.where}: {_cause(exc)}") from None

    def _exchange_once(self, payload: bytes, want_reply: bool) -> bytes | None:
        self.connect()
        assert self._sock is not None and self._reader is not None
        try:
            self._sock.settimeout(self.response_timeout)
            self._sock.sendall(mllp_frame(payload))
            if not want_reply:
                return None
            return self._reader.read(self.response_timeout)
        except TimeoutError:
            self.close()
            raise ConnectorError(f"{self.system} {self.where}: no reply within "
                                 f"{self.response_timeout:g} s") from None
        except FramingError as exc:
            self.close()
            raise ConnectorError(f"{self.system} {self.where}: {exc}") from None
        except OSError as exc:
            if isinstance(exc, ConnectionError):
                raise
            self.close()
            raise ConnectorError(f"{self.system} {self.where}: {_cause(exc)}") from None


def _cause(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower() if exc.strerror[:1].isupper() else exc.strerror
    return str(exc) or type(exc).__name__
