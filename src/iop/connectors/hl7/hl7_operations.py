"""EnsLib.HL7.Operation.TCPOperation and FileOperation: EnsLib.HL7.Message out.

TCPOperation sends each message over MLLP and reads the peer's ACK: ``AA``/``CA``
completes the message (the ACK is its response); ``AE``/``AR`` (and ``CE``/``CR``) raise
``HL7NackError`` whose code is MSA-1, a reply without MSA-1 raises with code ``~``, so
ReplyCodeActions in IRIS's HL7 syntax decide (``:?R=RF,:?E=S,...``); errors with no ACK
at all (peer unreachable, no reply in time) match the plain ``E`` code.
"""

from __future__ import annotations

import os
import time
from typing import Any

from iop.components.operation import BusinessOperation
from iop.components.settings import Category, controls, setting
from iop.connectors.hl7.hl7_ack import ack_code
from iop.connectors.hl7.hl7_message import HL7Error, HL7Message, python_charset
from iop.connectors.hl7.hl7_services import check_framing
from iop.errors import ConnectorError

__all__ = ["FileOperation", "HL7NackError", "HTTPOperation", "TCPOperation", "judge_reply"]

# IRIS's default for HL7 operations, plus E=RF: a failure with no ACK (the peer down) is
# retried until FailureTimeout, as IRIS retries a broken connection.
DEFAULT_REPLY_CODE_ACTIONS = ":?R=RF,:?E=S,:~=S,:?A=C,:*=S,:I?=W,:T?=C,E=RF"


