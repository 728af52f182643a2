"""EnsLib.HL7.Service.TCPService and FileService: HL7 v2 messages in, sent to
TargetConfigNames as EnsLib.HL7.Message.

**AckMode** (TCP): ``Never`` no ACK; ``Immed`` (the default) an ACK (AA) as soon as the
message and what the service sent are stored; ``App`` the reply of the first target
(sent to synchronously) is the ACK, or an AE NACK when it failed; ``Msh`` as MSH-15 asks
(``NE`` none, ``ER`` only NACKs, else an ACK); ``Byte`` one byte (0x06, 0x15 for a NACK).
Input that is not an HL7 message is answered with an AR NACK and one line in the event log;
nothing is stored for it.
"""

from __future__ import annotations

import codecs
import re
from typing import Any

from iop.components.service import BusinessService
from iop.components.settings import Category, controls, setting, target
from iop.connectors.hl7.hl7_ack import (
    ACCEPT,
    BYTE_ACK,
    BYTE_NAK,
    ERROR,
    REJECT,
    make_ack,
    nack_for_text,
)
from iop.connectors.hl7.hl7_message import HL7Error, HL7Message, python_charset
from iop.connectors.tcp.mllp_framing import FramingError
from iop.errors import StoreError

__all__ = ["FileService", "TCPService", "check_framing", "split_messages"]

ACK_MODES = ("Never", "Immed", "App", "Msh", "Byte")
FRAMINGS = ("Flexible", "MLLP")
_BATCH_SEGMENTS = ("FHS", "BHS", "BTS", "FTS")
_LINE = re.compile(r"\r\n|\r|\n")


class _HL7Service(BusinessService):
    TargetConfigNames = target(multi_select=True,
                               description="Items each received message is sent to")
    MessageSchemaCategory = setting("", category=Category.BASIC,
                                    control=controls.schema_category(
                                        "EnsLib.HL7.Service.Standard"),
                                    description="Category of the DocType given to received "
                                                "messages, e.g. 2.5; empty: MSH-12")
    LocalFacilityApplication = setting("ISC:EnsembleHL7", category=Category.ADDITIONAL,
                                       description="facility:application put in generated "
                                                   "ACKs when the message names no receiver")
    DefCharEncoding = setting("Latin1", category=Category.ADDITIONAL,
                              control=controls.character_set(),
                              description="Character set of received messages (Latin1, "
                                          "UTF-8, ...)")

    def parse(self, data: Any) -> HL7Message:
        """The HL7 message ``data`` holds (bytes, text or a message)."""
        if isinstance(data, HL7Message):
            message = data
        else:
            if isinstance(data, (bytes, bytearray)):
                data = bytes(data).decode(python_charset(self.DefCharEncoding), errors="replace")
            text = getattr(data, "Stream", None) or getattr(data, "StringValue", None) \
                if not isinstance(data, str) else data
            message = HL7Message(RawContent=str(text or "").strip("\r\n\x00 ") + "\r")
        if not message.SegCount:
            raise HL7Error("the message is empty")
        message.set_schema_category(str(self.MessageSchemaCategory or ""))
        return message

    def targets(self) -> list[str]:
        return [t.strip() for t in str(self.TargetConfigNames or "").split(",") if t.strip()]

    def send_on(self, message: HL7Message) -> None:
        for item in self.targets():
            self.send_request_async(item, message)

    def on_init(self) -> None:
        try:
            codecs.lookup(python_charset(str(self.DefCharEncoding)))
        except LookupError:
            raise HL7Error(f"DefCharEncoding {self.DefCharEncoding!r} is not a known character "
                           "set") from None


