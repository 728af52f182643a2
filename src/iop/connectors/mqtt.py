"""MQTT (3.1.1) under IRIS's names: ``EnsLib.MQTT.Adapter.Inbound`` (a subscriber that
acknowledges each QoS 1 message only once it is stored, in a persistent session so that
what is published while it is away arrives later), ``EnsLib.MQTT.Service.Passthrough``,
``EnsLib.MQTT.Adapter.Outbound`` (a publisher waiting for the broker's acknowledgement),
``EnsLib.MQTT.Operation.Passthrough`` and the message ``EnsLib.MQTT.Message``.
Client: paho-mqtt 2."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from iop.components.adapters import OutboundAdapter
from iop.components.settings import setting
from iop.connectors.credentials import credentials_for
from iop.connectors.errors import require
from iop.connectors.messaging import (
    BrokerInboundAdapter,
    BrokerOperation,
    BrokerService,
    DeliveryOutcome,
    body_text,
    connector_error,
    is_on,
    stable_client_id,
)
from iop.errors import ConnectorError
from iop.messages.base import Message
from iop.messages.codec import register_message_class

__all__ = ["MQTTInboundAdapter", "MQTTMessage", "MQTTOutboundAdapter",
           "MQTTPassthroughOperation", "MQTTPassthroughService"]

_CATEGORY = "MQTT"             # IRIS groups every MQTT setting under this name
_LOOK_SECONDS = 0.2            # how often a waiting consumer looks whether to stop
_RECEIVED_AHEAD = 1000         # received messages held before the network thread waits


@dataclass
class MQTTMessage(Message):
    """EnsLib.MQTT.Message: a topic and the text published on it."""

    Topic: str = ""
    StringValue: str = ""


MQTTMessage._iop_class_name = "EnsLib.MQTT.Message"  # type: ignore[attr-defined]
register_message_class("EnsLib.MQTT.Message", MQTTMessage)


class _MQTTSettings:
    """The settings both adapters share (IRIS's EnsLib.MQTT.Adapter.Common)."""

    CleanSession = setting(True, category=_CATEGORY,
                           description="Start a clean session (the broker forgets what it kept "
                                       "for this ClientID)")
    ClientID = setting("", category=_CATEGORY,
                       description="Client identifier at the broker; empty: one derived from "
                                   "the item's name, the same at each start")
    ConnectTimeout = setting(10, category=_CATEGORY,
                             description="Seconds to wait for the broker to accept a connection")
    ConnectTimeout.python_type = "float"
    CredentialsName = setting("", category=_CATEGORY,
                              description="Name of the credentials (user name and password) to "
                                          "log in with; empty: no login")
    KeepAlive = setting(60, category=_CATEGORY,
                        description="Most seconds between two packets to the broker")
    LWTTopic = setting("", category=_CATEGORY,
                       description="Topic of the last will the broker publishes when this "
                                   "client disappears; empty: none")
    LWTMessage = setting("", category=_CATEGORY, description="Text of the last will")
    QOS = setting(1, category=_CATEGORY,
                  description="Quality of service: 0 at most once, 1 at least once, 2 exactly once")
    Retained = setting(False, category=_CATEGORY,
                       description="Ask the broker to keep the last message of the topic")
    Timeout = setting(10, category=_CATEGORY,
                      description="Seconds to wait for the broker to acknowledge a publish")
    Timeout.python_type = "float"
    Topic = setting("", category=_CATEGORY, description="Topic (filter) to subscribe or "
                                                        "publish to")
    Url = setting("tcp://localhost:1883", category=_CATEGORY,
                  description="Broker address: tcp://host:port")

    def address(self) -> tuple[str, int]:
        text = str(self.Url or "tcp://localhost:1883").strip()
        if "://" not in text:
            text = "tcp://" + text
        parts = urlsplit(text)
        if parts.scheme not in ("tcp", "mqtt"):
            raise ConnectorError(f"MQTT {text}: only tcp:// URLs are supported")
        try:
            port = parts.port or 1883
        except ValueError:
            raise ConnectorError(f"MQTT {text}: the port is not a number") from None
        return parts.hostname or "localhost", port

    def where(self) -> str:
        try:
            host, port = self.address()
        except ConnectorError:
            return str(self.Url)
        return f"{host}:{port}"

    def qos(self) -> int:
        return min(max(int(self.QOS or 0), 0), 2)

    def new_client(self, clean_session: bool, manual_ack: bool) -> Any:
        mqtt: Any = require("paho.mqtt.client", "mqtt")
        client_id = str(self.ClientID or "").strip() or stable_client_id(self, "iop-")
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                             clean_session=clean_session, reconnect_on_failure=False,
                             manual_ack=manual_ack)
        client.connect_timeout = float(self.ConnectTimeout or 10)
        credential = credentials_for(_Named(self.CredentialsName))
        if credential is not None:
            client.username_pw_set(credential.username, credential.password)
        if self.LWTTopic:
            client.will_set(str(self.LWTTopic), str(self.LWTMessage or ""), self.qos())
        return client

    def connect(self, client: Any) -> None:
        """Connect (blocking) and start the client's network thread; ConnectorError when the
        broker cannot be reached or refuses."""
        host, port = self.address()
        accepted = threading.Event()
        refused: list[str] = []

        def on_connect(_c: Any, _u: Any, _flags: Any, reason: Any, _props: Any) -> None:
            if reason.is_failure:
                refused.append(str(reason))
            accepted.set()
            extra = getattr(self, "_on_connect", None)
            if extra is not None and not reason.is_failure:
                extra(client)

        client.on_connect = on_connect
        try:
            client.connect(host, port, keepalive=int(self.KeepAlive or 60))
        except Exception as exc:
            raise connector_error("MQTT", f"{host}:{port}", _cause(exc)) from None
        client.loop_start()
        if not accepted.wait(float(self.ConnectTimeout or 10)) or refused:
            _stop(client)
            cause = f"refused: {refused[0]}" if refused else "no answer to CONNECT"
            raise connector_error("MQTT", f"{host}:{port}", cause)


