"""Real mail servers for the e-mail connector tests, each on its own free loopback port:
an SMTP server (aiosmtpd) that keeps what it receives, and Debian's Dovecot (IMAP and POP3,
installed by scripts/setup-test-tools.sh) run with a configuration, users and maildirs in
the test's temporary folder. Both can be stopped and started again on the same port."""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from remote_server import (
    PYTHON,
    free_port,
)

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER, PASSWORD = "alice", "s3cret-mailbox-pw"


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(predicate: Callable[[], Any], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {predicate}")
        time.sleep(0.05)


# ----------------------------------------------------------------------------- SMTP


class SmtpServer:
    """aiosmtpd on 127.0.0.1:port; ``received`` holds every mail it accepted (parsed) with
    its envelope recipients; it refuses recipients whose address starts with ``bad``. With
    ``password`` it requires the login USER/password."""

    def __init__(self, password: str | None = None, starttls: Any = None) -> None:
        self.port = free_port()
        self.password = password
        self.starttls = starttls  # an ssl.SSLContext: offer STARTTLS and require it
        self.received: list[tuple[EmailMessage, list[str]]] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._controller: Any = None

    def start(self) -> SmtpServer:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        server = self

        class Handler:
            async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
                mail = message_from_bytes(envelope.original_content or envelope.content,
                                          policy=policy.default)
                with server._lock:
                    server.received.append((mail, list(envelope.rcpt_tos)))  # type: ignore[arg-type]
                return "250 OK"

            async def handle_RCPT(self, smtp: Any, session: Any, envelope: Any, address: str,
                                  options: list[str]) -> str:
                if address.startswith("bad"):
                    return "550 5.1.1 no such user here"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_EHLO(self, smtp: Any, session: Any, envelope: Any, hostname: str,
                                  responses: list[str]) -> list[str]:
                with server._lock:
                    server.connections += 1
                session.host_name = hostname
                return responses

        def authenticate(smtp: Any, session: Any, envelope: Any, mechanism: str,
                         data: Any) -> Any:
            login = getattr(data, "login", b"") or b""
            secret = getattr(data, "password", b"") or b""
            ok = login == USER.encode() and secret == (self.password or "").encode()
            return AuthResult(success=ok, handled=False)

        kwargs: dict[str, Any] = {}
        if self.password is not None:
            kwargs = {"authenticator": authenticate, "auth_required": True,
                      "auth_require_tls": False}
        if self.starttls is not None:
            kwargs.update(tls_context=self.starttls, require_starttls=True)
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def subjects(self) -> list[str]:
        with self._lock:
            return [str(mail["Subject"]) for mail, _ in self.received]


def self_signed_tls(folder: Path) -> Any:
    """A server TLS context with a fresh self-signed certificate for localhost."""
    import datetime
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context


# ----------------------------------------------------------------------------- Dovecot


class Dovecot:
    """Dovecot serving IMAP and POP3 for one user (USER/PASSWORD, a maildir in a folder of
    its own), run in the foreground as a child of the test; ``remove()`` deletes the folder.
    The folder is not under pytest's tmp_path, which Dovecot's own users (when the tests
    run as root) may not enter."""

    def __init__(self) -> None:
        if not os.path.exists(DOVECOT):
            raise AssertionError("Dovecot is not installed: run scripts/setup-test-tools.sh "
                                 "(apt-get install dovecot-imapd dovecot-pop3d)")
        self.root = Path(tempfile.mkdtemp(prefix="iop-test-dovecot-"))
        self.imap_port = free_port()
        self.pop3_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._write_config()

    def _write_config(self) -> None:
        root = self.root
        for sub in ("run", "state", "mail"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        if os.getuid() == 0:
            # As root, Dovecot runs its processes as its own users; mail must not be root's.
            owner = pwd.getpwnam("dovecot")
            users = ""
        else:
            owner = pwd.getpwuid(os.getuid())
            users = (f"default_internal_user = {owner.pw_name}\n"
                     f"default_login_user = {owner.pw_name}\n")
        os.chown(root / "mail", owner.pw_uid, owner.pw_gid)
        root.chmod(0o755)
        (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        (root / "dovecot.conf").write_text(f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
instance_name = iop-test-{self.imap_port}
{users}protocols = imap pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
first_valid_uid = 0
shutdown_clients = yes
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={owner.pw_uid} gid={owner.pw_gid} home={root}/mail/%u
}}
mail_location = maildir:{root}/mail/%u/Maildir
pop3_uidl_format = %08Xu%08Xv
service imap-login {{
  inet_listener imap {{
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {self.pop3_port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
""")

    def start(self) -> Dovecot:
        # A session of its own: stop() kills the whole server (master, logins, sessions).
        self.process = subprocess.Popen([DOVECOT, "-F", "-c", str(self.root / "dovecot.conf")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        wait_until(lambda: port_open(self.imap_port) and port_open(self.pop3_port))
        assert self.process.poll() is None, f"dovecot exited: {self.log()[-2000:]}"
        return self

    def stop(self) -> None:
        """Kill the server (and so every session it serves) at once."""
        process, self.process = self.process, None
        if process is None:
            return
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)
        wait_until(lambda: not port_open(self.imap_port) and not port_open(self.pop3_port))

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- the mailbox, through IMAP ------------------------------------------------

    def _imap(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=10)
        client.login(USER, PASSWORD)
        return client

    def deliver(self, *mails: bytes) -> None:
        """Put ``mails`` (RFC 5322 bytes) into the user's INBOX."""
        client = self._imap()
        try:
            for mail in mails:
                status, answer = client.append("INBOX", None, None, mail)
                assert status == "OK", answer
        finally:
            client.logout()

    def inbox(self) -> list[bytes]:
        """Every mail in the INBOX, \\Deleted or not, with its flags line first."""
        client = self._imap()
        try:
            client.select("INBOX", readonly=True)
            status, data = client.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            return [part[0] + b" " + part[1] for part in data if isinstance(part, tuple)]
        finally:
            client.logout()

    def remove_mail(self, subject: str) -> None:
        """Delete the mails with this subject, as another mail client would."""
        client = self._imap()
        try:
            client.select("INBOX")
            status, data = client.search(None, "SUBJECT", f'"{subject}"')
            for number in data[0].split():
                client.store(number, "+FLAGS", "(\\Deleted)")
            client.expunge()
        finally:
            client.logout()

    def inbox_count(self) -> int:
        client = self._imap()
        try:
            status, data = client.select("INBOX", readonly=True)
            return int(data[0] or 0)
        finally:
            client.logout()


def mail_bytes(subject: str, body: str = "hello", sender: str = "lab@example.org",
               to: str = "intake@example.org", attachment: bytes | None = None) -> bytes:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = "Mon, 07 Dec 2026 10:00:00 +0000"
    mail.set_content(body)
    if attachment is not None:
        mail.add_attachment(attachment, maintype="application", subtype="octet-stream",
                            filename="result.bin")
    return mail.as_bytes(policy=policy.SMTP)


def store_login(password: str, name: str = "mail") -> str:
    """The mail account's login kept in the credentials store, as a user adds it
    (``iop --credentials-add``, the password on stdin); returns the entry's name."""
    subprocess.run([PYTHON, "-m", "iop", "--credentials-add", name, "--username", USER],
                   input=password + "\n", env=dict(os.environ), capture_output=True, text=True,
                   timeout=60, check=True)
    return name
