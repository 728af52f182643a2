"""``EnsLib.EMail.InboundAdapter``: takes mails from a POP3 mailbox, as IRIS's does.

POP3 applies deletions only when the session ends with QUIT, which the adapter sends after
the batch's mails are stored: a session cut short (a crash, the server restarting) deletes
nothing, and its mails are taken again: at least once. With DeleteMessage off the mails
stay on the server and the UIDL of each mail taken is remembered in the store (AdapterState),
so that it is not taken again, even after a restart.
"""

from __future__ import annotations

import poplib
from collections.abc import Callable

from iop.components.settings import Category, setting
from iop.connectors.credentials import Credential
from iop.connectors.email.mail_server import TIMEOUT_SECONDS, failure_text, tls_mode
from iop.connectors.email.mailbox import (
    MailboxInboundAdapter,
    MailboxSession,
    MailRef,
    UnreadableMail,
)
from iop.errors import ConnectorError

__all__ = ["POP3InboundAdapter"]


class POP3InboundAdapter(MailboxInboundAdapter):
    """EnsLib.EMail.InboundAdapter: each matching mail of a POP3 mailbox, as a MailMessage."""

    POP3Server = setting("", category=Category.BASIC, required=True,
                         description="Host name or address of the POP3 server")
    POP3Port = setting(110, category=Category.BASIC,
                       description="Port of the POP3 server (110; 995 with TLS)")

    _system = "POP3"
    _remembers_taken = True

    def server_address(self) -> tuple[str, int]:
        return str(self.POP3Server or "").strip(), int(self.POP3Port or 110)

    def open_session(self, credential: Credential) -> MailboxSession:
        host, port = self.server_address()
        mode = tls_mode(self)
        try:
            if mode.implicit:
                client: poplib.POP3 = poplib.POP3_SSL(host, port, timeout=TIMEOUT_SECONDS,
                                                      context=mode.context())
            else:
                client = poplib.POP3(host, port, timeout=TIMEOUT_SECONDS)
        except Exception as exc:
            raise ConnectorError(failure_text("POP3", host, port, exc)) from None
        try:
            if mode.starttls:
                client.stls(context=mode.context())
            client.user(credential.username)
            try:
                client.pass_(credential.password)
            except poplib.error_proto as exc:
                raise ConnectorError(f"POP3 server {host}:{port}: login of user "
                                     f"{credential.username} refused ({_reply(exc)})") from None
        except ConnectorError:
            _quit_quietly(client)
            raise
        except Exception as exc:
            _quit_quietly(client)
            raise ConnectorError(failure_text("POP3", host, port, exc)) from None
        return _POP3Session(client, self._deletes())


class _POP3Session(MailboxSession):
    def __init__(self, client: poplib.POP3, delete: bool) -> None:
        self._client = client
        self._delete = delete

    def pending(self) -> list[MailRef]:
        sizes = {}
        for line in self._client.list()[1]:
            number, _, size = line.decode("ascii", errors="replace").partition(" ")
            sizes[number] = int(size or 0)
        refs = []
        for line in self._client.uidl()[1]:
            number, _, uid = line.decode("ascii", errors="replace").partition(" ")
            refs.append(MailRef(key=number, uid=uid.strip(), size=sizes.get(number, 0)))
        return refs

    def headers(self, ref: MailRef) -> bytes:
        return self._lines(lambda: self._client.top(int(ref.key), 0)[1])

    def fetch(self, ref: MailRef) -> bytes:
        return self._lines(lambda: self._client.retr(int(ref.key))[1])

    @staticmethod
    def _lines(read: Callable[[], list[bytes]]) -> bytes:
        try:
            return b"\r\n".join(read()) + b"\r\n"
        except poplib.error_proto as exc:
            if "line too long" in str(exc):  # poplib's limit on a line (RFC 5322's is 998)
                raise UnreadableMail("a line longer than poplib reads") from None
            raise

    def done(self, ref: MailRef) -> None:
        if self._delete:
            self._client.dele(int(ref.key))

    def commit(self) -> None:
        self._client.quit()  # the deletions take effect now

    def abort(self) -> None:
        try:
            self._client.close()  # no QUIT: the server deletes nothing of this session
        except OSError:
            pass


def _reply(exc: poplib.error_proto) -> str:
    text = exc.args[0] if exc.args else b""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return " ".join(str(text).split())


def _quit_quietly(client: poplib.POP3) -> None:
    try:
        client.close()
    except OSError:
        pass
