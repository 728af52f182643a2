"""RabbitMQ (AMQP 0-9-1) under IRIS's names: ``EnsLib.RabbitMQ.InboundAdapter`` (a
consumer, acknowledging each delivery only once it is stored), ``EnsLib.RabbitMQ.Service``,
``EnsLib.RabbitMQ.OutboundAdapter`` (a publisher with publisher confirms),
``EnsLib.RabbitMQ.Operation`` and the message ``EnsLib.RabbitMQ.Message``. Client: pika."""

from __future__ import annotations

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
)
from iop.errors import ConnectorError
from iop.messages.base import Message
from iop.messages.codec import register_message_class

__all__ = ["RabbitMQInboundAdapter", "RabbitMQMessage", "RabbitMQOperation",
           "RabbitMQOutboundAdapter", "RabbitMQService"]

_CATEGORY = "RabbitMQ Settings"  # IRIS groups every RabbitMQ setting under this name
_INACTIVITY_SECONDS = 0.5         # how often a waiting consumer looks whether to stop


@dataclass
class RabbitMQMessage(Message):
    """EnsLib.RabbitMQ.Message: a message's body (``encodedContent``, text) and properties."""

    exchange: str = ""
    routingKey: str = ""
    encodedContent: str = ""
    contentType: str = ""
    contentEncoding: str = ""
    correlationId: str = ""
    messageId: str = ""
    replyTo: str = ""
    type: str = ""
    appId: str = ""
    userId: str = ""
    clusterId: str = ""
    expiration: str = ""
    priority: int | None = None
    deliveryMode: int | None = None
    timestamp: int | None = None
    headers: dict[str, str] = field(default_factory=dict)


RabbitMQMessage._iop_class_name = "EnsLib.RabbitMQ.Message"  # type: ignore[attr-defined]
register_message_class("EnsLib.RabbitMQ.Message", RabbitMQMessage)


class _RabbitMQSettings:
    """The connection settings both adapters share (IRIS's EnsLib.RabbitMQ.Common)."""

    MQHost = setting("localhost", category=_CATEGORY, description="Host of the RabbitMQ broker")
    MQPort = setting(5672, category=_CATEGORY, description="AMQP port of the broker")
    MQVirtualHost = setting("/", category=_CATEGORY, description="Virtual host on the broker")
    Credentials = credentials_setting()
    ConnectTimeout = setting(10, category=Category.CONNECTION,
                             description="Seconds to wait for the broker to accept a connection "
                                         "or to confirm a publish")
    ConnectTimeout.python_type = "float"

    def where(self) -> str:
        vhost = str(self.MQVirtualHost or "/")
        return f"{self.MQHost or 'localhost'}:{int(self.MQPort or 5672)}" + \
            ("" if vhost == "/" else f" vhost {vhost}")

    def open_connection(self) -> Any:
        pika: Any = require("pika", "rabbitmq")
        credential = credentials_for(self)
        user, password = ("guest", "guest") if credential is None else \
            (credential.username, credential.password)
        timeout = float(self.ConnectTimeout or 10)
        params = pika.ConnectionParameters(
            host=str(self.MQHost or "localhost"), port=int(self.MQPort or 5672),
            virtual_host=str(self.MQVirtualHost or "/"),
            credentials=pika.PlainCredentials(user, password), connection_attempts=1,
            socket_timeout=timeout, stack_timeout=timeout + 5, blocked_connection_timeout=60,
            heartbeat=30, client_properties={"connection_name": "iop-engine"})
        try:
            return pika.BlockingConnection(params)
        except Exception as exc:
            raise connector_error("RabbitMQ", self.where(), _cause(exc, user)) from None


def _cause(exc: BaseException, user: str = "") -> str:
    """A short cause for a pika error (its own text nests tuples of reprs)."""
    name = type(exc).__name__
    if "Authentication" in name or "AccessDenied" in name:
        return f"login refused for user {user!r} (check Credentials and MQVirtualHost)"
    text = str(exc)
    seen = repr(exc)  # pika nests the cause (ConnectionRefusedError, ...) in reprs
    for known, cause in (("Connection refused", "connection refused"),
                         ("timed out", "timed out"), ("Timeout", "timed out"),
                         ("gaierror", "unknown host"),
                         ("NOT_FOUND", "not found: " + text),
                         ("PRECONDITION_FAILED", "refused by the broker: " + text)):
        if known in seen:
            return cause
    if name in ("StreamLostError", "ConnectionClosedByBroker", "AMQPHeartbeatTimeout"):
        return f"connection lost ({text or name})"
    return f"{name}: {text}" if text else name


