"""What the POP3 and IMAP inbound adapters share: a poll of the mailbox that hands each
matching mail to the service as a MailMessage and removes it from the server only after the
service's sends are committed (at least once), the IRIS Match* filters, back-pressure with
QueueLimit, and failures told once in one line.

A protocol is a ``MailboxSession`` (open, list, read headers, read a mail, mark it done,
commit, abort); the adapter of each protocol says how to open one.
"""

from __future__ import annotations

import email.parser
import email.policy
from dataclasses import dataclass

from iop.components.adapters import InboundAdapter
from iop.components.settings import Category, setting
from iop.connectors.credentials import Credential, credentials_for, credentials_setting
from iop.connectors.email.mail_message import parse_mail
from iop.connectors.email.mail_server import (
    failure_text,
    ssl_check_identity_setting,
    ssl_config_setting,
)
from iop.connectors.inbound import QueueLimit as Backpressure
from iop.connectors.inbound import queue_limit_setting
from iop.connectors.state import AdapterState
from iop.errors import ConnectorError, StoreUnavailable

__all__ = ["MailRef", "MailboxInboundAdapter", "MailboxSession", "UnreadableMail"]

# Mails handled per session: the session then commits (POP3 applies its deletions only at
# QUIT), so a crash redelivers at most this many.
BATCH = 50

# A mail larger than this is left on the server and logged once (an input must be bounded).
MAX_MAIL_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class MailRef:
    """A mail on the server: ``key`` addresses it within the session (a POP3 number, an
    IMAP UID); ``uid`` names it across sessions; ``size`` in bytes (0: not known)."""

    key: str
    uid: str
    size: int = 0


class UnreadableMail(ConnectorError):
    """The protocol library cannot read this mail (a line longer than it allows); the
    session is out of step after it and is dropped."""


class MailboxSession:
    """A logged-in session on a mailbox. ``done`` takes effect by ``commit``; ``abort``
    (a failure, a stop) leaves every mail not committed on the server."""

    def pending(self) -> list[MailRef]:
        raise NotImplementedError

    def headers(self, ref: MailRef) -> bytes:
        raise NotImplementedError

    def fetch(self, ref: MailRef) -> bytes:
        raise NotImplementedError

    def done(self, ref: MailRef) -> None:
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError


