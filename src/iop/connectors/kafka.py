"""Apache Kafka under IRIS's names: ``EnsLib.Kafka.InboundAdapter`` (a consumer in a
consumer group committing each record's offset only once it is stored),
``EnsLib.Kafka.Service``, ``EnsLib.Kafka.OutboundAdapter`` (a producer with ``acks=all``:
a send returns once the partition's in-sync replicas have the record),
``EnsLib.Kafka.Operation`` and the message ``EnsLib.Kafka.Message``. Client: kafka-python.

No Kafka broker can be started on the machine these were written on; see the messaging
section of docs/connectors.md for what is tested and what is not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from iop.components.adapters import OutboundAdapter
from iop.components.settings import setting
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

__all__ = ["KafkaInboundAdapter", "KafkaMessage", "KafkaOperation", "KafkaOutboundAdapter",
           "KafkaService"]

_CATEGORY = "Kafka Settings"  # IRIS groups every Kafka setting under this name
_POLL_MS = 500                # a poll returns empty after this long (the stop is looked at)


@dataclass
class KafkaMessage(Message):
    """EnsLib.Kafka.Message: a record's topic, value (text) and key; partition and offset
    when it was received."""

    topic: str = ""
    value: str = ""
    key: str = ""
    partition: int | None = None
    offset: int | None = None


KafkaMessage._iop_class_name = "EnsLib.Kafka.Message"  # type: ignore[attr-defined]
register_message_class("EnsLib.Kafka.Message", KafkaMessage)


class _KafkaSettings:
    Servers = setting("localhost:9092", category=_CATEGORY,
                      description="Comma-separated bootstrap servers (host:port)")
    Credentials = credentials_setting()
    SecurityProtocol = setting("", category=_CATEGORY,
                               description="PLAINTEXT, SASL_PLAINTEXT, SASL_SSL or SSL; empty: "
                                           "PLAINTEXT, or SASL_PLAINTEXT with Credentials")
    SASLMechanism = setting("PLAIN", category=_CATEGORY,
                            description="SASL mechanism used with Credentials (PLAIN, "
                                        "SCRAM-SHA-256, SCRAM-SHA-512)")
    ConnectTimeout = setting(10, category=_CATEGORY,
                             description="Seconds to wait for a broker to answer (bootstrap, "
                                         "a send's acknowledgement)")
    ConnectTimeout.python_type = "float"

    def servers(self) -> list[str]:
        return [s.strip() for s in str(self.Servers or "").split(",") if s.strip()] or \
            ["localhost:9092"]

    def where(self) -> str:
        return ",".join(self.servers())

    def client_options(self) -> dict[str, Any]:
        timeout_ms = int(float(self.ConnectTimeout or 10) * 1000)
        options: dict[str, Any] = {"bootstrap_servers": self.servers(),
                                   "bootstrap_timeout_ms": timeout_ms,
                                   "request_timeout_ms": max(timeout_ms, 5000)}
        credential = credentials_for(self)
        protocol = str(self.SecurityProtocol or "").strip().upper()
        if credential is not None:
            options.update(security_protocol=protocol or "SASL_PLAINTEXT",
                           sasl_mechanism=str(self.SASLMechanism or "PLAIN").upper(),
                           sasl_plain_username=credential.username,
                           sasl_plain_password=credential.password)
        elif protocol:
            options["security_protocol"] = protocol
        return options


def _cause(exc: BaseException) -> str:
    name = type(exc).__name__
    text = str(exc).strip()
    if "Unable to bootstrap" in text or name == "NoBrokersAvailable":
        return "no broker reachable (unable to bootstrap)"
    if "Authentication" in name or "SaslAuthentication" in name:
        return "login refused (check Credentials and SASLMechanism)"
    if name == "KafkaTimeoutError":
        return f"timed out ({text})" if text else "timed out"
    return f"{name}: {text}" if text else name


class KafkaInboundAdapter(_KafkaSettings, BrokerInboundAdapter):
    """EnsLib.Kafka.InboundAdapter: consumes Topic in consumer group GroupID; a record's
    offset is committed only once the service's sends are stored, so after a crash or a
    broker restart consumption resumes at the first record not stored."""

    Topic = setting("", category=_CATEGORY, required=True, description="Topic to consume")
    GroupID = setting("", category=_CATEGORY,
                      description="Consumer group (within a group each record is read once); "
                                  "empty: one derived from the item's name")

    system = "Kafka"

    def consume_until(self) -> None:
        kafka: Any = require("kafka", "kafka")
        structs: Any = require("kafka.structs", "kafka")
        group = str(self.GroupID or "").strip() or stable_client_id(self, "iop-", 60)
        try:
            consumer = kafka.KafkaConsumer(
                str(self.Topic), group_id=group, enable_auto_commit=False,
                auto_offset_reset="earliest", max_poll_records=100, **self.client_options())
        except Exception as exc:
            raise connector_error("Kafka", self.where(), _cause(exc)) from None
        try:
            self.connected(self.where())
            while not self.stopping():
                try:
                    batches = consumer.poll(timeout_ms=_POLL_MS)
                except Exception as exc:
                    raise connector_error("Kafka", self.where(), _cause(exc)) from None
                for partition, records in batches.items():
                    for record in records:
                        value = record.value or b""
                        data = KafkaMessage(
                            topic=record.topic, value=value.decode("utf-8", "replace"),
                            key=(record.key or b"").decode("utf-8", "replace"),
                            partition=record.partition, offset=record.offset)
                        outcome = self.deliver(data, len(value))
                        if outcome is DeliveryOutcome.FAILED:
                            # Read this record again: from here, not from the next one.
                            consumer.seek(partition, record.offset)
                            if not self.stopping():
                                self.pause(float(self.BrokerRetryInterval or 5))
                            break
                        try:
                            consumer.commit({partition: structs.OffsetAndMetadata(
                                record.offset + 1, "", -1)})
                        except Exception as exc:
                            raise connector_error("Kafka", self.where(),
                                                  f"offset commit failed: {_cause(exc)}"
                                                  ) from None
                    if self.stopping():
                        break
        finally:
            try:
                consumer.close(autocommit=False)
            except Exception:
                pass


class KafkaOutboundAdapter(_KafkaSettings, OutboundAdapter):
    """EnsLib.Kafka.OutboundAdapter: sends records to Topic (or the message's own topic)
    with acks=all; a send returns once the broker acknowledged it."""

    ClientID = setting("", category=_CATEGORY,
                       description="Kafka client id of the producer; empty: one derived from "
                                   "the item's name")
    Topic = setting("", category=_CATEGORY,
                    description="Topic to send to; empty: the message's own topic")

    def on_init(self) -> None:
        self._producer: Any = None

    def on_tear_down(self) -> None:
        self._close()

    def _close(self) -> None:
        producer, self._producer = getattr(self, "_producer", None), None
        if producer is not None:
            try:
                producer.close(timeout=float(self.ConnectTimeout or 10))
            except Exception:
                pass

    def _open(self) -> Any:
        producer = getattr(self, "_producer", None)
        if producer is not None:
            return producer
        kafka: Any = require("kafka", "kafka")
        client_id = str(self.ClientID or "").strip() or stable_client_id(self, "iop-", 60)
        timeout_ms = int(float(self.ConnectTimeout or 10) * 1000)
        try:
            self._producer = kafka.KafkaProducer(
                client_id=client_id, acks="all", retries=3, max_block_ms=timeout_ms,
                **self.client_options())
        except Exception as exc:
            raise connector_error("Kafka", self.where(), _cause(exc)) from None
        return self._producer

    def send_message(self, message: Any) -> None:
        topic = str(self.Topic or getattr(message, "topic", "") or "")
        if not topic:
            raise ConnectorError("Kafka: no topic: set the operation's Topic or the message's")
        key = str(getattr(message, "key", "") or "")
        self.send(topic, body_text(message).encode("utf-8"), key.encode("utf-8") or None)

    def send(self, topic: str, value: bytes, key: bytes | None = None) -> Any:
        """Send one record and wait for the broker's acknowledgement; a producer that fails
        is opened again once before ConnectorError."""
        for attempt in (1, 2):
            fresh = getattr(self, "_producer", None) is None
            producer = self._open()
            try:
                return producer.send(topic, value=value, key=key).get(
                    timeout=float(self.ConnectTimeout or 10) + 5)
            except Exception as exc:
                self._close()
                if attempt == 2 or fresh:
                    raise connector_error("Kafka", self.where(), _cause(exc)) from None
        return None


class KafkaService(BrokerService):
    """EnsLib.Kafka.Service: sends each EnsLib.Kafka.Message received to its
    TargetConfigNames."""

    @classmethod
    def get_adapter_type(cls) -> str | None:
        return "EnsLib.Kafka.InboundAdapter"


class KafkaOperation(BrokerOperation):
    """EnsLib.Kafka.Operation: sends each request (EnsLib.Kafka.Message, or a request
    carrying text) through its adapter."""

    @classmethod
    def get_adapter_type(cls) -> str | None:
        return "EnsLib.Kafka.OutboundAdapter"
