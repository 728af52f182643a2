"""Every class the connectors provide, by the IRIS class name a production writes, with the
module and attribute that implement it (``module:attribute``). Nothing here is imported
until a production names it (``iop.engine.registry.builtin_class``)."""

from __future__ import annotations

CONNECTOR_CLASSES: dict[str, str] = {
    # --- HTTP and REST (iop.connectors.http) ---

    # --- SQL (iop.connectors.sql) ---

    # --- TCP, HL7 v2 and MLLP (iop.connectors.tcp, iop.connectors.hl7) ---

    # --- Messaging systems (iop.connectors.rabbitmq, .mqtt, .nats, .kafka) ---

    # --- E-mail and file transfer (iop.connectors.email, iop.connectors.ftp) ---

    "EnsLib.FTP.InboundAdapter": "iop.connectors.ftp.inbound_adapter:FTPInboundAdapter",
    "EnsLib.FTP.OutboundAdapter": "iop.connectors.ftp.outbound_adapter:FTPOutboundAdapter",
    "EnsLib.FTP.PassthroughService": "iop.connectors.ftp.passthrough:FTPPassthroughService",
    "EnsLib.FTP.PassthroughOperation": "iop.connectors.ftp.passthrough:FTPPassthroughOperation",
}
