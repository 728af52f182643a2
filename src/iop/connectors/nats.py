"""NATS JetStream connectors, named in IRIS's pattern (IRIS ships no NATS classes):
``EnsLib.NATS.InboundAdapter`` (a durable pull consumer acknowledging each message only
once it is stored), ``EnsLib.NATS.Service``, ``EnsLib.NATS.OutboundAdapter`` (a JetStream
publisher: the stream's acknowledgement is the confirm), ``EnsLib.NATS.Operation`` and the
message ``EnsLib.NATS.Message``. Client: nats-py, whose asyncio loop runs on a thread of
the adapter."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from iop.components.adapters import OutboundAdapter
from iop.components.settings import Category, setting
from iop.connectors.credentials import credentials_for, credentials_setting
from iop.connectors.errors import require
from iop.connectors.messaging import (
    BrokerInboundAdapter,
    BrokerOperation,
    BrokerService,
    DeliveryOutcome,
    body_text,
    connector_error,
    stable_client_id,
)
from iop.errors import ConnectorError
from iop.messages.base import Message
from iop.messages.codec import register_message_class

__all__ = ["NATSInboundAdapter", "NATSMessage", "NATSOperation", "NATSOutboundAdapter",
           "NATSService"]

_CATEGORY = "NATS Settings"
_FETCH_WAIT_SECONDS = 0.5  # a fetch returns empty after this long (and the stop is looked at)


@dataclass
class NATSMessage(Message):
    """EnsLib.NATS.Message: a subject, the text published on it and its headers."""

    subject: str = ""
    value: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    stream: str = ""
    sequence: int | None = None


NATSMessage._iop_class_name = "EnsLib.NATS.Message"  # type: ignore[attr-defined]
register_message_class("EnsLib.NATS.Message", NATSMessage)


class _NATSSettings:
    Servers = setting("nats://localhost:4222", category=_CATEGORY,
                      description="Comma-separated server URLs (nats://host:port)")
    Credentials = credentials_setting()
    Subject = setting("", category=_CATEGORY, description="Subject to consume or publish to")
    ConnectTimeout = setting(10, category=Category.CONNECTION,
                             description="Seconds to wait for a server to accept a connection "
                                         "or to acknowledge a publish")
    ConnectTimeout.python_type = "float"

    def servers(self) -> list[str]:
        urls = [s.strip() for s in str(self.Servers or "").split(",") if s.strip()]
        return urls or ["nats://localhost:4222"]

    def where(self) -> str:
        return ",".join(u.split("://", 1)[-1] for u in self.servers())

    async def open(self, reconnect_wait: float, **callbacks: Any) -> Any:
        nats: Any = require("nats", "nats")
        options: dict[str, Any] = {
            "connect_timeout": float(self.ConnectTimeout or 10),
            "allow_reconnect": True, "max_reconnect_attempts": -1,
            "reconnect_time_wait": max(reconnect_wait, 0.1), "name": "iop-engine",
        }
        credential = credentials_for(self)
        if credential is not None:
            options["user"], options["password"] = credential.username, credential.password

        async def quiet(_exc: Exception) -> None:
            return None  # the client's own retries; failures surface in the calls

        options["error_cb"] = callbacks.get("error_cb", quiet)
        for name in ("disconnected_cb", "reconnected_cb"):
            if name in callbacks:
                options[name] = callbacks[name]
        # The first connect tries each server twice; afterwards the client reconnects itself.
        try:
            nc = await nats.connect(self.servers(), **{**options, "max_reconnect_attempts": 1})
        except Exception as exc:
            raise connector_error("NATS", self.where(), _cause(exc)) from None
        nc.options["max_reconnect_attempts"] = -1
        return nc


def _cause(exc: BaseException) -> str:
    name = type(exc).__name__
    text = str(exc).strip()
    if "NoServers" in name or "Connection refused" in text:
        return "connection refused (no server reachable)"
    if "NoResponders" in name or "NoStreamResponse" in name:
        return "no stream takes this subject (no responders)"
    if "Timeout" in name:
        return "timed out"
    if "Authorization" in name or "authorization" in text.lower():
        return "login refused (check Credentials)"
    return f"{name}: {text}" if text else name


class NATSInboundAdapter(_NATSSettings, BrokerInboundAdapter):
    """EnsLib.NATS.InboundAdapter: a durable JetStream pull consumer on Subject; each
    message is acknowledged once the service's sends are stored, and given back (nak) when
    they could not be."""

    Subject = setting("", category=_CATEGORY, required=True,
                      description="Subject (filter) to consume")
    StreamName = setting("", category=_CATEGORY,
                         description="JetStream stream holding Subject; created for Subject if "
                                     "it does not exist; empty: the stream that holds Subject")
    DurableName = setting("", category=_CATEGORY,
                          description="Name of the durable consumer (it keeps the position "
                                      "across restarts); empty: one derived from the item's "
                                      "name")
    FetchBatch = setting(10, category=Category.ADDITIONAL,
                         description="Most messages fetched at once")
    AckWait = setting(30, category=Category.ADDITIONAL,
                      description="Seconds the stream waits for an acknowledgement before it "
                                  "delivers the message again (set when the durable consumer "
                                  "is created)")
    AckWait.python_type = "float"

    system = "NATS"

    def consume_until(self) -> None:
        asyncio.run(self._consume())

    async def _consume(self) -> None:
        nc = await self.open(float(self.BrokerRetryInterval or 5))
        try:
            js = nc.jetstream()
            subject = str(self.Subject)
            stream = str(self.StreamName or "").strip() or None
            if stream is not None:
                await self._ensure_stream(js, stream, subject)
            durable = str(self.DurableName or "").strip() or stable_client_id(self, "iop-", 40)
            api: Any = require("nats.js.api", "nats")
            config = api.ConsumerConfig(ack_wait=max(float(self.AckWait or 30), 1.0))
            try:
                pull = await js.pull_subscribe(subject, durable=durable, stream=stream,
                                               config=config)
            except Exception as exc:
                raise connector_error("NATS", self.where(), _cause(exc)) from None
            self.connected(self.where())
            loop = asyncio.get_running_loop()
            batch = max(int(self.FetchBatch or 1), 1)
            while not self.stopping():
                try:
                    messages = await pull.fetch(batch, timeout=_FETCH_WAIT_SECONDS)
                except Exception as exc:
                    if "Timeout" in type(exc).__name__ and not nc.is_closed:
                        continue  # nothing new (or the server is away: the client reconnects)
                    raise connector_error("NATS", self.where(), _cause(exc)) from None
                for message in messages:
                    await self._handle(loop, message)
                    if self.stopping():
                        break
        finally:
            try:
                await nc.close()
            except Exception:
                pass

    async def _handle(self, loop: asyncio.AbstractEventLoop, message: Any) -> None:
        metadata = message.metadata
        data = NATSMessage(subject=message.subject,
                           value=message.data.decode("utf-8", "replace"),
                           headers={str(k): str(v) for k, v in (message.headers or {}).items()},
                           stream=metadata.stream or "",
                           sequence=metadata.sequence.stream if metadata.sequence else None)
        # deliver blocks until the job's thread stored it: off the event loop, which keeps
        # the connection alive meanwhile.
        outcome = await loop.run_in_executor(None, self.deliver, data, len(message.data))
        try:
            if outcome is DeliveryOutcome.STORED:
                await message.ack_sync(timeout=float(self.ConnectTimeout or 10))
            elif outcome is DeliveryOutcome.REJECTED:
                await message.term()
            else:
                await message.nak(delay=None if self.stopping() else
                                  float(self.BrokerRetryInterval or 5))
        except Exception as exc:
            # Not acknowledged: the stream delivers it again after its ack wait.
            raise connector_error("NATS", self.where(), f"acknowledgement failed: "
                                  f"{_cause(exc)}") from None

    async def _ensure_stream(self, js: Any, stream: str, subject: str) -> None:
        nats_js: Any = require("nats.js.errors", "nats")
        try:
            await js.stream_info(stream)
        except nats_js.NotFoundError:
            try:
                await js.add_stream(name=stream, subjects=[subject])
            except Exception as exc:
                raise connector_error("NATS", self.where(),
                                      f"cannot create stream {stream}: {_cause(exc)}") from None
        except Exception as exc:
            raise connector_error("NATS", self.where(), _cause(exc)) from None


class _LoopThread:
    """An asyncio loop on a thread of its own, for calls from the job's thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="NATS client",
                                       daemon=True)
        self.thread.start()

    def call(self, coroutine: Coroutine[Any, Any, Any], timeout: float) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        if not self.thread.is_alive():
            self.loop.close()