def _split_keys(keys: str) -> list[str]:
    """IRIS's BindingKeys: comma-separated, ``\\,`` a comma and ``\\\\`` a backslash in a key."""
    out: list[str] = []
    current: list[str] = []
    escaped = False
    for char in keys:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            out.append("".join(current))
            current = []
        else:
            current.append(char)
    out.append("".join(current))
    return [key for key in out if key]


def _message_of(method: Any, props: Any, body: bytes) -> RabbitMQMessage:
    encoding = props.content_encoding or "utf-8"
    try:
        text = body.decode(encoding, errors="replace")
    except LookupError:
        text = body.decode("utf-8", errors="replace")
    return RabbitMQMessage(
        exchange=method.exchange or "", routingKey=method.routing_key or "",
        encodedContent=text, contentType=props.content_type or "",
        contentEncoding=props.content_encoding or "", correlationId=props.correlation_id or "",
        messageId=props.message_id or "", replyTo=props.reply_to or "", type=props.type or "",
        appId=props.app_id or "", userId=props.user_id or "", clusterId=props.cluster_id or "",
        expiration=props.expiration or "", priority=props.priority,
        deliveryMode=props.delivery_mode, timestamp=props.timestamp,
        headers={str(k): str(v) for k, v in (props.headers or {}).items()})


def _queue_channel(connection: Any, queue: str) -> Any:
    """A channel on which ``queue`` exists: an existing queue is used as it is (whatever
    its arguments), a missing one is declared durable."""
    channel = connection.channel()
    try:
        channel.queue_declare(queue=queue, passive=True)
        return channel
    except Exception as exc:
        if "NOT_FOUND" not in repr(exc) and "404" not in repr(exc):
            raise
    channel = connection.channel()  # the broker closed the one the passive declare used
    channel.queue_declare(queue=queue, durable=True)
    return channel


class RabbitMQInboundAdapter(_RabbitMQSettings, BrokerInboundAdapter):
    """EnsLib.RabbitMQ.InboundAdapter: consumes QueueName (declared durable, bound to
    ExchangeName with BindingKeys when given); each delivery is acknowledged only once the
    service's sends are stored, and given back to the queue when they could not be."""

    QueueName = setting("", category=_CATEGORY, required=True,
                        description="Queue to consume; declared durable if it does not exist")
    ExchangeName = setting("", category=_CATEGORY,
                           description="Exchange to bind the queue to (with BindingKeys)")
    BindingKeys = setting("", category=_CATEGORY,
                          description="Comma-separated binding keys of the queue on ExchangeName "
                                      "(\\, is a comma within a key)")
    PrefetchCount = setting(10, category=Category.ADDITIONAL,
                            description="Most deliveries the broker sends ahead of their "
                                        "acknowledgements")

    system = "RabbitMQ"

    def consume_until(self) -> None:
        connection = self.open_connection()
        self._connection = connection
        try:
            queue = str(self.QueueName)
            channel = _queue_channel(connection, queue)
            channel.basic_qos(prefetch_count=max(int(self.PrefetchCount or 1), 1))
            if self.ExchangeName:
                for key in _split_keys(str(self.BindingKeys or "")) or [queue]:
                    channel.queue_bind(queue=queue, exchange=str(self.ExchangeName),
                                       routing_key=key)
            self.connected(self.where())
            for method, props, body in channel.consume(queue, inactivity_timeout=
                                                       _INACTIVITY_SECONDS):
                if self.stopping():
                    break
                if method is None:
                    continue
                outcome = self.deliver(_message_of(method, props, body), len(body))
                if outcome is DeliveryOutcome.STORED:
                    channel.basic_ack(method.delivery_tag)
                elif outcome is DeliveryOutcome.REJECTED:
                    channel.basic_reject(method.delivery_tag, requeue=False)
                else:
                    if self.stopping():
                        break  # closing the connection gives the delivery back
                    channel.basic_nack(method.delivery_tag, requeue=True)
                    connection.sleep(float(self.BrokerRetryInterval or 5))
        except ConnectorError:
            raise
        except Exception as exc:
            if self.stopping():
                return
            raise connector_error("RabbitMQ", self.where(), _cause(exc)) from None
        finally:
            self._connection = None
            try:
                if connection.is_open:
                    connection.close()
            except Exception:
                pass


