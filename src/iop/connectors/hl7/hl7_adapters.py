"""EnsLib.HL7.Adapter.TCPInboundAdapter and TCPOutboundAdapter: HL7 v2 over MLLP.

**Inbound.** The adapter listens on Port; each connection runs on a thread of its own,
reads one MLLP frame at a time and hands it to the job's thread (``InputHandoff``), where
the service parses it, sends it on and stores what it sent; only then does the connection
thread write the ACK the service returned. So an ACK means stored (at least once: a peer
that lost the ACK sends again). While a target's queue is over QueueLimit no frame is taken:
the connection is not read, the peer's sends wait. A framing error (bytes outside a frame,
a frame over MaxMessageSize, a frame cut by a new start block or unfinished after
ReadTimeout) is handed to the service too, which logs it in one line and answers a NACK
(AR); then the connection is closed. Input that could not be stored gets no ACK at all: the
connection is closed and the peer sends it again. The adapter frames; the service decides
every answer.

**Outbound.** One connection, opened on first use and kept (StayConnected -1), closed after
each message (0) or after that many idle seconds; a connection found dead is reopened once.
The peer's ACK is returned to the operation, which decides on MSA-1.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

from iop.components.adapters import InboundAdapter, OutboundAdapter
from iop.components.settings import Category, controls, setting
from iop.connectors.inbound import InputHandoff, QueueLimit, queue_limit_setting
from iop.connectors.tcp.mllp_client import MllpClient
from iop.connectors.tcp.mllp_framing import (
    DEFAULT_MAX_FRAME,
    FrameReader,
    FramingError,
    PeerClosed,
    mllp_frame,
)
from iop.connectors.tcp.tcp_listener import TcpListener

__all__ = ["TCPInboundAdapter", "TCPOutboundAdapter"]

_READ_SLICE = 0.5  # how often a connection thread looks whether the listener closed
_DRAIN_SLICE = 1.0  # how often on_task writes the connection threads' log lines


class TCPInboundAdapter(InboundAdapter):
    """EnsLib.HL7.Adapter.TCPInboundAdapter: receives MLLP-framed HL7 messages on Port."""

    Port = setting(0, category=Category.BASIC, required=True,
                   description="TCP port to listen on for HL7 connections")
    LocalInterface = setting("", category=Category.CONNECTION,
                             control=controls.local_interface(),
                             description="Address of the interface to listen on; empty: all")
    StayConnected = setting(-1.0, category=Category.CONNECTION,
                            description="Seconds a silent connection is kept open; -1: until "
                                        "the peer closes it")
    ReadTimeout = setting(5.0, category=Category.CONNECTION,
                          description="Seconds to wait for the rest of a frame once it started")
    MaxMessageSize = setting(DEFAULT_MAX_FRAME, category=Category.ADDITIONAL,
                             description="Largest frame accepted, in bytes; a longer one is "
                                         "refused (NACK) and its connection closed")
    QueueLimit = queue_limit_setting()

    # ------------------------------------------------------------ lifecycle (job thread)
    def on_init(self) -> None:
        self._handoff = InputHandoff(self)
        # Read the queue depth often: one MLLP peer sends many small messages a second.
        self._limit = QueueLimit(self, int(self.QueueLimit or 0), every=0.1)
        self._pending_logs: list[tuple[str, str]] = []
        self._logs_lock = threading.Lock()
        self._listener: TcpListener | None = TcpListener(
            str(self.LocalInterface or ""), int(self.Port), self._serve,
            name=f"hl7-{self.Port}")

    def on_task(self) -> None:
        deadline = time.monotonic() + max(float(self.CallInterval or 5), _DRAIN_SLICE)
        while True:
            self._flush_logs()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._handoff.drain(min(remaining, _DRAIN_SLICE), self._limit)
            runtime = getattr(self, "_iop_runtime", None)
            if runtime is not None and callable(getattr(runtime, "stop_waiting", None)) \
                    and runtime.stop_waiting():
                self._flush_logs()
                return

    def on_tear_down(self) -> None:
        handoff = getattr(self, "_handoff", None)
        if handoff is not None:
            handoff.close()
        listener = getattr(self, "_listener", None)
        if listener is not None:
            self._listener = None
            listener.close()
        if getattr(self, "_pending_logs", None):
            self._flush_logs()

    @property
    def port(self) -> int:
        """The port listened on (Port, or the one the system chose for Port 0)."""
        return self._listener.port if self._listener is not None else int(self.Port)

    # ------------------------------------------------------------ connection threads
    def _note(self, level: str, text: str) -> None:
        with self._logs_lock:
            self._pending_logs.append((level, text))

    def _flush_logs(self) -> None:
        with self._logs_lock:
            lines, self._pending_logs = self._pending_logs, []
        for level, text in lines:
            self.business_host.log_error(text) if level == "error" else \
                self.business_host.log_warning(text) if level == "warning" else \
                self.business_host.log_info(text)

    def _serve(self, conn: socket.socket, peer: tuple[str, int]) -> None:
        who = f"{peer[0]}:{peer[1]}"
        reader = FrameReader(conn, int(self.MaxMessageSize or DEFAULT_MAX_FRAME))
        stay = float(self.StayConnected if self.StayConnected is not None else -1)
        read_timeout = float(self.ReadTimeout or 5)
        last = time.monotonic()
        partial_since: float | None = None
        while self._listener is not None and not self._listener.closed:
            problem: FramingError | None = None
            try:
                payload: bytes | FramingError = reader.read(_READ_SLICE)
            except TimeoutError:
                now = time.monotonic()
                if not reader.partial:
                    partial_since = None
                    if stay >= 0 and now - last > max(stay, _READ_SLICE):
                        return
                    continue
                partial_since = partial_since or now
                if now - partial_since <= read_timeout:
                    continue
                problem = FramingError(f"a frame was not finished within ReadTimeout "
                                       f"({read_timeout:g} s)")
            except PeerClosed as exc:
                if "middle" in str(exc):
                    self._note("warning", f"HL7 connection from {who}: {exc}")
                return
            except FramingError as exc:
                problem = exc
            except OSError:
                return
            if problem is not None:
                # The service answers it (a NACK) and logs it; then the connection closes,
                # as its stream can no longer be trusted.
                payload = FramingError(f"HL7 connection from {who}: {problem}")
            last, partial_since = time.monotonic(), None
            try:
                reply = self._handoff.submit(payload)
            except Exception as exc:
                # Not stored (the job is stopping, or the store failed): no ACK, so the peer
                # sends the message again.
                self._note("warning", f"HL7 connection from {who}: input not stored "
                                      f"({type(exc).__name__}: {exc}); connection closed "
                                      "without an ACK")
                return
            if reply and not self._reply(conn, reply):
                return
            if problem is not None:
                return

    @staticmethod
    def _reply(conn: socket.socket, reply: bytes) -> bool:
        try:
            conn.sendall(mllp_frame(reply))
            return True
        except OSError:
            return False


class TCPOutboundAdapter(OutboundAdapter):
    """EnsLib.HL7.Adapter.TCPOutboundAdapter: sends MLLP-framed HL7 messages to
    IPAddress:Port and reads the peer's ACK."""

    IPAddress = setting("", category=Category.BASIC, required=True,
                        description="Host name or address of the HL7 peer")
    Port = setting(0, category=Category.BASIC, required=True,
                   description="TCP port of the HL7 peer")
    ConnectTimeout = setting(5.0, category=Category.CONNECTION,
                             description="Seconds to wait for a connection to open")
    ResponseTimeout = setting(30.0, category=Category.CONNECTION,
                              description="Seconds to wait for the peer's ACK")
    StayConnected = setting(-1.0, category=Category.CONNECTION,
                            description="-1: keep the connection open; 0: close it after each "
                                        "message; n: close it after n idle seconds")
    LocalInterface = setting("", category=Category.CONNECTION,
                             control=controls.local_interface(),
                             description="Address of the local interface to connect from")
    GetReply = setting(True, category=Category.ADDITIONAL,
                       description="Wait for the peer's ACK for each message")
    MaxMessageSize = setting(DEFAULT_MAX_FRAME, category=Category.ADDITIONAL,
                             description="Largest ACK accepted, in bytes")

    def on_init(self) -> None:
        self._client = MllpClient(
            str(self.IPAddress), int(self.Port), float(self.ConnectTimeout or 5),
            float(self.ResponseTimeout or 30), int(self.MaxMessageSize or DEFAULT_MAX_FRAME),
            str(self.LocalInterface or ""), system="HL7 peer")
        self._last_used = time.monotonic()

    def exchange(self, payload: bytes) -> bytes | None:
        """Send one message's bytes; the reply's bytes (None when GetReply is off)."""
        client = self._client
        stay = float(self.StayConnected if self.StayConnected is not None else -1)
        if stay > 0 and client.connected and time.monotonic() - self._last_used > stay:
            client.close()
        try:
            return client.exchange(payload, _flag(self.GetReply))
        finally:
            self._last_used = time.monotonic()
            if stay == 0:
                client.close()

    def on_keepalive(self) -> None:
        stay = float(self.StayConnected if self.StayConnected is not None else -1)
        if stay > 0 and time.monotonic() - self._last_used > stay:
            self._client.close()

    def on_tear_down(self) -> None:
        client = getattr(self, "_client", None)
        if client is not None:
            client.close()


def _flag(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")