class TCPService(_HL7Service):
    """EnsLib.HL7.Service.TCPService: HL7 over MLLP in, ACKed as AckMode says."""

    AckMode = setting("Immed", category=Category.ADDITIONAL,
                      description="Never, Immed (ACK once stored), App (the target's reply), "
                                  "Msh (as MSH-15 asks) or Byte (one ACK byte)")
    AddNackERR = setting(True, category=Category.ADDITIONAL,
                         description="Put an ERR segment in NACKs")
    Framing = setting("Flexible", category=Category.CONNECTION, control=controls.framing(),
                      description="How messages are framed on the connection: MLLP (Flexible "
                                  "accepts MLLP frames)")

    @classmethod
    def get_adapter_type(cls) -> str | None:
        return "EnsLib.HL7.Adapter.TCPInboundAdapter"

    def on_init(self) -> None:
        super().on_init()
        if str(self.AckMode) not in ACK_MODES:
            raise HL7Error(f"AckMode {self.AckMode!r} is not one of {', '.join(ACK_MODES)}")
        check_framing(self.Framing)

    def on_process_input(self, message_input: Any = None) -> bytes | None:
        """Take one framed message: parse, send on, and return the ACK's bytes (None: no
        ACK). Returns before anything is written to the peer, which happens once what was
        sent is stored."""
        mode = str(self.AckMode)
        charset = python_charset(self.DefCharEncoding)
        if isinstance(message_input, FramingError):
            self.log_error(f"{message_input}; NACK (AR) sent, connection closed")
            return self._answer(None, REJECT, str(message_input).split(": ", 1)[-1], charset)
        try:
            message = self.parse(message_input)
        except HL7Error as exc:
            self.log_error(f"received input is not an HL7 message: {exc}; NACK (AR) sent")
            return self._answer(None, REJECT, str(exc), charset, text=_text(message_input,
                                                                             charset))
        if mode == "App":
            targets = self.targets()
            if not targets:
                return self._answer(message, ACCEPT, "", charset)
            for other in targets[1:]:
                self.send_request_async(other, message)
            try:
                reply = self.send_request_sync(targets[0], message)
            except StoreError:
                raise
            except Exception as exc:
                self.log_error(f"message {message.Identifier}: {targets[0]} failed: {exc}; "
                               "NACK (AE) sent")
                return self._answer(message, ERROR, str(exc), charset)
            if isinstance(reply, HL7Message) and reply.SegCount:
                return reply.OutputToString().encode(charset, errors="replace")
            return self._answer(message, ACCEPT, "", charset)
        try:
            self.send_on(message)
        except StoreError:
            raise  # not stored: no ACK, the peer sends again
        except Exception as exc:
            self.log_error(f"message {message.Identifier}: not sent on: {type(exc).__name__}: "
                           f"{exc}; NACK (AE) sent")
            return self._answer(message, ERROR, f"{type(exc).__name__}: {exc}", charset)
        if mode == "Never":
            return None
        if mode == "Msh" and message.GetValueAt("MSH:15") in ("NE", "ER"):
            return None
        return self._answer(message, ACCEPT, "", charset)

    def _answer(self, message: HL7Message | None, code: str, reason: str, charset: str,
                text: str = "") -> bytes | None:
        mode = str(self.AckMode)
        if mode == "Never":
            return None
        if mode == "Byte":
            return BYTE_ACK if code == ACCEPT else BYTE_NAK
        if message is None and text:
            ack = nack_for_text(text, code, reason, str(self.LocalFacilityApplication))
        else:
            ack = make_ack(message, code, reason if str(self.AddNackERR).lower()
                           not in ("0", "false") else "", str(self.LocalFacilityApplication))
        return ack.OutputToString().encode(charset, errors="replace")


class FileService(_HL7Service):
    """EnsLib.HL7.Service.FileService: HL7 messages from files (one or more per file, FHS/
    BHS batch envelopes skipped); the file is deleted or archived once all are stored."""

    @classmethod
    def get_adapter_type(cls) -> str | None:
        return "EnsLib.File.InboundAdapter"

    def on_process_input(self, message_input: Any = None) -> None:
        text = getattr(message_input, "Stream", None)
        if text is None:
            text = message_input if isinstance(message_input, str) else ""
        name = getattr(message_input, "OriginalFilename", "") or "input"
        for index, chunk in enumerate(split_messages(str(text)), start=1):
            try:
                message = self.parse(chunk)
            except HL7Error as exc:
                self.log_error(f"{name}: message {index} is not an HL7 message: {exc}; skipped")
                continue
            self.send_on(message)


def check_framing(value: object) -> None:
    """HL7Error unless ``value`` is a Framing this implementation speaks (MLLP)."""
    if str(value or "MLLP") not in FRAMINGS:
        raise HL7Error(f"Framing {value!r} is not supported; use one of {', '.join(FRAMINGS)}")


def split_messages(text: str) -> list[str]:
    """The messages of a file: each starts at an MSH segment; batch envelope segments
    (FHS, BHS, BTS, FTS) and blank lines are dropped."""
    messages: list[list[str]] = []
    for line in _LINE.split(text.lstrip("\ufeff")):
        if not line.strip() or line[:3] in _BATCH_SEGMENTS:
            continue
        if line.startswith("MSH") or not messages:
            messages.append([line])
        else:
            messages[-1].append(line)
    return ["\r".join(lines) + "\r" for lines in messages]


def _text(data: Any, charset: str) -> str:
    if isinstance(data, (bytes, bytearray)):
        return bytes(data).decode(charset, errors="replace")
    return str(data or "")
