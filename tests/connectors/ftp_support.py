"""Real FTP and SFTP servers for the FTP connector tests, each in its own process on a free
loopback port (so a test can stop and restart it), and the productions the tests run.

FTP (pyftpdlib): an anonymous user (who may write, only read, or not log in) and ``alice`` /
``PASSWORD``, both rooted at the server's folder. SFTP (asyncssh): a generated host key; ``alice`` logs in with
``PASSWORD``, the user running the tests with the generated client key.
"""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from remote_server import free_port

PASSWORD = "s3cret-Pw-7781"

FTP_SCRIPT = textwrap.dedent('''
    import sys
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import FTPServer

    root, port, anonymous, password, mlsd = sys.argv[1], int(sys.argv[2]), *sys.argv[3:6]
    authorizer = DummyAuthorizer()
    if anonymous != "none":
        authorizer.add_anonymous(root, perm="elr" if anonymous == "read" else "elradfmwMT")
    authorizer.add_user("alice", password, root, perm="elradfmwMT")
    handler = FTPHandler
    if len(sys.argv) > 6:  # FTPS: TLS required on the control and the data connections
        from pyftpdlib.handlers import TLS_FTPHandler

        handler = TLS_FTPHandler
        handler.certfile, handler.keyfile = sys.argv[6], sys.argv[7]
        handler.tls_control_required = handler.tls_data_required = True
    if mlsd == "0":  # an older server: listings by NLST, SIZE and MDTM
        handler.proto_cmds = {k: v for k, v in handler.proto_cmds.items()
                              if k not in ("MLSD", "MLST")}
    handler.authorizer = authorizer
    handler.auth_failed_timeout = 0.1
    server = FTPServer(("127.0.0.1", port), handler)
    server.serve_forever()
''')

SFTP_SCRIPT = textwrap.dedent('''
    import asyncio
    import sys

    import asyncssh

    root, port, host_key, client_key, key_user, password = sys.argv[1:7]

    class Server(asyncssh.SSHServer):
        def begin_auth(self, username):
            return True

        def password_auth_supported(self):
            return True

        def validate_password(self, username, given):
            return username == "alice" and given == password

        def public_key_auth_supported(self):
            return True

        def validate_public_key(self, username, key):
            return username == key_user and \\
                key.export_public_key() == asyncssh.read_public_key(client_key).export_public_key()

    async def main():
        await asyncssh.listen("127.0.0.1", int(port), server_host_keys=[host_key],
                              server_factory=Server,
                              sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=root),
                              allow_scp=False)
        await asyncio.Event().wait()

    asyncio.run(main())
''')


def _wait_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the test server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"the test server did not listen on port {port} within {timeout} s")


