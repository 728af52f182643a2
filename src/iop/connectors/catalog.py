"""Every class the connectors provide, by the IRIS class name a production writes, with the
module and attribute that implement it (``module:attribute``). Nothing here is imported
until a production names it (``iop.engine.registry.builtin_class``)."""

from __future__ import annotations

CONNECTOR_CLASSES: dict[str, str] = {
    # --- HTTP and REST (iop.connectors.http) ---
    "EnsLib.HTTP.InboundAdapter": "iop.connectors.http.http_inbound:HTTPInboundAdapter",
    "EnsLib.HTTP.OutboundAdapter": "iop.connectors.http.http_outbound:HTTPOutboundAdapter",
    "EnsLib.HTTP.GenericMessage": "iop.connectors.http.generic_message:GenericMessage",
    "EnsLib.HTTP.GenericService": "iop.connectors.http.http_passthrough:GenericService",
    "EnsLib.HTTP.GenericOperation": "iop.connectors.http.http_passthrough:GenericOperation",
    "EnsLib.REST.GenericService": "iop.connectors.http.http_passthrough:RESTGenericService",
    "EnsLib.REST.GenericOperation": "iop.connectors.http.http_passthrough:RESTGenericOperation",

    # --- SQL (iop.connectors.sql) ---
    "EnsLib.SQL.OutboundAdapter": "iop.connectors.sql.sql_outbound:SqlOutboundAdapter",
    "EnsLib.SQL.InboundAdapter": "iop.connectors.sql.sql_inbound:SqlInboundAdapter",
    "EnsLib.SQL.Snapshot": "iop.connectors.sql.snapshot:Snapshot",
    "EnsLib.SQL.Service.GenericService": "iop.connectors.sql.generic:SqlGenericService",
    "EnsLib.SQL.Operation.GenericOperation": "iop.connectors.sql.generic:SqlGenericOperation",

    # --- TCP, HL7 v2 and MLLP (iop.connectors.tcp, iop.connectors.hl7) ---
    "EnsLib.HL7.Message": "iop.connectors.hl7.hl7_message:HL7Message",
    "EnsLib.HL7.Adapter.TCPInboundAdapter": "iop.connectors.hl7.hl7_adapters:TCPInboundAdapter",
    "EnsLib.HL7.Adapter.TCPOutboundAdapter": "iop.connectors.hl7.hl7_adapters:TCPOutboundAdapter",
    "EnsLib.HL7.Service.TCPService": "iop.connectors.hl7.hl7_services:TCPService",
    "EnsLib.HL7.Service.FileService": "iop.connectors.hl7.hl7_services:FileService",
    "EnsLib.HL7.Operation.TCPOperation": "iop.connectors.hl7.hl7_operations:TCPOperation",
    "EnsLib.HL7.Operation.FileOperation": "iop.connectors.hl7.hl7_operations:FileOperation",
    "EnsLib.HL7.Operation.HTTPOperation": "iop.connectors.hl7.hl7_operations:HTTPOperation",

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
    "EnsLib.EMail.OutboundAdapter": "iop.connectors.email.smtp:SMTPOutboundAdapter",
    "EnsLib.EMail.InboundAdapter": "iop.connectors.email.pop3:POP3InboundAdapter",
    "EnsLib.EMail.IMAPInboundAdapter": "iop.connectors.email.imap:IMAPInboundAdapter",

    "EnsLib.FTP.InboundAdapter": "iop.connectors.ftp.inbound_adapter:FTPInboundAdapter",
    "EnsLib.FTP.OutboundAdapter": "iop.connectors.ftp.outbound_adapter:FTPOutboundAdapter",
    "EnsLib.FTP.PassthroughService": "iop.connectors.ftp.passthrough:FTPPassthroughService",
    "EnsLib.FTP.PassthroughOperation": "iop.connectors.ftp.passthrough:FTPPassthroughOperation",
}