class RabbitMQOutboundAdapter(_RabbitMQSettings, OutboundAdapter):
    """EnsLib.RabbitMQ.OutboundAdapter: publishes persistent messages with publisher
    confirms; a publish returns once the broker confirmed it, and raises ConnectorError when
    the broker refused it (nack, unroutable) or cannot be reached."""

    ExchangeName = setting("", category=_CATEGORY,
                           description="Exchange to publish to; empty: the message's own "
                                       "exchange (the default exchange if it has none)")
    RoutingKey = setting("", category=_CATEGORY,
                         description="Routing key to publish with (for the default exchange: "
                                     "the queue); empty: the message's own routingKey")

    def on_init(self) -> None:
        self._connection: Any = None
        self._channel: Any = None

    def on_tear_down(self) -> None:
        self._close()

    def _close(self) -> None:
        connection = getattr(self, "_connection", None)
        self._connection = self._channel = None
        if connection is not None:
            try:
                if connection.is_open:
                    connection.close()
            except Exception:
                pass

    def _open_channel(self) -> Any:
        if getattr(self, "_channel", None) is not None and self._channel.is_open:
            return self._channel
        self._close()
        self._connection = self.open_connection()
        channel = self._connection.channel()
        channel.confirm_delivery()
        self._channel = channel
        return channel

    def send_message(self, message: Any) -> None:
        """Publish ``message`` (EnsLib.RabbitMQ.Message, or any request carrying text)."""
        exchange = str(self.ExchangeName or getattr(message, "exchange", "") or "")
        key = str(self.RoutingKey or getattr(message, "routingKey", "") or "")
        if not exchange and not key:
            raise ConnectorError("RabbitMQ: no destination: set the operation's ExchangeName or "
                                 "RoutingKey, or the message's exchange or routingKey")
        body = body_text(message).encode("utf-8")
        self.publish(exchange, key, body, _properties_of(message))

    def publish(self, exchange: str, routing_key: str, body: bytes, props: dict[str, Any]
                ) -> None:
        """Publish and wait for the broker's confirm; a connection found dead is opened
        again once before ConnectorError."""
        pika: Any = require("pika", "rabbitmq")
        properties = pika.BasicProperties(**props)
        for attempt in (1, 2):
            fresh = getattr(self, "_channel", None) is None
            channel = self._open_channel()
            try:
                channel.basic_publish(exchange, routing_key, body, properties, mandatory=True)
                return
            except pika.exceptions.UnroutableError:
                raise ConnectorError(f"RabbitMQ {self.where()}: message unroutable: exchange "
                                     f"{exchange or '(default)'!r} has no queue for routing key "
                                     f"{routing_key!r}") from None
            except pika.exceptions.NackError:
                raise ConnectorError(f"RabbitMQ {self.where()}: the broker refused the message "
                                     "(nack)") from None
            except Exception as exc:
                self._close()
                if attempt == 2 or fresh:
                    raise connector_error("RabbitMQ", self.where(), _cause(exc)) from None


_PROPERTY_FIELDS = {
    "contentType": "content_type", "contentEncoding": "content_encoding",
    "correlationId": "correlation_id", "messageId": "message_id", "replyTo": "reply_to",
    "type": "type", "appId": "app_id", "userId": "user_id", "clusterId": "cluster_id",
    "expiration": "expiration",
}


def _properties_of(message: Any) -> dict[str, Any]:
    props: dict[str, Any] = {"delivery_mode": 2}
    for ours, theirs in _PROPERTY_FIELDS.items():
        value = getattr(message, ours, None)
        if value:
            props[theirs] = str(value)
    for ours, theirs in (("priority", "priority"), ("deliveryMode", "delivery_mode"),
                         ("timestamp", "timestamp")):
        value = getattr(message, ours, None)
        if value is not None:
            props[theirs] = int(value)
    headers = getattr(message, "headers", None)
    if headers:
        props["headers"] = dict(headers)
    return props


class RabbitMQService(BrokerService):
    """EnsLib.RabbitMQ.Service: sends each EnsLib.RabbitMQ.Message received to its
    TargetConfigNames."""

    @classmethod
    def get_adapter_type(cls) -> str | None:
        return "EnsLib.RabbitMQ.InboundAdapter"


class RabbitMQOperation(BrokerOperation):
    """EnsLib.RabbitMQ.Operation: publishes each request (EnsLib.RabbitMQ.Message, or a
    request carrying text such as Ens.StringRequest) through its adapter."""

    @classmethod
    def get_adapter_type(cls) -> str | None:
        return "EnsLib.RabbitMQ.OutboundAdapter"