class MailboxInboundAdapter(InboundAdapter):
    """Polls a mailbox every CallInterval seconds; a subclass opens the protocol's session."""

    Credentials = credentials_setting()
    SSLConfig = ssl_config_setting()
    SSLCheckServerIdentity = ssl_check_identity_setting()
    MatchFrom = setting("", category=Category.ADDITIONAL,
                        description="Take only mails whose From: contains one of these texts "
                                    "(separated by ;); empty takes all")
    MatchTo = setting("", category=Category.ADDITIONAL,
                      description="Take only mails whose To: contains one of these texts "
                                  "(separated by ;); empty takes all")
    MatchSubject = setting("", category=Category.ADDITIONAL,
                           description="Take only mails whose Subject: contains one of these "
                                       "texts (separated by ;); empty takes all")
    DeleteMessage = setting(True, category=Category.ADDITIONAL,
                            description="Delete each mail from the server once it is stored; "
                                        "off: leave it (see the protocol's adapter for how it "
                                        "is not taken twice)")
    QueueLimit = queue_limit_setting()

    _system = "mail"
    # Whether, with DeleteMessage off, the mails taken are remembered in the store (POP3 has
    # no flag on the server to say so; IMAP flags them \Seen).
    _remembers_taken = False
    _failure: str = ""
    _taken: AdapterState | None = None
    _pruned = False
    _limit: Backpressure | None = None
    # Mails seen by this job that are not to be taken again while it runs: not matching,
    # too large, refused by the service, or (DeleteMessage off) already taken.
    _passed: set[str]

    # -- what a protocol provides -------------------------------------------------

    def server_address(self) -> tuple[str, int]:
        raise NotImplementedError

    def login_credential(self) -> Credential | None:
        """The user name and password to log in with (the Credentials setting's entry)."""
        return credentials_for(self)

    def open_session(self, credential: Credential) -> MailboxSession:
        """A logged-in session; ConnectorError (one line) when that fails."""
        raise NotImplementedError

    # -- the poll ----------------------------------------------------------------------

    def on_init(self) -> None:
        self._passed = set()
        self._limit = Backpressure(self, int(self.QueueLimit or 0))
        if self._remembers_taken and not self._deletes():
            self._taken = AdapterState(self, f"{self._system.lower()}.taken")

    def on_task(self) -> None:
        if not hasattr(self, "_passed"):
            self.on_init()
        assert self._limit is not None
        if not self._limit.room():
            return
        try:
            while self._poll_once() and not self._stopping():
                pass
        except ConnectorError as exc:
            self._report(str(exc))
            return
        if self._failure:
            self.log_info(f"{self._where()}: reachable again")
            self._failure = ""

    def _poll_once(self) -> bool:
        """One session: take up to BATCH mails and commit; whether more may be waiting."""
        credential = self.login_credential()
        if credential is None:
            raise ConnectorError(f"{self._where()}: the Credentials setting is empty; a "
                                 "mailbox needs a user name and password")
        session = self.open_session(credential)
        committed = False
        try:
            taken, more = self._take(session)
            session.commit()
            committed = True
            return more and taken > 0
        except UnreadableMail:
            return True  # dropped uncommitted (its mails come again); the next one skips it
        except (ConnectorError, StoreUnavailable):
            raise
        except Exception as exc:  # the protocol library's errors, a dropped connection
            raise ConnectorError(failure_text(self._system, *self.server_address(), exc)) from None
        finally:
            if not committed:
                session.abort()

    def _take(self, session: MailboxSession) -> tuple[int, bool]:
        taken = 0
        assert self._limit is not None
        pending = session.pending()
        if self._taken is not None and not self._pruned:
            self._forget_gone({ref.uid for ref in pending})
        for ref in pending:
            if ref.uid in self._passed:
                continue
            if self._taken is not None and self._taken.seen(ref.uid):
                self._passed.add(ref.uid)
                continue
            if taken >= BATCH or self._stopping() or not self._limit.room():
                return taken, True
            if ref.size > MAX_MAIL_BYTES:
                self._pass(ref, f"mail {ref.uid} is {ref.size} bytes, more than "
                                f"{MAX_MAIL_BYTES}; left on the server")
                continue
            try:
                if not self._matches(session.headers(ref)):
                    self._passed.add(ref.uid)
                    continue
                raw = session.fetch(ref)
            except UnreadableMail as exc:
                self._pass(ref, f"mail {ref.uid} cannot be read ({exc}); left on the server")
                raise
            if len(raw) > MAX_MAIL_BYTES:
                self._pass(ref, f"mail {ref.uid} is {len(raw)} bytes, more than "
                                f"{MAX_MAIL_BYTES}; left on the server")
                continue
            try:
                mail = parse_mail(raw)
                self.business_host_process_input(mail)
            except (ConnectorError, StoreUnavailable):
                raise  # the job waits a store outage out; the mail is taken again after it
            except Exception as exc:
                self._pass(ref, f"mail {ref.uid} ({_subject(raw)}) was not taken: the service "
                                f"failed: {type(exc).__name__}: {exc}; it stays on the server "
                                "and is taken again when the item restarts")
                continue
            session.done(ref)
            taken += 1
            if not self._deletes():
                self._passed.add(ref.uid)
                if self._taken is not None:
                    self._taken.remember(ref.uid)
        return taken, False

    def _forget_gone(self, on_server: set[str]) -> None:
        """Once a job: forget the mails remembered as taken that are no longer on the
        server (deleted by another client), so the memory does not grow for ever."""
        assert self._taken is not None
        gone = [key for key, _ in self._taken.keys() if key not in on_server]
        for key in gone:
            self._taken.forget(key)
        self._pruned = True

    def _matches(self, header_bytes: bytes) -> bool:
        headers = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(
            header_bytes)
        for name, wanted in (("From", self.MatchFrom), ("To", self.MatchTo),
                             ("Subject", self.MatchSubject)):
            texts = [t.strip().lower() for t in str(wanted or "").split(";") if t.strip()]
            if not texts:
                continue
            value = " ".join(str(v) for v in headers.get_all(name, [])).lower()
            if not any(text in value for text in texts):
                return False
        return True

    # -- reporting -----------------------------------------------------------------------

    def _pass(self, ref: MailRef, text: str) -> None:
        self._passed.add(ref.uid)
        self.log_error(f"{self._where()}: {text}")
        self._alert(text)

    def _report(self, text: str) -> None:
        """A failed poll, in one line; the same failure again is not repeated."""
        if text == self._failure:
            return
        self._failure = text
        self.log_error(text)
        self._alert(text)

    def _alert(self, text: str) -> None:
        host = self.business_host
        if str(getattr(host, "AlertOnError", False)).strip().lower() in ("1", "true"):
            self.log_alert(text)

    def _where(self) -> str:
        host, port = self.server_address()
        return f"{self._system} server {host}:{port}"

    def _deletes(self) -> bool:
        return str(self.DeleteMessage).strip().lower() not in ("0", "false", "no", "off")

    def _stopping(self) -> bool:
        stop_waiting = getattr(self._iop_runtime, "stop_waiting", None)
        return bool(stop_waiting()) if callable(stop_waiting) else False


def _subject(raw: bytes) -> str:
    headers = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(raw)
    return f"Subject: {str(headers.get('Subject', ''))[:80]}"