class NATSOutboundAdapter(_NATSSettings, OutboundAdapter):
    """EnsLib.NATS.OutboundAdapter: publishes to Subject (or the message's own subject)
    through JetStream; a send returns once the stream acknowledged the message."""

    def on_init(self) -> None:
        self._loop: _LoopThread | None = None
        self._nc: Any = None

    def on_tear_down(self) -> None:
        self._close()
        loop = getattr(self, "_loop", None)
        if loop is not None:
            loop.close()
            self._loop = None

    def _timeout(self) -> float:
        return float(self.ConnectTimeout or 10)

    def _close(self) -> None:
        nc, self._nc = getattr(self, "_nc", None), None
        if nc is not None and self._loop is not None:
            try:
                self._loop.call(nc.close(), self._timeout())
            except Exception:
                pass

    def _client(self) -> Any:
        if getattr(self, "_loop", None) is None:
            self._loop = _LoopThread()
        nc = getattr(self, "_nc", None)
        if nc is not None and not nc.is_closed:
            return nc
        assert self._loop is not None
        try:
            self._nc = self._loop.call(self.open(1.0), self._timeout() + 5)
        except ConnectorError:
            raise
        except Exception as exc:
            raise connector_error("NATS", self.where(), _cause(exc)) from None
        return self._nc

    def send_message(self, message: Any) -> None:
        subject = str(self.Subject or getattr(message, "subject", "") or "")
        if not subject:
            raise ConnectorError("NATS: no subject: set the operation's Subject or the "
                                 "message's")
        headers = getattr(message, "headers", None) or None
        self.publish(subject, body_text(message).encode("utf-8"), headers)

    def publish(self, subject: str, payload: bytes, headers: dict[str, str] | None = None
                ) -> Any:
        """Publish through JetStream and return the stream's acknowledgement; a connection
        found dead is opened again once before ConnectorError."""
        for attempt in (1, 2):
            fresh = getattr(self, "_nc", None) is None
            nc = self._client()
            assert self._loop is not None
            try:
                return self._loop.call(nc.jetstream().publish(
                    subject, payload, timeout=self._timeout(), headers=headers),
                    self._timeout() + 5)
            except Exception as exc:
                name = type(exc).__name__
                if "NoResponders" in name or "NoStreamResponse" in name:
                    raise connector_error("NATS", self.where(),
                                          f"no stream takes subject {subject}") from None
                if nc.is_connected and "Timeout" not in name:
                    raise connector_error("NATS", self.where(), _cause(exc)) from None
                self._close()
                if attempt == 2 or fresh:
                    raise connector_error("NATS", self.where(), _cause(exc)) from None
        return None


class NATSService(BrokerService):
    """EnsLib.NATS.Service: sends each EnsLib.NATS.Message received to its
    TargetConfigNames."""

    @classmethod
    def get_adapter_type(cls) -> str | None:
        return "EnsLib.NATS.InboundAdapter"


class NATSOperation(BrokerOperation):
    """EnsLib.NATS.Operation: publishes each request (EnsLib.NATS.Message, or a request
    carrying text) through its adapter."""

    @classmethod
    def get_adapter_type(cls) -> str | None:
        return "EnsLib.NATS.OutboundAdapter"