class HL7NackError(ConnectorError):
    """The HL7 peer answered with a negative ACK (``code`` is its MSA-1) or no MSA."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def as_hl7(request: Any) -> HL7Message:
    """The HL7 message a request carries (an EnsLib.HL7.Message, or text in Stream or
    StringValue)."""
    if isinstance(request, HL7Message):
        return request
    text = getattr(request, "Stream", None) or getattr(request, "StringValue", None)
    if isinstance(request, str):
        text = request
    if not text:
        raise HL7Error(f"{type(request).__name__} carries no HL7 message")
    return HL7Message(RawContent=str(text))


def judge_reply(host: Any, message: HL7Message, text: str, where: str) -> HL7Message:
    """The peer's ACK for ``message`` (its response) when MSA-1 is AA or CA; otherwise
    HL7NackError with MSA-1 as its code (``~``: no MSA, or no HL7 at all), for
    ReplyCodeActions."""
    try:
        reply = HL7Message(RawContent=text)
    except HL7Error as exc:
        raise HL7NackError(f"HL7 peer {where} answered message {message.Identifier} with "
                           f"something that is not an ACK: {exc}", "~") from None
    code = ack_code(reply)
    if code in ("AA", "CA"):
        if reply.GetValueAt("MSA:2") != message.Identifier:
            host.log_warning(f"HL7 peer {where}: ACK for control id "
                             f"{reply.GetValueAt('MSA:2')!r}, expected {message.Identifier!r}")
        return reply
    reason = reply.GetValueAt("MSA:3") or reply.GetValueAt("ERR:8") or reply.GetValueAt("ERR:1")
    detail = f": {reason}" if reason else ""
    if not code:
        raise HL7NackError(f"HL7 peer {where} answered message {message.Identifier} "
                           "without an MSA code", "~")
    raise HL7NackError(f"HL7 peer {where} answered message {message.Identifier} with "
                       f"{code}{detail}", code)


class _AcknowledgedOperation(BusinessOperation):
    """What the HL7 operations whose peer answers with an ACK share: IRIS's HL7
    ReplyCodeActions (the ACK is judged by ``judge_reply``)."""

    ReplyCodeActions = setting(DEFAULT_REPLY_CODE_ACTIONS, category=Category.ADDITIONAL,
                               description="What to do with each kind of ACK (IRIS HL7 codes: "
                                           ":?A accept, :?E error, :?R reject, :~ no MSA, "
                                           ":* other) or error (E)")


class TCPOperation(_AcknowledgedOperation):
    """EnsLib.HL7.Operation.TCPOperation: sends HL7 messages to a peer over MLLP."""

    DefCharEncoding = setting("Latin1", category=Category.ADDITIONAL,
                              control=controls.character_set(),
                              description="Character set messages are sent in")
    Framing = setting("MLLP", category=Category.CONNECTION, control=controls.framing(),
                      description="How messages are framed on the connection: MLLP")

    @classmethod
    def get_adapter_type(cls) -> str | None:
        return "EnsLib.HL7.Adapter.TCPOutboundAdapter"

    def on_init(self) -> None:
        check_framing(self.Framing)

    def on_message(self, request: Any) -> HL7Message | None:
        message = as_hl7(request)
        charset = python_charset(self.DefCharEncoding)
        where = f"{self.adapter.IPAddress}:{self.adapter.Port}"
        raw = self.adapter.exchange(message.OutputToString().encode(charset, errors="replace"))
        if raw is None:
            return None
        if raw in (b"\x06", b"\x15"):  # a Byte-mode peer
            if raw == b"\x15":
                raise HL7NackError(f"HL7 peer {where} refused message {message.Identifier} "
                                   "(NAK byte)", "AR")
            return None
        return judge_reply(self, message, raw.decode(charset, errors="replace"), where)


class HTTPOperation(_AcknowledgedOperation):
    """EnsLib.HL7.Operation.HTTPOperation: posts each HL7 message (its ER7 text) to the
    adapter's URL. A response body that is an HL7 message is the peer's ACK, judged as
    TCPOperation judges it; an empty one completes the message; a status that is not 2xx
    is the adapter's HTTPStatusError (ReplyCodeActions ``E#503=R``, or the default E=RF)."""

    DefCharEncoding = setting("UTF-8", category=Category.ADDITIONAL,
                              control=controls.character_set(),
                              description="Character set messages are posted in")
    ContentType = setting("application/hl7-v2", category=Category.ADDITIONAL,
                          description="Content-Type of the posted message")

    @classmethod
    def get_adapter_type(cls) -> str | None:
        return "EnsLib.HTTP.OutboundAdapter"

    def on_message(self, request: Any) -> HL7Message | None:
        message = as_hl7(request)
        charset = python_charset(self.DefCharEncoding)
        where = self.adapter.url_for("")
        response = self.adapter.post("", message.OutputToString().encode(charset, "replace"),
                                     headers={"Content-Type": f"{self.ContentType}; "
                                                              f"charset={charset}"})
        text = response.content.decode(charset, errors="replace").strip()
        if not text.startswith("MSH"):
            return None  # no ACK in the answer: the 2xx is the acknowledgement
        return judge_reply(self, message, text, where)


class FileOperation(BusinessOperation):
    """EnsLib.HL7.Operation.FileOperation: writes each HL7 message to a file under the
    adapter's FilePath, segments ending with CR LF."""

    Filename = setting("%f_%Q.hl7", category=Category.BASIC,
                       description="Output file name; %f is the message's control id (MSH-10),"
                                   " %Q a timestamp; a name used again is appended to")

    @classmethod
    def get_adapter_type(cls) -> str | None:
        return "EnsLib.File.OutboundAdapter"

    def on_message(self, request: Any) -> None:
        message = as_hl7(request)
        stamp = time.strftime("%Y-%m-%d_%H.%M.%S", time.gmtime()) + \
            f".{int(time.time() * 1000) % 1000:03d}"
        control = "".join(ch if ch.isalnum() or ch in "-_." else "_"
                          for ch in (message.Identifier or "message"))
        name = os.path.basename((self.Filename or "%f").replace("%f", control)
                                .replace("%Q", stamp))
        text = "\r\n".join(message.SegmentNames() and
                           [message.GetSegmentAt(i) for i in range(1, message.SegCount + 1)])
        self.adapter.put_string(name, text + "\r\n")
