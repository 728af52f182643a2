"""EnsLib.EMail.OutboundAdapter in a production run by the real CLI, against a real SMTP
server (aiosmtpd) on its own port: mails sent with the adapter's Recipient/Cc/Bcc/From,
one connection for a burst, the server restarted mid-stream with nothing lost (the
operation's retries send what failed while it was down), a wrong password told in one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from email_support import PASSWORD, USER, SmtpServer, free_port, self_signed_tls, store_login

PRODUCTION = "Mail.Out"

COMPONENTS = '''
from iop.connectors.email import MailAttachment, MailMessage


class Mailer(BusinessOperation):
    """Mails each picked-up file: its name as the subject, its text as the body."""

    @classmethod
    def get_adapter_type(cls):
        return "EnsLib.EMail.OutboundAdapter"

    def on_message(self, request):
        name = os.path.basename(request.OriginalFilename)
        self.adapter.send_mail(MailMessage(
            To=["lab@example.org"], Subject=name, TextData=request.Stream,
            Attachments=[MailAttachment(FileName=name, ContentType="text/plain",
                                        BinaryData=request.Stream.encode())]))
'''


def production(inbox: Path, port: int, *, retry: bool = True, password: str = "") -> str:
    """The production; with ``password``, the adapter logs in with a credentials store
    entry holding it."""
    rules = ('.host_setting("ReplyCodeActions", "E=R").host_setting("RetryInterval", "0.5")'
             '.host_setting("FailureTimeout", "-1")') if retry else ""
    if password:
        rules += f'.adapter_setting("Credentials", "{store_login(password)}")'
    return f'''
prod = Production("{PRODUCTION}")
prod.service("FileIn", class_name="EnsLib.File.PassthroughService") \\
    .adapter_setting("FilePath", {str(inbox)!r}).adapter_setting("CallInterval", "0.2") \\
    .host_setting("TargetConfigNames", "Mailer")
prod.operation("Mailer", Mailer){rules} \\
    .adapter_setting("SMTPServer", "127.0.0.1").adapter_setting("SMTPPort", "{port}") \\
    .adapter_setting("From", "iop@example.org").adapter_setting("Cc", "audit@example.org") \\
    .adapter_setting("Bcc", "archive@example.org; backup@example.org")
PRODUCTIONS = [prod]
'''


def drop(inbox: Path, names: list[str]) -> None:
    for name in names:
        (inbox / f"{name}.tmp").write_text(f"result {name}\n")
        (inbox / f"{name}.tmp").rename(inbox / f"{name}.txt")


@pytest.fixture
def smtp() -> Any:
    server = SmtpServer(password=PASSWORD).start()
    yield server
    server.stop()


def test_mails_sent_with_settings_and_one_connection_per_burst(
        make_project: Any, smtp: SmtpServer, tmp_path: Path, wait_for: Any) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    project = make_project(COMPONENTS,
                           production(inbox, smtp.port, password=PASSWORD))
    project.migrate()
    project.start(PRODUCTION)
    names = [f"r{n:02}" for n in range(12)]
    drop(inbox, names)
    wait_for(lambda: len(smtp.received) >= 12, timeout=60)

    assert sorted(smtp.subjects()) == [f"{n}.txt" for n in names]
    mail, envelope = smtp.received[0]
    assert mail["From"] == "iop@example.org"
    assert mail["To"] == "lab@example.org" and mail["Cc"] == "audit@example.org"
    assert mail["Bcc"] is None  # Bcc recipients get the mail without being shown
    assert sorted(envelope) == ["archive@example.org", "audit@example.org",
                                "backup@example.org", "lab@example.org"]
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None and body.get_content().startswith("result r")
    attachment = next(iter(mail.iter_attachments()))
    assert attachment.get_filename() == str(mail["Subject"])
    # Files are picked up in polls of a few at a time; the connection is kept between
    # sends of a burst rather than opened per mail.
    assert smtp.connections < 12


def test_server_restart_mid_stream_loses_nothing(
        make_project: Any, smtp: SmtpServer, tmp_path: Path, wait_for: Any,
        store: Any) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    project = make_project(COMPONENTS,
                           production(inbox, smtp.port, password=PASSWORD))
    project.migrate()
    project.start(PRODUCTION)
    drop(inbox, ["a1", "a2", "a3"])
    wait_for(lambda: len(smtp.received) >= 3, timeout=60)

    smtp.stop()  # the kept connection is now dead, and nothing listens
    drop(inbox, ["b1", "b2", "b3"])
    wait_for(lambda: not any(inbox.iterdir()), timeout=30)  # taken in, waiting for the server
    wait_for(lambda: any("SMTP server 127.0.0.1" in e.text and "connection refused" in e.text
                         for e in store.log_since(0)), timeout=30)
    smtp.start()  # the same port again
    drop(inbox, ["c1"])
    wait_for(lambda: len(smtp.received) >= 7, timeout=60)

    assert sorted(set(smtp.subjects())) == sorted(
        f"{n}.txt" for n in ("a1", "a2", "a3", "b1", "b2", "b3", "c1"))
    requests = store.query_headers(target="Mailer", type="request", limit=0)
    wait_for(lambda: all(h.status == "completed" for h in
                         store.query_headers(target="Mailer", type="request", limit=0)))
    assert len(requests) == 7

    # Restarted between two sends: the kept connection is found dead and opened again at
    # once, so the mail goes at its first attempt, with no error.
    errors_before = sum(e.type == "error" for e in store.log_since(0))
    smtp.stop()
    smtp.start()
    drop(inbox, ["d1"])
    wait_for(lambda: "d1.txt" in smtp.subjects(), timeout=60)
    wait_for(lambda: len([h for h in store.query_headers(target="Mailer", type="request",
                                                         limit=0) if h.status == "completed"]) == 8)
    assert sum(e.type == "error" for e in store.log_since(0)) == errors_before


def test_wrong_password_is_one_clear_line_without_the_password(
        make_project: Any, tmp_path: Path, wait_for: Any, store: Any, run_iop: Any) -> None:
    smtp = SmtpServer(password="the-right-one").start()
    try:
        inbox = tmp_path / "inbox"
        inbox.mkdir()
        project = make_project(COMPONENTS,
                               production(inbox, smtp.port, retry=False, password=PASSWORD))
        project.migrate()
        project.start(PRODUCTION)
        drop(inbox, ["x1"])
        wait_for(lambda: any(h.status == "error" for h in
                             store.query_headers(target="Mailer", type="request", limit=0)),
                 timeout=60)
        header = store.query_headers(target="Mailer", type="request", limit=1)[0]
        assert header.error is not None
        assert f"SMTP server 127.0.0.1:{smtp.port}: login of user {USER} refused (535" \
            in header.error
        log = run_iop("-L", "100").stdout
        assert "login of user alice refused" in log
        assert "Traceback" not in header.error
        for entry in store.log_since(0):
            assert PASSWORD not in entry.text
        assert PASSWORD not in log and PASSWORD not in (header.error or "")
        assert smtp.received == []
    finally:
        smtp.stop()


def test_unreachable_server_fails_in_one_line(make_project: Any, tmp_path: Path,
                                              wait_for: Any, store: Any) -> None:
    port = free_port()  # nothing listens there
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    project = make_project(COMPONENTS,
                           production(inbox, port, retry=False))
    project.migrate()
    project.start(PRODUCTION)
    drop(inbox, ["y1"])
    wait_for(lambda: any(h.status == "error" for h in
                         store.query_headers(target="Mailer", type="request", limit=0)),
             timeout=60)
    header = store.query_headers(target="Mailer", type="request", limit=1)[0]
    assert f"SMTP server 127.0.0.1:{port}: connection refused" in (header.error or "")
    assert "\n" not in (header.error or "").strip().splitlines()[0]



ALERTING = '''
class Noisy(BusinessOperation):
    def on_message(self, request):
        self.log_alert(f"disk full on {os.path.basename(request.OriginalFilename)}")
'''


def test_alert_operation_mails_through_the_adapter(make_project: Any, tmp_path: Path,
                                                   wait_for: Any) -> None:
    smtp = SmtpServer().start()  # no login: the alert operation's adapter names no Credentials
    try:
        inbox = tmp_path / "inbox"
        inbox.mkdir()
        project = make_project(ALERTING, f'''
prod = Production("{PRODUCTION}")
prod.service("FileIn", class_name="EnsLib.File.PassthroughService") \\
    .adapter_setting("FilePath", {str(inbox)!r}).adapter_setting("CallInterval", "0.2") \\
    .host_setting("TargetConfigNames", "Noisy")
prod.operation("Noisy", Noisy)
prod.operation("Ens.Alert", "EnsLib.EMail.AlertOperation") \\
    .adapter_setting("SMTPServer", "127.0.0.1").adapter_setting("SMTPPort", "{smtp.port}") \\
    .host_setting("Recipient", "oncall@example.org")
PRODUCTIONS = [prod]
''')
        project.migrate()
        project.start(PRODUCTION)
        drop(inbox, ["node7"])
        wait_for(lambda: smtp.received, timeout=60)
        mail, envelope = smtp.received[0]
        # Recipient given the old way (a host setting) still reaches the adapter.
        assert envelope == ["oncall@example.org"]
        assert mail["From"] == "iop@localhost"
        assert "disk full on node7.txt" in str(mail["Subject"])
        assert str(mail["Subject"]).startswith("[iop alert] Noisy")
    finally:
        smtp.stop()


def test_starttls_from_ssl_config(make_project: Any, tmp_path: Path, wait_for: Any,
                                  store: Any, run_iop: Any) -> None:
    """SSLConfig "name*" asks for STARTTLS: with the server's identity checked, its
    self-signed certificate is refused in one line; unchecked, the mail goes (encrypted: the
    server requires STARTTLS before anything is sent)."""
    smtp = SmtpServer(starttls=self_signed_tls(tmp_path)).start()
    try:
        inbox = tmp_path / "inbox"
        inbox.mkdir()
        settings = production(inbox, smtp.port, retry=False) \
            .replace('.adapter_setting("From"', '.adapter_setting("SSLConfig", "test*")'
                     '.adapter_setting("From"')
        project = make_project(COMPONENTS, settings)
        project.migrate()
        project.start(PRODUCTION)
        drop(inbox, ["t1"])
        wait_for(lambda: any(h.status == "error" for h in
                             store.query_headers(target="Mailer", type="request", limit=0)),
                 timeout=60)
        header = store.query_headers(target="Mailer", type="request", limit=1)[0]
        assert f"SMTP server 127.0.0.1:{smtp.port}: TLS failed: CERTIFICATE_VERIFY_FAILED" \
            in (header.error or "")

        run_iop("-S")
        project.write_settings(settings.replace(
            '.adapter_setting("SSLConfig", "test*")',
            '.adapter_setting("SSLConfig", "test*").adapter_setting("SSLCheckServerIdentity", "0")'))
        project.migrate()
        project.start(PRODUCTION)
        drop(inbox, ["t2"])
        wait_for(lambda: smtp.received, timeout=60)
        assert smtp.subjects() == ["t2.txt"]
    finally:
        smtp.stop()


@pytest.mark.parametrize("go_on", [True, False])
def test_continue_after_bad_send(make_project: Any, tmp_path: Path, wait_for: Any, store: Any,
                                 go_on: bool) -> None:
    """IRIS's ContinueAfterBadSend: on, a mail goes to the recipients the server accepts and
    the refused ones are logged; off, a refused recipient fails the mail before it is sent
    to anyone."""
    smtp = SmtpServer().start()
    try:
        inbox = tmp_path / "inbox"
        inbox.mkdir()
        settings = production(inbox, smtp.port, retry=False).replace(
            '.adapter_setting("Cc", "audit@example.org")',
            '.adapter_setting("Cc", "bad-audit@example.org")'
            f'.adapter_setting("ContinueAfterBadSend", "{int(go_on)}")')
        project = make_project(COMPONENTS, settings)
        project.migrate()
        project.start(PRODUCTION)
        drop(inbox, ["z1"])
        wait_for(lambda: any(h.status in ("completed", "error") for h in
                             store.query_headers(target="Mailer", type="request", limit=0)),
                 timeout=60)
        header = store.query_headers(target="Mailer", type="request", limit=1)[0]
        refused = "bad-audit@example.org (550 5.1.1 no such user here)"
        if go_on:
            assert header.status == "completed"
            assert len(smtp.received) == 1
            assert sorted(smtp.received[0][1]) == ["archive@example.org", "backup@example.org",
                                                   "lab@example.org"]
            assert any(e.type == "warning" and refused in e.text for e in store.log_since(0))
        else:
            assert header.status == "error"
            assert f"SMTP server 127.0.0.1:{smtp.port}: recipients refused: {refused}" \
                in (header.error or "")
            assert smtp.received == []  # stopped before DATA: a retry sends no one a copy
    finally:
        smtp.stop()
