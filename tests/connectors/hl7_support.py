"""Helpers of the HL7/MLLP tests: an MLLP peer written here (a sender and a restartable
receiver that ACKs), sample messages, and the production the tests run with the real CLI."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from remote_server import free_port  # noqa: F401 - re-exported to the family's tests

START, END = b"\x0b", b"\x1c\x0d"

PRODUCTION = "HL7.Test.Production"


def adt(control_id: str, family: str = "Doe") -> str:
    """An ADT^A01 message with the given control id, segments ending with CR."""
    return ("MSH|^~\\&|SENDAPP|SENDFAC|RECVAPP|RECVFAC|20240101120000||ADT^A01^ADT_A01|"
            f"{control_id}|P|2.5\r"
            "EVN|A01|20240101120000\r"
            f"PID|1||{control_id}^^^HOSP^MR~X{control_id}^^^OTHER||{family}^John^Q||19800101|M\r"
            "PV1|1|I|WARD^101^1\r")


def read_frame(sock: socket.socket, timeout: float = 10.0) -> bytes:
    """One MLLP frame's payload from ``sock``; ConnectionError when it closes first."""
    sock.settimeout(timeout)
    data = b""
    while END not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
    start = data.index(START)
    return data[start + 1:data.index(END)]


class MllpSender:
    """A client of the production's TCP service: sends frames, reads the ACKs."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None

    def connect(self, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def send(self, payload: bytes | str, timeout: float = 20.0) -> bytes:
        if isinstance(payload, str):
            payload = payload.encode("latin-1")
        if self.sock is None:
            self.connect()
        assert self.sock is not None
        self.sock.sendall(START + payload + END)
        return read_frame(self.sock, timeout)

    def send_raw(self, data: bytes) -> None:
        if self.sock is None:
            self.connect()
        assert self.sock is not None
        self.sock.sendall(data)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


class MllpReceiver:
    """An HL7 peer the production's TCP operation sends to: records every message and ACKs
    it (``code`` AA by default, or what ``answer`` returns for a message). ``stop()`` and
    ``start()`` restart it on the same port, dropping its connections."""

    def __init__(self, port: int, answer: Callable[[str], str] | None = None) -> None:
        self.port = port
        self.answer = answer or (lambda text: "AA")
        self.received: list[str] = []
        self._lock = threading.Lock()
        self._server: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._stop = threading.Event()

    def start(self) -> None:
        self._stop.clear()
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(8)
        server.settimeout(0.2)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.close()
            self._server = None
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def _accept(self, server: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            while not self._stop.is_set():
                try:
                    payload = read_frame(conn, timeout=60)
                except (ConnectionError, OSError):
                    return
                text = payload.decode("latin-1")
                control = text.split("\r", 1)[0].split("|")[9]
                code = self.answer(text)
                with self._lock:
                    self.received.append(text)
                ack = (f"MSH|^~\\&|RECVAPP|RECVFAC|SENDAPP|SENDFAC|20240101120001||ACK^A01|"
                       f"A{control}|P|2.5\rMSA|{code}|{control}|"
                       f"{'refused by the test peer' if code != 'AA' else ''}\r")
                conn.sendall(START + ack.encode("latin-1") + END)
        finally:
            conn.close()

    def control_ids(self) -> list[str]:
        with self._lock:
            return [text.split("\r", 1)[0].split("|")[9] for text in self.received]


def production_source(in_port: int, out_port: int, ack_mode: str = "Immed",
                      operation_settings: dict[str, Any] | None = None,
                      service_settings: dict[str, Any] | None = None,
                      inbound_settings: dict[str, Any] | None = None) -> str:
    """A production: MLLP in (TCPService on ``in_port``) -> TCPOperation -> MLLP out."""
    op_settings = {"RetryInterval": "0.2", "FailureTimeout": "-1", **(operation_settings or {})}
    svc_settings = {"AckMode": ack_mode, "MessageSchemaCategory": "2.5",
                    **(service_settings or {})}
    in_settings = {"Port": str(in_port), "LocalInterface": "127.0.0.1", "CallInterval": "1",
                   **(inbound_settings or {})}
    return f'''
        from iop import OperationItem, Route, ServiceItem

        HL7_OUT = OperationItem("HL7Out", "EnsLib.HL7.Operation.TCPOperation",
                                settings={op_settings!r},
                                adapter_settings={{"IPAddress": "127.0.0.1",
                                                  "Port": "{out_port}",
                                                  "ConnectTimeout": "1",
                                                  "ResponseTimeout": "5"}})


        class HL7Production(Production):
            name = "{PRODUCTION}"

            services = (
                ServiceItem(
                    "HL7In",
                    "EnsLib.HL7.Service.TCPService",
                    settings={svc_settings!r},
                    adapter_settings={in_settings!r},
                    routes=(Route("TargetConfigNames", HL7_OUT),),
                ),
            )
            operations = (HL7_OUT,)


        PRODUCTIONS = [HL7Production()]
        '''


def wait_listening(port: int, timeout: float = 30.0) -> None:
    """Wait until something accepts connections on ``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on port {port} after {timeout} s")


PG_URL = os.environ.get("IOP_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def postgres_namespace() -> str | None:
    """A fresh namespace name when PostgreSQL at PG_URL answers, else None."""
    try:
        import psycopg

        psycopg.connect(PG_URL, connect_timeout=5).close()
    except Exception:  # no PostgreSQL here: the caller skips
        return None
    return f"H{uuid.uuid4().hex[:12].upper()}"


def drop_namespace(namespace: str) -> None:
    """Drop a test namespace's PostgreSQL schema."""
    import psycopg
    from psycopg import sql

    from iop.store.postgres.schema import schema_for

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute("SET lock_timeout = '5s'")
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
            sql.Identifier(schema_for(namespace))))