class _Named:
    """What credentials_for reads: a ``Credentials`` name (MQTT calls it CredentialsName)."""

    def __init__(self, name: Any) -> None:
        self.Credentials = name


def _cause(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = str(exc)
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "unknown host"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _stop(client: Any) -> None:
    try:
        client.disconnect()
    except Exception:
        pass
    try:
        client.loop_stop()
    except Exception:
        pass


class MQTTInboundAdapter(_MQTTSettings, BrokerInboundAdapter):
    """EnsLib.MQTT.Adapter.Inbound: subscribes to Topic; a QoS 1 message is acknowledged
    only once the service's sends are stored (with QoS 2 paho answers PUBREC on receipt,
    and the broker lets go of the message then). CleanSession is off by default
    (IRIS: on), so the broker keeps what arrives while the production is stopped."""

    CleanSession = setting(False, category=_CATEGORY,
                           description="Start a clean session; off: the broker keeps the "
                                       "subscription and what is published while this "
                                       "client is away")
    Topic = setting("", category=_CATEGORY, required=True,
                    description="Topic filter to subscribe to (+ and # wildcards)")

    system = "MQTT"

    def consume_until(self) -> None:
        received: queue.Queue[Any] = queue.Queue(_RECEIVED_AHEAD)
        lost = threading.Event()
        client = self.new_client(is_on(self.CleanSession), manual_ack=True)
        topic, qos = str(self.Topic), self.qos()

        def subscribe(c: Any) -> None:
            c.subscribe(topic, qos)

        def on_message(_c: Any, _u: Any, message: Any) -> None:
            received.put(message)

        def on_disconnect(_c: Any, _u: Any, _flags: Any, _reason: Any, _props: Any) -> None:
            lost.set()

        self._on_connect = subscribe
        client.on_message = on_message
        client.on_disconnect = on_disconnect
        self._client = client
        self.connect(client)
        self.connected(self.where())
        try:
            while not self.stopping():
                if lost.is_set():
                    raise connector_error("MQTT", self.where(), "connection lost")
                try:
                    message = received.get(timeout=_LOOK_SECONDS)
                except queue.Empty:
                    continue
                data = MQTTMessage(Topic=message.topic,
                                   StringValue=message.payload.decode("utf-8", "replace"))
                outcome = self.deliver(data, len(message.payload))
                if outcome is DeliveryOutcome.FAILED:
                    if self.stopping():
                        return
                    # Not acknowledged: a new session gets it again from the broker.
                    raise connector_error("MQTT", self.where(), "a message was not stored; "
                                          "reconnecting so that the broker sends it again")
                if message.qos > 0:
                    client.ack(message.mid, message.qos)
        finally:
            _stop(client)

    def interrupt_consumer(self) -> None:
        client = getattr(self, "_client", None)
        if client is not None:
            _stop(client)


class MQTTOutboundAdapter(_MQTTSettings, OutboundAdapter):
    """EnsLib.MQTT.Adapter.Outbound: publishes to Topic (or the message's own topic); with
    QoS 1 or 2 a send returns once the broker acknowledged it."""

    def on_init(self) -> None:
        self._client: Any = None

    def on_tear_down(self) -> None:
        self._close()

    def _close(self) -> None:
        client = getattr(self, "_client", None)
        self._client = None
        if client is not None:
            _stop(client)

    def _connected_client(self) -> Any:
        client = getattr(self, "_client", None)
        if client is not None and client.is_connected():
            return client
        self._close()
        client = self.new_client(is_on(self.CleanSession), manual_ack=False)
        self.connect(client)
        self._client = client
        return client

    def send_message(self, message: Any) -> None:
        topic = str(self.Topic or getattr(message, "Topic", "") or "")
        if not topic:
            raise ConnectorError("MQTT: no topic: set the operation's Topic or the message's")
        self.send(topic, body_text(message))

    def send(self, topic: str, text: str) -> None:
        """Publish ``text`` on ``topic``; a connection found dead is opened again once."""
        for attempt in (1, 2):
            fresh = getattr(self, "_client", None) is None
            client = self._connected_client()
            info = client.publish(topic, text.encode("utf-8"), self.qos(),
                                  is_on(self.Retained))
            if info.rc == 0:
                try:
                    info.wait_for_publish(float(self.Timeout or 10))
                except (RuntimeError, ValueError) as exc:
                    self._close()
                    if attempt == 2 or fresh:
                        raise connector_error("MQTT", self.where(), f"publish failed: {exc}"
                                              ) from None
                    continue
                if info.is_published():
                    return
                self._close()
                raise connector_error("MQTT", self.where(), "the broker did not acknowledge "
                                      f"the publish within {float(self.Timeout or 10):g} s")
            self._close()
            if attempt == 2 or fresh:
                raise connector_error("MQTT", self.where(), f"publish failed (code {info.rc})")


class MQTTPassthroughService(BrokerService):
    """EnsLib.MQTT.Service.Passthrough: sends each EnsLib.MQTT.Message received to its
    TargetConfigNames."""

    @classmethod
    def get_adapter_type(cls) -> str | None:
        return "EnsLib.MQTT.Adapter.Inbound"


class MQTTPassthroughOperation(BrokerOperation):
    """EnsLib.MQTT.Operation.Passthrough: publishes each request (EnsLib.MQTT.Message, or
    a request carrying text) through its adapter."""

    @classmethod
    def get_adapter_type(cls) -> str | None:
        return "EnsLib.MQTT.Adapter.Outbound"