class _Server:
    """A server process that can be stopped and started again on the same port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    def _command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        # Not under the test's IOP_HOME: the server is the test's to stop, not `iop -k`'s.
        env = {k: v for k, v in os.environ.items() if k != "IOP_HOME"}
        for attempt in range(5):
            self._process = subprocess.Popen(self._command(), stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL, env=env)
            try:
                _wait_listening(self.port, self._process)
                return
            except AssertionError:
                # Restarted on its port, the server may find it still taken for a moment
                # (a client's socket of the previous run): try again shortly.
                self.stop()
                if attempt == 4:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()


class FtpServer(_Server):
    """pyftpdlib serving ``root``."""

    def __init__(self, root: Path, anonymous: str = "write",
                 tls: tuple[Path, Path] | None = None, mlsd: bool = True) -> None:
        super().__init__(root)
        self.anonymous = anonymous  # what the anonymous user may do: write, read or none
        self.tls = tls  # (certificate file, key file): FTPS
        self.mlsd = mlsd

    def _command(self) -> list[str]:
        tls = [str(self.tls[0]), str(self.tls[1])] if self.tls else []
        return [sys.executable, "-c", FTP_SCRIPT, str(self.root), str(self.port),
                self.anonymous, PASSWORD, "1" if self.mlsd else "0", *tls]


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a certificate for 127.0.0.1 it signed: (CA file, certificate, key)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "iop test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


class SftpServer(_Server):
    """asyncssh serving ``root`` over SFTP; ``client_key`` logs in as the current user."""

    def __init__(self, root: Path, keys: Path) -> None:
        import asyncssh

        super().__init__(root)
        keys.mkdir(parents=True, exist_ok=True)
        self.host_key = keys / "host_key"
        self.client_key = keys / "client_key"
        asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(self.host_key))
        client = asyncssh.generate_private_key("ssh-ed25519")
        client.write_private_key(str(self.client_key))
        client.write_public_key(str(self.client_key) + ".pub")

    def _command(self) -> list[str]:
        return [sys.executable, "-c", SFTP_SCRIPT, str(self.root), str(self.port),
                str(self.host_key), str(self.client_key) + ".pub", getpass.getuser(), PASSWORD]


def write_slowly(path: Path, parts: list[bytes], pause: float) -> None:
    """Write ``parts`` to ``path`` one by one, ``pause`` seconds apart (a file still being
    written while the adapter polls)."""
    with open(path, "wb") as fh:
        for part in parts:
            fh.write(part)
            fh.flush()
            time.sleep(pause)


PRODUCTION = "Ftp.Production"


def start_production(make_project: Any, production: str) -> None:
    """Migrate ``production`` (settings text, no components of its own) and start it."""
    project = make_project("", production)
    project.migrate()
    project.start(PRODUCTION)


def _chain(settings: dict[str, object], kind: str) -> str:
    return "".join(f" \\\n    .{kind}_setting({k!r}, {str(v)!r})" for k, v in settings.items())


def ftp_in_production(server: _Server, outbox: Path, protocol: str = "FTP",
                      **adapter: object) -> str:
    """FtpIn (EnsLib.FTP.PassthroughService polling ``in`` on the server) sends each file to
    FileOut, which writes it (named as on the server, replacing) into ``outbox``."""
    settings: dict[str, object] = {
        "FTPServer": "127.0.0.1", "FTPPort": server.port, "Protocol": protocol,
        "FilePath": "in", "CallInterval": "0.2", "FileAccessTimeout": "0.3", **adapter}
    return f'''
prod = Production("{PRODUCTION}")
prod.service("FtpIn", class_name="EnsLib.FTP.PassthroughService"){_chain(settings, "adapter")} \\
    .host_setting("TargetConfigNames", "FileOut")
prod.operation("FileOut", class_name="EnsLib.File.PassthroughOperation") \\
    .adapter_setting("FilePath", {str(outbox)!r}).adapter_setting("Overwrite", "1") \\
    .host_setting("Filename", "%f")
PRODUCTIONS = [prod]
'''


def ftp_out_production(server: _Server, inbox: Path, protocol: str = "FTP",
                       **adapter: object) -> str:
    """FileIn (EnsLib.File.PassthroughService on the local ``inbox``) sends each file to
    FtpOut (EnsLib.FTP.PassthroughOperation), which writes it to ``out`` on the server under
    its own name, replacing; a failed write is retried every 0.3 s for up to a minute."""
    settings: dict[str, object] = {
        "FTPServer": "127.0.0.1", "FTPPort": server.port, "Protocol": protocol,
        "FilePath": "out", "Overwrite": "1", **adapter}
    return f'''
prod = Production("{PRODUCTION}")
prod.service("FileIn", class_name="EnsLib.File.PassthroughService") \\
    .adapter_setting("FilePath", {str(inbox)!r}).adapter_setting("CallInterval", "0.2") \\
    .host_setting("TargetConfigNames", "FtpOut")
prod.operation("FtpOut", class_name="EnsLib.FTP.PassthroughOperation"){_chain(settings, "adapter")} \\
    .host_setting("Filename", "%f").host_setting("ReplyCodeActions", "E=R") \\
    .host_setting("RetryInterval", "0.3").host_setting("FailureTimeout", "60")
PRODUCTIONS = [prod]
'''


def files_in(folder: Path) -> dict[str, bytes]:
    """Name → content of the plain files in ``folder`` (none while it does not exist)."""
    if not folder.is_dir():
        return {}
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
