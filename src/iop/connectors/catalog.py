"""Every class the connectors provide, by the IRIS class name a production writes, with the
module and attribute that implement it (``module:attribute``). Nothing here is imported
until a production names it (``iop.engine.registry.builtin_class``)."""

from __future__ import annotations

CONNECTOR_CLASSES: dict[str, str] = {
    # --- HTTP and REST (iop.connectors.http) ---

    # --- SQL (iop.connectors.sql) ---
    "EnsLib.SQL.OutboundAdapter": "iop.connectors.sql.outbound_adapter:SqlOutboundAdapter",
    "EnsLib.SQL.InboundAdapter": "iop.connectors.sql.inbound_adapter:SqlInboundAdapter",
    "EnsLib.SQL.Snapshot": "iop.connectors.sql.snapshot:Snapshot",
    "EnsLib.SQL.Service.GenericService": "iop.connectors.sql.generic:SqlGenericService",
    "EnsLib.SQL.Operation.GenericOperation": "iop.connectors.sql.generic:SqlGenericOperation",

    # --- TCP, HL7 v2 and MLLP (iop.connectors.tcp, iop.connectors.hl7) ---

    # --- Messaging systems (iop.connectors.rabbitmq, .mqtt, .nats, .kafka) ---

    # --- E-mail and file transfer (iop.connectors.email, iop.connectors.ftp) ---

}
