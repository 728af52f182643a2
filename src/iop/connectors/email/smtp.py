"""``EnsLib.EMail.OutboundAdapter``: sends mail through an SMTP server.

One connection serves a burst of sends and is closed after IDLE_SECONDS without one (mail
servers drop idle clients); a connection found dead (the server restarted) is reopened once
and the mail sent again before the failure is raised. Every failure is a ConnectorError of
one line (server, port, cause), so the operation's ReplyCodeActions and RetryInterval apply.
"""

from __future__ import annotations

import email.utils
import smtplib
import time
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from typing import Any

from iop.components.adapters import OutboundAdapter
from iop.components.settings import Category, setting
from iop.connectors.credentials import Credential, credentials_for, credentials_setting
from iop.connectors.email.mail_message import address_list, to_email_message
from iop.connectors.email.mail_server import (
    TIMEOUT_SECONDS,
    failure_text,
    ssl_check_identity_setting,
    ssl_config_setting,
    tls_mode,
)
from iop.errors import ConnectorError

__all__ = ["SMTPOutboundAdapter"]

# A connection unused this long is closed rather than trusted: servers drop idle clients.
IDLE_SECONDS = 30.0

# Failures of the connection itself (not a reply of the server): worth one reconnect.
_CONNECTION_LOST = (smtplib.SMTPServerDisconnected, ConnectionError, TimeoutError, OSError)


