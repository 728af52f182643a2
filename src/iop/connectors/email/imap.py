"""``EnsLib.EMail.IMAPInboundAdapter`` (ours: IRIS's e-mail inbound adapter speaks only
POP3): takes mails from a mailbox (folder) of an IMAP server.

Each mail is flagged ``\\Deleted`` as soon as it is stored and the mailbox is expunged when
the batch ends; mails already flagged are not taken, so a session cut short redelivers at
most the mail that was being handled. With DeleteMessage off the adapter reads only unseen
mails and flags each ``\\Seen`` once it is stored.
"""

from __future__ import annotations

import imaplib
import re

from iop.components.settings import Category, setting
from iop.connectors.credentials import Credential
from iop.connectors.email.mail_server import TIMEOUT_SECONDS, failure_text, tls_mode
from iop.connectors.email.mailbox import MailboxInboundAdapter, MailboxSession, MailRef
from iop.errors import ConnectorError

__all__ = ["IMAPInboundAdapter"]

_SIZE = re.compile(rb"UID (\d+) RFC822\.SIZE (\d+)|RFC822\.SIZE (\d+) UID (\d+)")


class IMAPInboundAdapter(MailboxInboundAdapter):
    """EnsLib.EMail.IMAPInboundAdapter: each matching mail of an IMAP mailbox, as a
    MailMessage."""

    IMAPServer = setting("", category=Category.BASIC, required=True,
                         description="Host name or address of the IMAP server")
    IMAPPort = setting(143, category=Category.BASIC,
                       description="Port of the IMAP server (143; 993 with TLS)")
    Mailbox = setting("INBOX", category=Category.BASIC,
                      description="Mailbox (folder) to take mails from")

    _system = "IMAP"

    def server_address(self) -> tuple[str, int]:
        return str(self.IMAPServer or "").strip(), int(self.IMAPPort or 143)

    def open_session(self, credential: Credential) -> MailboxSession:
        host, port = self.server_address()
        mode = tls_mode(self)
        try:
            if mode.implicit:
                client: imaplib.IMAP4 = imaplib.IMAP4_SSL(host, port, timeout=TIMEOUT_SECONDS,
                                                          ssl_context=mode.context())
            else:
                client = imaplib.IMAP4(host, port, timeout=TIMEOUT_SECONDS)
        except Exception as exc:
            raise ConnectorError(failure_text("IMAP", host, port, exc)) from None
        try:
            if mode.starttls:
                client.starttls(ssl_context=mode.context())
            try:
                client.login(credential.username, credential.password)
            except imaplib.IMAP4.abort:
                raise  # the connection failed, not the login
            except imaplib.IMAP4.error as exc:
                raise ConnectorError(f"IMAP server {host}:{port}: login of user "
                                     f"{credential.username} refused ({_reply(exc)})") from None
            mailbox = str(self.Mailbox or "INBOX")
            status, answer = client.select(_quoted(mailbox))
            if status != "OK":
                raise ConnectorError(f"IMAP server {host}:{port}: mailbox {mailbox} cannot be "
                                     f"opened ({_reply(answer)})")
        except ConnectorError:
            _close_quietly(client)
            raise
        except Exception as exc:
            _close_quietly(client)
            raise ConnectorError(failure_text("IMAP", host, port, exc)) from None
        return _IMAPSession(client, self._deletes())


class _IMAPSession(MailboxSession):
    def __init__(self, client: imaplib.IMAP4, delete: bool) -> None:
        self._client = client
        self._delete = delete
        self._flagged = False

    def pending(self) -> list[MailRef]:
        criteria = "UNDELETED" if self._delete else "UNDELETED UNSEEN"
        uids = _ok(self._client.uid("SEARCH", criteria))[0].split()
        if not uids:
            return []
        sizes: dict[str, int] = {}
        for part in _ok(self._client.uid("FETCH", b",".join(uids).decode(), "(RFC822.SIZE)")):
            line = part[0] if isinstance(part, tuple) else part
            found = _SIZE.search(line or b"")
            if found:
                uid = (found.group(1) or found.group(4)).decode()
                sizes[uid] = int(found.group(2) or found.group(3))
        return [MailRef(key=uid.decode(), uid=uid.decode(), size=sizes.get(uid.decode(), 0))
                for uid in uids]

    def headers(self, ref: MailRef) -> bytes:
        return self._body(ref, "(BODY.PEEK[HEADER])")

    def fetch(self, ref: MailRef) -> bytes:
        return self._body(ref, "(BODY.PEEK[])")

    def _body(self, ref: MailRef, what: str) -> bytes:
        for part in _ok(self._client.uid("FETCH", ref.key, what)):
            if isinstance(part, tuple):
                return bytes(part[1])
        raise imaplib.IMAP4.error(f"mail {ref.uid} is gone from the mailbox")

    def done(self, ref: MailRef) -> None:
        flag = "(\\Deleted)" if self._delete else "(\\Seen)"
        _ok(self._client.uid("STORE", ref.key, "+FLAGS.SILENT", flag))
        self._flagged = self._flagged or self._delete

    def commit(self) -> None:
        if self._flagged:
            _ok(self._client.expunge())
        self._client.logout()

    def abort(self) -> None:
        _close_quietly(self._client)


def _ok(answer: tuple[str, list]) -> list:  # type: ignore[type-arg]
    status, data = answer
    if status != "OK":  # told with the server's address by the adapter's poll
        raise imaplib.IMAP4.error(f"the server answered {status}: {_reply(data)}")
    return data


def _quoted(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _reply(value: object) -> str:
    if isinstance(value, imaplib.IMAP4.error):
        value = value.args[0] if value.args else ""
    if isinstance(value, list):
        value = b" ".join(v for v in value if isinstance(v, bytes))
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    text = str(value)
    if text.startswith(("b'", 'b"')) and text[-1:] in ("'", '"'):
        text = text[2:-1]  # imaplib puts the server's bytes reply in its error as repr
    return " ".join(text.split())


def _close_quietly(client: imaplib.IMAP4) -> None:
    try:
        client.shutdown()
    except (OSError, AttributeError):
        pass
