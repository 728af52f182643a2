"""The e-mail message the e-mail adapters exchange with their hosts: IRIS's ``%Net.MailMessage``
fields (From, To, Cc, Subject, Date, TextData, ...) on a message the store persists, so the
portal shows each mail a service received; and its conversion from and to the standard
library's ``email`` objects."""

from __future__ import annotations

import email.policy
import email.utils
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from iop.messages.base import Message

__all__ = ["MailAttachment", "MailMessage", "address_list", "parse_mail", "to_email_message"]


@dataclass
class MailAttachment:
    """One attached file of a mail (a ``%Net.MailMessagePart`` with a FileName)."""

    FileName: str = ""
    ContentType: str = "application/octet-stream"
    BinaryData: bytes = b""


@dataclass
class MailMessage(Message):
    """A mail, with the field names of IRIS's ``%Net.MailMessage``: received by the e-mail
    inbound adapters and accepted by ``SendMail``. ``TextData`` is the text body (the HTML
    body when ``IsHTML``); attachments are kept whole in ``Attachments``."""

    From: str = ""
    To: list[str] = field(default_factory=list)
    Cc: list[str] = field(default_factory=list)
    Bcc: list[str] = field(default_factory=list)
    ReplyTo: str = ""
    Subject: str = ""
    Date: str = ""
    MessageId: str = ""
    TextData: str = ""
    IsHTML: bool = False
    Charset: str = "utf-8"
    Attachments: list[MailAttachment] = field(default_factory=list)
    Headers: dict[str, str] = field(default_factory=dict)
    MessageSize: int = 0


def _addresses(values: list[str]) -> list[str]:
    return [email.utils.formataddr(pair) if pair[0] else pair[1]
            for pair in email.utils.getaddresses(values) if pair[1]]


def parse_mail(raw: bytes) -> MailMessage:
    """A received mail (its RFC 5322 bytes) as a MailMessage."""
    parsed: Any = email.message_from_bytes(raw, policy=email.policy.default)
    body = parsed.get_body(preferencelist=("plain", "html"))
    text, is_html, charset = "", False, "utf-8"
    if body is not None:
        text = _part_text(body)
        is_html = body.get_content_subtype() == "html"
        charset = body.get_content_charset() or "utf-8"
    attachments = []
    for part in parsed.iter_attachments():
        data = part.get_payload(decode=True) or b""
        attachments.append(MailAttachment(FileName=part.get_filename() or "",
                                          ContentType=part.get_content_type(), BinaryData=data))
    return MailMessage(
        From=str(parsed.get("From", "")),
        To=_addresses(parsed.get_all("To", [])),
        Cc=_addresses(parsed.get_all("Cc", [])),
        ReplyTo=str(parsed.get("Reply-To", "")),
        Subject=str(parsed.get("Subject", "")),
        Date=str(parsed.get("Date", "")),
        MessageId=str(parsed.get("Message-ID", "")),
        TextData=text, IsHTML=is_html, Charset=charset, Attachments=attachments,
        Headers={name: str(value) for name, value in parsed.items()},
        MessageSize=len(raw),
    )


def _part_text(part: Any) -> str:
    """The part's text, lines ending in \\n (as sent they end in \\r\\n)."""
    try:
        text = str(part.get_content())
    except (LookupError, ValueError):  # an unknown charset or a broken encoding
        data = part.get_payload(decode=True) or b""
        text = bytes(data).decode("utf-8", errors="replace")
    return text.replace("\r\n", "\n")


def to_email_message(mail: Any) -> EmailMessage:
    """What ``SendMail`` accepts as a standard library EmailMessage: one already, a
    MailMessage, or any object with IRIS's field names (From, To, Cc, Bcc, Subject,
    TextData, IsHTML, Attachments)."""
    if isinstance(mail, EmailMessage):
        return mail
    built = EmailMessage()
    for header, name in (("From", "From"), ("Reply-To", "ReplyTo"), ("Subject", "Subject"),
                         ("Date", "Date"), ("Message-ID", "MessageId")):
        value = getattr(mail, name, "")
        if value:
            built[header] = str(value)
    for header in ("To", "Cc", "Bcc"):
        values = address_list(getattr(mail, header, None))
        if values:
            built[header] = ", ".join(values)
    text = str(getattr(mail, "TextData", "") or "")
    built.set_content(text, subtype="html" if getattr(mail, "IsHTML", False) else "plain",
                      charset=str(getattr(mail, "Charset", "") or "utf-8"))
    for attachment in getattr(mail, "Attachments", None) or []:
        maintype, _, subtype = (getattr(attachment, "ContentType", "") or
                                "application/octet-stream").partition("/")
        built.add_attachment(bytes(getattr(attachment, "BinaryData", b"") or b""),
                             maintype=maintype, subtype=subtype or "octet-stream",
                             filename=getattr(attachment, "FileName", "") or None)
    return built


def address_list(value: Any) -> list[str]:
    """Addresses from a list or from one text separated by commas and/or semicolons (as
    IRIS's Recipient, Cc and Bcc settings are)."""
    if not value:
        return []
    items = value if isinstance(value, (list, tuple)) else [value]
    return _addresses([str(item).replace(";", ",") for item in items])
