"""Every class the connectors provide, by the IRIS class name a production writes, with the
module and attribute that implement it (``module:attribute``). Nothing here is imported
until a production names it (``iop.engine.registry.builtin_class``)."""

from __future__ import annotations

CONNECTOR_CLASSES: dict[str, str] = {
    # --- HTTP and REST (iop.connectors.http) ---

    # --- SQL (iop.connectors.sql) ---

    # --- TCP, HL7 v2 and MLLP (iop.connectors.tcp, iop.connectors.hl7) ---

    # --- Messaging systems (iop.connectors.rabbitmq, .mqtt, .nats, .kafka) ---
    "EnsLib.RabbitMQ.InboundAdapter": "iop.connectors.rabbitmq:RabbitMQInboundAdapter",
    "EnsLib.RabbitMQ.OutboundAdapter": "iop.connectors.rabbitmq:RabbitMQOutboundAdapter",
    "EnsLib.RabbitMQ.Service": "iop.connectors.rabbitmq:RabbitMQService",
    "EnsLib.RabbitMQ.Operation": "iop.connectors.rabbitmq:RabbitMQOperation",
    "EnsLib.RabbitMQ.Message": "iop.connectors.rabbitmq:RabbitMQMessage",
    "EnsLib.MQTT.Adapter.Inbound": "iop.connectors.mqtt:MQTTInboundAdapter",
    "EnsLib.MQTT.Adapter.Outbound": "iop.connectors.mqtt:MQTTOutboundAdapter",
    "EnsLib.MQTT.Service.Passthrough": "iop.connectors.mqtt:MQTTPassthroughService",
    "EnsLib.MQTT.Operation.Passthrough": "iop.connectors.mqtt:MQTTPassthroughOperation",
    "EnsLib.MQTT.Message": "iop.connectors.mqtt:MQTTMessage",
    "EnsLib.NATS.InboundAdapter": "iop.connectors.nats:NATSInboundAdapter",
    "EnsLib.NATS.OutboundAdapter": "iop.connectors.nats:NATSOutboundAdapter",
    "EnsLib.NATS.Service": "iop.connectors.nats:NATSService",
    "EnsLib.NATS.Operation": "iop.connectors.nats:NATSOperation",
    "EnsLib.NATS.Message": "iop.connectors.nats:NATSMessage",
    "EnsLib.Kafka.InboundAdapter": "iop.connectors.kafka:KafkaInboundAdapter",
    "EnsLib.Kafka.OutboundAdapter": "iop.connectors.kafka:KafkaOutboundAdapter",
    "EnsLib.Kafka.Service": "iop.connectors.kafka:KafkaService",
    "EnsLib.Kafka.Operation": "iop.connectors.kafka:KafkaOperation",
    "EnsLib.Kafka.Message": "iop.connectors.kafka:KafkaMessage",

    # --- E-mail and file transfer (iop.connectors.email, iop.connectors.ftp) ---

}