class SMTPOutboundAdapter(OutboundAdapter):
    """EnsLib.EMail.OutboundAdapter: sends each mail through the SMTP server."""

    SMTPServer = setting("", category=Category.BASIC,
                         description="Host name or address of the SMTP server")
    SMTPPort = setting(25, category=Category.BASIC,
                       description="Port of the SMTP server (25, 587 with STARTTLS, 465 with TLS)")
    Credentials = credentials_setting()
    SSLConfig = ssl_config_setting()
    SSLCheckServerIdentity = ssl_check_identity_setting()
    Recipient = setting("", category=Category.ADDITIONAL,
                        description="Addresses (separated by , or ;) added to the To: of "
                                    "every mail")
    Cc = setting("", category=Category.ADDITIONAL,
                 description="Addresses added to the Cc: of every mail")
    Bcc = setting("", category=Category.ADDITIONAL,
                  description="Addresses every mail is also sent to, unseen by the others")
    From = setting("", category=Category.ADDITIONAL,
                   description="Sender address of mails that name none")
    ContinueAfterBadSend = setting(True, category=Category.ADDITIONAL,
                                   description="When the server refuses some recipients, send "
                                               "to the others and log the refused ones; off: "
                                               "fail the mail, sent to no one")

    _smtp: smtplib.SMTP | None = None
    _used_at: float = 0.0

    # -- IRIS's methods --------------------------------------------------------

    def send_mail(self, mail: Any) -> list[str]:
        """Send ``mail`` (an EmailMessage, a MailMessage, or an object with IRIS's
        %Net.MailMessage fields) with the Recipient, Cc, Bcc and From settings added; return
        the recipients the server refused (when ContinueAfterBadSend lets it go on)."""
        if not str(self.SMTPServer or "").strip():
            raise ConnectorError("mail not sent: the SMTPServer setting is empty")
        message = self._prepared(mail)
        recipients = address_list(message.get_all("To", []) + message.get_all("Cc", []) +
                              message.get_all("Bcc", []))
        if not recipients:
            raise ConnectorError("mail not sent: it has no recipient (To, Cc, Bcc or the "
                                 "Recipient setting)")
        del message["Bcc"]  # the envelope carries them; the header would show them to all
        sender = address_list(message.get("From", ""))
        refused = self._deliver(message, _bare(sender[0]) if sender else "",
                                [_bare(r) for r in recipients])
        if refused:
            self.log_warning(f"mail sent, but the server refused some recipients: "
                             f"{_refused_text(refused)}")
        return list(refused)

    SendMail = send_mail

    def add_recipients(self, mail: Any, recipients: Any) -> None:
        """Add addresses (a list, or a text separated by , or ;) to the mail's To."""
        _add_addresses(mail, "To", recipients)

    def add_cc_recipients(self, mail: Any, recipients: Any) -> None:
        """Add addresses to the mail's Cc."""
        _add_addresses(mail, "Cc", recipients)

    def add_bcc_recipients(self, mail: Any, recipients: Any) -> None:
        """Add addresses to the mail's Bcc (the envelope only, never a header sent)."""
        _add_addresses(mail, "Bcc", recipients)

    AddRecipients = add_recipients
    AddCcRecipients = add_cc_recipients
    AddBccRecipients = add_bcc_recipients

    def login_credential(self) -> Credential | None:
        """The user name and password to log in with (the Credentials setting's entry)."""
        return credentials_for(self)

    def on_tear_down(self) -> None:
        self._close()

    # -- sending -----------------------------------------------------------------

    def _prepared(self, mail: Any) -> EmailMessage:
        message = to_email_message(mail)
        if message is mail:
            message = _copy(message)  # the caller's object is left as it was
        for header, extra in (("To", self.Recipient), ("Cc", self.Cc), ("Bcc", self.Bcc)):
            added = address_list(extra)
            if added:
                present = address_list(message.get_all(header, []))
                del message[header]
                message[header] = ", ".join(present + added)
        if not message.get("From"):
            if not self.From:
                raise ConnectorError("mail not sent: it has no From address and the From "
                                     "setting is empty")
            message["From"] = str(self.From)
        return message

    def _deliver(self, message: EmailMessage, sender: str,
                 recipients: list[str]) -> dict[str, tuple[int, bytes]]:
        reused = self._smtp is not None and time.monotonic() - self._used_at < IDLE_SECONDS
        if not reused:
            self._close()
        for attempt in (1, 2):
            try:
                smtp = self._connection()
                refused = self._transaction(smtp, message, sender, recipients)
                self._used_at = time.monotonic()
                return refused
            except smtplib.SMTPResponseException as exc:
                self._close()
                raise ConnectorError(f"{self._where()}: {_refusal(exc)}") from None
            except _CONNECTION_LOST as exc:
                self._close()
                if attempt == 1 and reused:
                    continue  # the server closed our idle connection (or restarted): reopen
                raise ConnectorError(failure_text("SMTP", *self._address(), exc)) from None
        raise AssertionError("unreachable")

    def _transaction(self, smtp: smtplib.SMTP, message: EmailMessage, sender: str,
                     recipients: list[str]) -> dict[str, tuple[int, bytes]]:
        """MAIL, RCPT for each recipient, then DATA, or RSET when a refused recipient must
        stop the mail (ContinueAfterBadSend off) or none is accepted: a mail that failed
        reached no one, so a retry sends it to nobody twice."""
        smtp.ehlo_or_helo_if_needed()
        wide = any(not a.isascii() for a in [sender, *recipients])
        options = ["SMTPUTF8", "BODY=8BITMIME"] if wide and smtp.has_extn("smtputf8") else []
        code, reply = smtp.mail(sender, options)
        if code != 250:
            smtp.rset()
            raise smtplib.SMTPSenderRefused(code, reply, sender)
        refused: dict[str, tuple[int, bytes]] = {}
        for address in recipients:
            code, reply = smtp.rcpt(address)
            if code not in (250, 251):
                refused[address] = (code, reply)
        if refused and (len(refused) == len(recipients) or not self._continue_after_bad_send()):
            smtp.rset()
            self._used_at = time.monotonic()
            what = "every recipient refused" if len(refused) == len(recipients) else \
                "recipients refused"
            raise ConnectorError(f"{self._where()}: {what}: {_refused_text(refused)}")
        smtp.data(message.as_bytes(policy=SMTPUTF8 if options else SMTP))
        return refused

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        host, port = self._address()
        mode = tls_mode(self)
        smtp: smtplib.SMTP
        if mode.implicit:
            smtp = smtplib.SMTP_SSL(host, port, timeout=TIMEOUT_SECONDS, context=mode.context())
        else:
            smtp = smtplib.SMTP(host, port, timeout=TIMEOUT_SECONDS)
        try:
            if mode.starttls:
                smtp.starttls(context=mode.context())
            credential = self.login_credential()
            if credential is not None:
                try:
                    smtp.login(credential.username, credential.password)
                except smtplib.SMTPAuthenticationError as exc:
                    raise ConnectorError(f"{self._where()}: login of user {credential.username} "
                                         f"refused ({exc.smtp_code} {_text(exc.smtp_error)})"
                                         ) from None
        except BaseException:
            _quietly_close(smtp)
            raise
        self._smtp = smtp
        return smtp

    def _close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            _quietly_close(smtp)

    def _address(self) -> tuple[str, int]:
        return str(self.SMTPServer or "").strip(), int(self.SMTPPort or 25)

    def _where(self) -> str:
        host, port = self._address()
        return f"SMTP server {host}:{port}"

    def _continue_after_bad_send(self) -> bool:
        return str(self.ContinueAfterBadSend).strip().lower() not in ("0", "false", "no", "off")


def _add_addresses(mail: Any, field: str, recipients: Any) -> None:
    added = address_list(recipients)
    if isinstance(mail, EmailMessage):
        present = address_list(mail.get_all(field, []))
        del mail[field]
        mail[field] = ", ".join(present + added)
        return
    current = getattr(mail, field, None)
    if isinstance(current, list):
        current.extend(added)
    else:
        setattr(mail, field, address_list(current) + added)


def _bare(address: str) -> str:
    """The address alone, for the envelope: ``Lab <lab@x.org>`` -> ``lab@x.org``."""
    return email.utils.parseaddr(address)[1] or address


def _refused_text(refused: dict[str, tuple[int, bytes]]) -> str:
    return ", ".join(f"{address} ({code} {_text(reply)})"
                     for address, (code, reply) in refused.items())


def _copy(message: EmailMessage) -> EmailMessage:
    import copy

    return copy.deepcopy(message)


def _quietly_close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except Exception:
        try:
            smtp.close()
        except Exception:
            pass


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", errors="replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())


def _refusal(exc: smtplib.SMTPResponseException) -> str:
    what = "sender refused" if isinstance(exc, smtplib.SMTPSenderRefused) else \
        "mail refused" if isinstance(exc, smtplib.SMTPDataError) else "the server answered"
    return f"{what} ({exc.smtp_code} {_text(exc.smtp_error)})"
