"""A TCP listener: accepts connections on a port and runs each on a thread of its own
until the listener is closed (which closes its connections too, promptly)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

from iop.errors import ConnectorError

__all__ = ["TcpListener"]

Handler = Callable[[socket.socket, tuple[str, int]], None]


class TcpListener:
    """Listens on ``(interface, port)``; ``handler(conn, peer)`` runs per connection."""

    def __init__(self, interface: str, port: int, handler: Handler, name: str = "tcp") -> None:
        self._handler = handler
        self._name = name
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        try:
            self._server = socket.create_server((interface or "0.0.0.0", int(port)), backlog=16,
                                                reuse_port=False)
        except OSError as exc:
            # create_server appends "(while attempting to bind ...)": the address is said
            # already.
            cause = str(exc.strerror or exc).split(" (while attempting", 1)[0]
            raise ConnectorError(f"cannot listen on {interface or '0.0.0.0'}:{port}: "
                                 f"{cause.lower()}") from None
        self._server.settimeout(0.5)
        self.port = self._server.getsockname()[1]
        self._thread = threading.Thread(target=self._accept_loop, name=f"{name}-accept",
                                        daemon=True)
        self._thread.start()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def connection_count(self) -> int:
        with self._lock:
            return len(self._connections)

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                conn, peer = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._closed.is_set():
                    return
                continue
            with self._lock:
                if self._closed.is_set():
                    conn.close()
                    return
                self._connections.add(conn)
            threading.Thread(target=self._serve, args=(conn, peer), daemon=True,
                             name=f"{self._name}-{peer[0]}:{peer[1]}").start()

    def _serve(self, conn: socket.socket, peer: tuple[str, int]) -> None:
        try:
            self._handler(conn, peer)
        finally:
            with self._lock:
                self._connections.discard(conn)
            try:
                conn.close()
            except OSError:
                pass

    def close(self) -> None:
        """Stop accepting and shut every open connection."""
        self._closed.set()
        try:
            self._server.close()
        except OSError:
            pass
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(timeout=2)
