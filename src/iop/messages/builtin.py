"""Message classes IRIS ships (Ens.*), available under their IRIS names."""

from __future__ import annotations

from dataclasses import dataclass

from iop.messages.base import Message
from iop.messages.codec import register_message_class


@dataclass
class StringRequest(Message):
    """Ens.StringRequest: a request carrying one string."""

    StringValue: str = ""


@dataclass
class StringResponse(Message):
    """Ens.StringResponse: a response carrying one string."""

    StringValue: str = ""


@dataclass
class Request(Message):
    """Ens.Request: an empty generic request."""


@dataclass
class Response(Message):
    """Ens.Response: an empty generic response."""


@dataclass
class StreamContainer(Message):
    """Ens.StreamContainer: file contents passed between the passthrough file hosts."""

    OriginalFilename: str = ""
    Stream: str = ""


@dataclass
class AlertRequest(Message):
    """Ens.AlertRequest: an alert raised by an item, delivered to the Ens.Alert item."""

    SourceConfigName: str = ""
    AlertText: str = ""
    AlertDestination: str = ""
    AlertTime: str = ""
    SessionId: int | None = None


BUILTIN_MESSAGES: dict[str, type] = {
    "Ens.StringRequest": StringRequest, "Ens.StringResponse": StringResponse,
    "Ens.Request": Request, "Ens.Response": Response, "Ens.StreamContainer": StreamContainer,
    "Ens.AlertRequest": AlertRequest,
}

for _name, _cls in BUILTIN_MESSAGES.items():
    _cls._iop_class_name = _name  # type: ignore[attr-defined]
    register_message_class(_name, _cls)
