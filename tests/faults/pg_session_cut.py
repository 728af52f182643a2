"""A TCP relay to a real PostgreSQL server that has the server end one fresh session at the
worst moment: right after the session said it was ready, before the client's first
statement reaches it. That is what a ``pg_ctl restart -m fast`` does to a connection opened
just before the shutdown began (its first statement meets ``terminating connection due to
administrator command``); here it happens every time instead of once in many restarts.

The relay reads the server's startup replies of the session to cut (the backend's pid is in
its BackendKeyData message), holds the client's first statement, has the server terminate
that backend (``pg_terminate_backend`` on a connection of its own), waits until the backend
is gone, then passes the statement on: the server's own FATAL answers it. Every other
session is relayed untouched. Connections through it must not ask for SSL or GSS
encryption (:attr:`SessionCutter.url` says so).
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from types import TracebackType

import psycopg

__all__ = ["SessionCutter"]


def _read_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("peer closed")
        data += chunk
    return data


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while chunk := src.recv(65536):
            dst.sendall(chunk)
    except OSError:
        pass
    finally:
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class SessionCutter:
    """Relays 127.0.0.1:``port`` to the server on ``server_port``; the next ``cuts`` sessions
    are ended by the server just after they became ready. ``cut`` counts those done."""

    def __init__(self, server_url: str, server_port: int, cuts: int = 1) -> None:
        self.server_url = server_url
        self.server_port = server_port
        self.pending = cuts
        self.cut = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = (f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
                    "?sslmode=disable&gssencmode=disable")
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            server = socket.create_connection(("127.0.0.1", self.server_port))
            self._sockets += [client, server]
            with self._lock:
                doomed = self.pending > 0
                self.pending -= doomed
            threading.Thread(target=self._serve, args=(client, server, doomed),
                             daemon=True).start()

    def _serve(self, client: socket.socket, server: socket.socket, doomed: bool) -> None:
        try:
            if doomed:
                self._cut_after_ready(client, server)
        except (OSError, ConnectionError, psycopg.Error):
            for sock in (client, server):
                sock.close()
            return
        threading.Thread(target=_pump, args=(server, client), daemon=True).start()
        _pump(client, server)

    def _cut_after_ready(self, client: socket.socket, server: socket.socket) -> None:
        startup_length = _read_exactly(client, 4)
        server.sendall(startup_length + _read_exactly(
            client, struct.unpack("!i", startup_length)[0] - 4))
        backend_pid = 0
        while True:  # the server's replies up to ReadyForQuery (trust: no password asked)
            kind = _read_exactly(server, 1)
            length = _read_exactly(server, 4)
            body = _read_exactly(server, struct.unpack("!i", length)[0] - 4)
            client.sendall(kind + length + body)
            if kind == b"K":  # BackendKeyData: the backend's pid, then its secret key
                backend_pid = struct.unpack("!i", body[:4])[0]
            if kind == b"Z":
                break
        first = client.recv(65536)  # the client's first statement, held back
        with psycopg.connect(self.server_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (backend_pid,))
            deadline = time.monotonic() + 10
            while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s",
                                (backend_pid,)).fetchone() and time.monotonic() < deadline:
                time.sleep(0.01)
        with self._lock:
            self.cut += 1
        try:
            server.sendall(first)
        except OSError:
            pass  # the backend closed its end: its FATAL waits in the socket for the client

    def close(self) -> None:
        self._listener.close()
        for sock in self._sockets:
            sock.close()

    def __enter__(self) -> SessionCutter:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
