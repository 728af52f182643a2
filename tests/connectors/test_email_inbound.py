"""EnsLib.EMail.InboundAdapter (POP3) and EnsLib.EMail.IMAPInboundAdapter in a production run
by the real CLI, against a real Dovecot on its own ports: every mail stored once as a
MailMessage and deleted from the server only after that; Match* filters; the server or the
service's job killed mid-batch with every mail still stored (duplicates only as at least
once allows); a wrong password told in one line, once, without the password.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter
from typing import Any

import pytest
from email_support import PASSWORD, USER, Dovecot, mail_bytes, store_login

PRODUCTION = "Mail.In"

COMPONENTS = '''
ADAPTER = {adapter!r}
SLOW = {slow!r}


class MailIn(BusinessService):
    @classmethod
    def get_adapter_type(cls):
        return ADAPTER

    def on_process_input(self, mail):
        time.sleep(SLOW)
        self.send_request_async("Keeper", mail)


class Keeper(BusinessOperation):
    def on_message(self, request):
        return None
'''

PROTOCOLS = {
    "pop3": ("EnsLib.EMail.InboundAdapter", "POP3Server", "POP3Port"),
    "imap": ("EnsLib.EMail.IMAPInboundAdapter", "IMAPServer", "IMAPPort"),
}


@pytest.fixture(params=sorted(PROTOCOLS))
def protocol(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def dovecot() -> Any:
    server = Dovecot().start()
    yield server
    server.remove()


def project_for(make_project: Any, dovecot: Dovecot, protocol: str, *,
                password: str = PASSWORD, slow: float = 0.0, extra: str = "") -> Any:
    adapter, server_setting, port_setting = PROTOCOLS[protocol]
    port = dovecot.pop3_port if protocol == "pop3" else dovecot.imap_port
    login = store_login(password)
    return make_project(
        COMPONENTS.format(adapter=adapter, slow=slow),
        f'''
prod = Production("{PRODUCTION}")
prod.service("MailIn", MailIn).host_setting("AlertOnError", "1") \\
    .adapter_setting("{server_setting}", "127.0.0.1").adapter_setting("{port_setting}", "{port}") \\
    .adapter_setting("Credentials", "{login}").adapter_setting("CallInterval", "0.2"){extra}
prod.operation("Keeper", Keeper)
PRODUCTIONS = [prod]
''')


def stored_mails(store: Any) -> list[dict[str, Any]]:
    mails = []
    for header in store.query_headers(target="Keeper", type="request", limit=0,
                                      oldest_first=True):
        assert header.body_class is not None and header.body_class.endswith("MailMessage")
        mails.append(json.loads(store.get_body(header) or "{}"))
    return mails


def stored_subjects(store: Any) -> Counter[str]:
    return Counter(mail["Subject"] for mail in stored_mails(store))


def test_each_mail_stored_once_then_deleted(make_project: Any, dovecot: Dovecot, protocol: str,
                                            store: Any, wait_for: Any) -> None:
    dovecot.deliver(*(mail_bytes(f"lab result {n}", body=f"value {n}") for n in range(5)))
    dovecot.deliver(mail_bytes("lab result with file", attachment=b"\x00\x01binary"))
    dovecot.deliver(mail_bytes("newsletter", sender="news@example.com"))
    project = project_for(make_project, dovecot, protocol,
                          extra='.adapter_setting("MatchSubject", "lab result;other")'
                                '.adapter_setting("MatchFrom", "example.org")')
    project.migrate()
    project.start(PRODUCTION)

    wait_for(lambda: sum(stored_subjects(store).values()) >= 6, timeout=60)
    wait_for(lambda: dovecot.inbox_count() == 1, timeout=30)  # deleted after the commit
    subjects = stored_subjects(store)
    assert subjects == Counter([f"lab result {n}" for n in range(5)] + ["lab result with file"])
    remaining = dovecot.inbox()
    assert len(remaining) == 1 and b"newsletter" in remaining[0]  # not matched: left alone

    mails = {mail["Subject"]: mail for mail in stored_mails(store)}
    first = mails["lab result 0"]
    assert first["From"] == "lab@example.org" and first["To"] == ["intake@example.org"]
    assert first["TextData"].strip() == "value 0" and first["IsHTML"] is False
    assert first["Date"] == "Mon, 07 Dec 2026 10:00:00 +0000"
    [attachment] = mails["lab result with file"]["Attachments"]
    assert attachment["FileName"] == "result.bin"
    import base64
    assert base64.b64decode(attachment["BinaryData"]) == b"\x00\x01binary"


@pytest.mark.slow
def test_server_killed_mid_batch_loses_nothing(make_project: Any, dovecot: Dovecot,
                                               protocol: str, store: Any,
                                               wait_for: Any) -> None:
    total = 40
    dovecot.deliver(*(mail_bytes(f"m{n:03}") for n in range(total)))
    project = project_for(make_project, dovecot, protocol, slow=0.05)
    project.migrate()
    project.start(PRODUCTION)

    wait_for(lambda: sum(stored_subjects(store).values()) >= 8, timeout=60)
    dovecot.stop()  # mid-batch: the session in progress is cut
    assert sum(stored_subjects(store).values()) < total, "the batch ended before the kill"
    wait_for(lambda: any("server 127.0.0.1:" in e.text and "connection refused" in e.text
                         for e in store.log_since(0)), timeout=30)
    dovecot.start()
    dovecot.deliver(*(mail_bytes(f"late{n}") for n in range(3)))

    expected = {f"m{n:03}" for n in range(total)} | {f"late{n}" for n in range(3)}
    wait_for(lambda: set(stored_subjects(store)) == expected, timeout=120)
    wait_for(lambda: dovecot.inbox_count() == 0, timeout=30)
    counts = stored_subjects(store)
    duplicates = {s: c for s, c in counts.items() if c > 1}
    # At least once: only mails of the cut session may come twice (POP3 deletes at QUIT,
    # IMAP per mail).
    assert sum(counts.values()) - len(counts) <= 50, duplicates
    texts = [e.text for e in store.log_since(0) if e.type in ("error", "info")]
    assert any("reachable again" in t for t in texts)
    # Told once per outage, not at every poll: between two such lines the server was back.
    episodes = [t for t in texts if t.startswith(protocol.upper()) and
                ("connection refused" in t or "reachable again" in t)]
    assert all("reachable again" in b for a, b in zip(episodes, episodes[1:], strict=False)
               if "refused" in a), episodes


@pytest.mark.slow
def test_service_job_killed_mid_batch_loses_nothing(make_project: Any, dovecot: Dovecot,
                                                    protocol: str, store: Any, wait_for: Any,
                                                    job_pids: Any) -> None:
    total = 30
    dovecot.deliver(*(mail_bytes(f"k{n:03}") for n in range(total)))
    project = project_for(make_project, dovecot, protocol, slow=0.05)
    project.migrate()
    project.start(PRODUCTION)

    wait_for(lambda: sum(stored_subjects(store).values()) >= 5, timeout=60)
    [pid] = job_pids(store)["MailIn"]
    os.kill(pid, signal.SIGKILL)
    assert sum(stored_subjects(store).values()) < total, "the batch ended before the kill"

    wait_for(lambda: set(stored_subjects(store)) == {f"k{n:03}" for n in range(total)},
             timeout=120)
    wait_for(lambda: dovecot.inbox_count() == 0, timeout=30)
    counts = stored_subjects(store)
    if protocol == "imap":  # flagged per mail: only the one being handled can come twice
        assert sum(counts.values()) - len(counts) <= 1, counts


@pytest.mark.slow  # Dovecot slows each failed login of a client down by seconds
def test_wrong_password_one_line_no_secret(make_project: Any, dovecot: Dovecot, protocol: str,
                                           store: Any, wait_for: Any, run_iop: Any) -> None:
    wrong = "not-the-pw-4711"
    dovecot.deliver(mail_bytes("kept"))
    project = project_for(make_project, dovecot, protocol, password=wrong)
    project.migrate()
    project.start(PRODUCTION)

    name = protocol.upper()
    port = dovecot.pop3_port if protocol == "pop3" else dovecot.imap_port
    line = f"{name} server 127.0.0.1:{port}: login of user {USER} refused"
    wait_for(lambda: any(line in e.text for e in store.log_since(0)), timeout=60)
    # A later poll fails the same way (Dovecot slows repeated failures down, so one more is
    # waited for): still one error line (and its alert), no traceback, no password.
    wait_for(lambda: dovecot.log().count("auth failed") >= 2, timeout=30)
    entries = [e for e in store.log_since(0) if e.item == "MailIn"]
    errors = [e for e in entries if e.type == "error"]
    assert len(errors) == 1 and errors[0].text.startswith(line), errors
    assert "\n" not in errors[0].text
    assert [e.type for e in entries if line in e.text] == ["error", "alert"]
    log = run_iop("-L", "200").stdout
    assert "Traceback" not in log
    assert wrong not in log and all(wrong not in e.text for e in store.log_since(0))
    assert dovecot.inbox_count() == 1 and stored_mails(store) == []


GATED_KEEPER = '''

class GatedKeeper(BusinessOperation):
    """Handles nothing until the gate file exists: its queue fills up."""

    def on_message(self, request):
        while not os.path.exists({gate!r}):
            time.sleep(0.05)
'''


def test_queue_limit_holds_mails_on_the_server(make_project: Any, dovecot: Dovecot,
                                               tmp_path: Any, store: Any, wait_for: Any) -> None:
    gate = tmp_path / "gate"
    total = 30
    dovecot.deliver(*(mail_bytes(f"q{n:02}") for n in range(total)))
    login = store_login(PASSWORD)
    project = make_project(
        COMPONENTS.format(adapter="EnsLib.EMail.IMAPInboundAdapter", slow=0.1)
        + GATED_KEEPER.format(gate=str(gate)),
        f'''
prod = Production("{PRODUCTION}")
prod.service("MailIn", MailIn).host_setting("TargetConfigNames", "Keeper") \\
    .adapter_setting("IMAPServer", "127.0.0.1").adapter_setting("IMAPPort", "{dovecot.imap_port}") \\
    .adapter_setting("Credentials", "{login}") \\
    .adapter_setting("CallInterval", "0.2").adapter_setting("QueueLimit", "3")
prod.operation("Keeper", GatedKeeper)
PRODUCTIONS = [prod]
''')
    project.migrate()
    project.start(PRODUCTION)

    wait_for(lambda: store.queue_counts().get("Keeper", 0) >= 3, timeout=60)
    at_limit = sum(stored_subjects(store).values())
    # While the target's queue is full the mailbox is left alone, watched for 2 s (20 mails'
    # worth for this service): at most the few taken before the counts are read again.
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        taken = sum(stored_subjects(store).values())
        assert taken <= at_limit + 6, (at_limit, taken)
        time.sleep(0.1)
    assert dovecot.inbox_count() == total - sum(stored_subjects(store).values()) > 0
    gate.write_text("open")
    wait_for(lambda: set(stored_subjects(store)) == {f"q{n:02}" for n in range(total)},
             timeout=60)
    wait_for(lambda: dovecot.inbox_count() == 0, timeout=30)


@pytest.mark.slow  # two production restarts
def test_kept_mails_are_not_taken_twice_across_restarts(make_project: Any, dovecot: Dovecot,
                                                        protocol: str, store: Any,
                                                        wait_for: Any, run_iop: Any) -> None:
    dovecot.deliver(*(mail_bytes(f"keep{n}") for n in range(3)))
    project = project_for(make_project, dovecot, protocol,
                          extra='.adapter_setting("DeleteMessage", "0")')
    project.migrate()
    project.start(PRODUCTION)
    wait_for(lambda: sum(stored_subjects(store).values()) >= 3, timeout=60)

    run_iop("-S")  # stop, then start again: the mails are still on the server
    dovecot.deliver(mail_bytes("keep3"))
    project.start(PRODUCTION)
    wait_for(lambda: sum(stored_subjects(store).values()) >= 4, timeout=60)
    # A few more polls of the restarted job take nothing again.
    polls = dovecot.log().count("Logged out")
    wait_for(lambda: dovecot.log().count("Logged out") >= polls + 3, timeout=30)
    assert stored_subjects(store) == Counter(f"keep{n}" for n in range(4))
    assert dovecot.inbox_count() == 4
    if protocol == "imap":
        assert all(b"\\Seen" in line for line in dovecot.inbox())
    else:
        def remembered() -> list[str]:
            return [key for key, _ in store.list_adapter_state("MailIn", "pop3.taken",
                                                                after="", limit=100)]

        assert len(remembered()) == 4
        # A mail deleted by another client is forgotten when the job starts again.
        dovecot.remove_mail("keep0")
        run_iop("-S")
        project.start(PRODUCTION)
        wait_for(lambda: len(remembered()) == 3, timeout=60)
        assert stored_subjects(store) == Counter(f"keep{n}" for n in range(4))


def test_a_mail_poplib_cannot_read_does_not_block_the_others(
        make_project: Any, dovecot: Dovecot, store: Any, wait_for: Any) -> None:
    long_line = b"x" * 3000  # over poplib's 2048-byte line limit (and RFC 5322's 998)
    broken = (b"From: lab@example.org\r\nTo: intake@example.org\r\nSubject: too wide\r\n\r\n"
              + long_line + b"\r\n")
    dovecot.deliver(mail_bytes("before"), broken, mail_bytes("after"))
    project = project_for(make_project, dovecot, "pop3")
    project.migrate()
    project.start(PRODUCTION)

    wait_for(lambda: {"before", "after"} <= set(stored_subjects(store)), timeout=60)
    wait_for(lambda: dovecot.inbox_count() == 1, timeout=30)
    assert b"too wide" in dovecot.inbox()[0]
    errors = [e.text for e in store.log_since(0) if e.type == "error"]
    assert len(errors) == 1 and "cannot be read (a line longer than poplib reads)" in errors[0]
    assert "too wide" not in stored_subjects(store)
