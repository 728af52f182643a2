"""HL7 acknowledgements: the ACK a receiver returns for a message (MSA-1 ``AA``), the NACK
for one it refused (``AE`` error, ``AR`` reject, with an ERR segment), and reading the code
out of an ACK a peer returned."""

from __future__ import annotations

import itertools
import os
import time

from iop.connectors.hl7.hl7_message import HL7Error, HL7Message

__all__ = ["ACCEPT", "BYTE_ACK", "BYTE_NAK", "ERROR", "REJECT", "ack_code", "make_ack",
           "nack_for_text"]

ACCEPT, ERROR, REJECT = "AA", "AE", "AR"
BYTE_ACK = b"\x06"  # AckMode Byte: one byte in an MLLP frame
BYTE_NAK = b"\x15"

_counter = itertools.count(1)
# HL7 table 0357 codes put in ERR-3 of a NACK.
_ERR_CODES = {ERROR: "207^Application internal error^HL70357",
              REJECT: "100^Segment sequence error^HL70357"}


def _control_id() -> str:
    return f"{time.strftime('%Y%m%d%H%M%S', time.gmtime())}{os.getpid() % 100000:05d}" \
           f"{next(_counter) % 100000:05d}"


def make_ack(message: HL7Message | None, code: str = ACCEPT, text: str = "",
             local_facility_application: str = "") -> HL7Message:
    """The ACK for ``message``: MSH with sender and receiver swapped, ``MSA|<code>|<its
    control id>``, and for AE/AR an ERR segment carrying ``text``. With no message (it
    could not be read) a minimal NACK. ``local_facility_application`` (``facility:app``)
    names us when the message names no receiver."""
    sep = message.Separators if message is not None else None
    field = sep.field if sep else "|"
    encoding = sep.encoding if sep else "^~\\&"
    facility, _, application = (local_facility_application or "").partition(":")

    def get(path: str) -> str:
        return message.GetValueAt(path) if message is not None else ""

    msh = ["MSH", encoding,
           get("MSH:5") or application, get("MSH:6") or facility,
           get("MSH:3"), get("MSH:4"),
           time.strftime("%Y%m%d%H%M%S", time.gmtime()), "",
           f"ACK{sep.component if sep else '^'}{get('MSH:9.2')}" if get("MSH:9.2") else "ACK",
           _control_id(), get("MSH:11") or "P", get("MSH:12") or "2.5"]
    msa = ["MSA", code, get("MSH:10")]
    if text and code != ACCEPT:
        msa.append(_clean(text, field, sep))
    segments = [field.join(msh), field.join(msa)]
    if code != ACCEPT:
        segments.append(field.join(["ERR", "", "", _ERR_CODES.get(code, _ERR_CODES[ERROR]), "E",
                                    "", "", "", _clean(text, field, sep)]))
    return HL7Message(RawContent="\r".join(segments) + "\r")


def nack_for_text(text: str, code: str, reason: str,
                  local_facility_application: str = "") -> HL7Message:
    """A NACK for input that may not parse: its MSH is used when it can be read."""
    try:
        first = text.replace("\r\n", "\r").replace("\n", "\r").split("\r", 1)[0]
        message: HL7Message | None = HL7Message(RawContent=first)
    except HL7Error:
        message = None
    return make_ack(message, code, reason, local_facility_application)


def ack_code(reply: HL7Message) -> str:
    """MSA-1 of a reply (``AA``, ``AE``, ``AR``, ``CA``, ...), "" when it has none."""
    return reply.GetValueAt("MSA:1").strip().upper()


def _clean(text: str, field: str, sep: object) -> str:
    """``text`` fit for one field: one line, no delimiters, bounded."""
    line = str(text)
    for ch in (field, "^", "~", "\\", "&"):
        line = line.replace(ch, " ")
    return " ".join(line.split())[:200]
