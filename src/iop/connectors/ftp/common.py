"""What the FTP adapters share, as IRIS's ``EnsLib.FTP.Common``: the connection settings,
and ``RemoteSession``, the adapter's connection to its server (opened when first needed,
reopened once when found dead, errors as one-line ``ConnectorError`` messages)."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, TypeVar

from iop.components.settings import Category, controls, setting
from iop.connectors.credentials import credentials_for, credentials_setting
from iop.connectors.ftp.remote_files import RemoteFileSystem, RemoteServer
from iop.connectors.state import AdapterState
from iop.errors import ConnectorError

__all__ = ["FTPCommon", "RemoteSession", "decode", "encode", "timestamped"]

T = TypeVar("T")

PROTOCOLS = ("FTP", "FTPS", "SFTP")
# Where an adapter keeps the SFTP host keys it trusted at first use, by host:port.
HOST_KEY_SCOPE = "sftp.hostkeys"
SFTP_CATEGORY = "SFTP"


class FTPCommon:
    """The settings both FTP adapters have (IRIS's EnsLib.FTP.Common)."""

    FTPServer = setting("", category=Category.BASIC, required=True,
                        description="Host name or IP address of the FTP or SFTP server")
    FTPPort = setting("", category=Category.BASIC,
                      description="TCP port of the server; blank: 21 for FTP and FTPS, "
                                  "22 for SFTP")
    Credentials = credentials_setting()
    FilePath = setting("", category=Category.BASIC,
                       description="Directory on the server; blank: the login directory")
    Protocol = setting("FTP", category=Category.CONNECTION,
                       description="FTP, FTPS (FTP over TLS, AUTH TLS) or SFTP (over SSH)")
    SSLConfig = setting("", category=Category.CONNECTION, control=controls.ssl_config(),
                        description="TLS configuration; with Protocol FTP, a value here "
                                    "makes the connection FTPS")
    UsePASV = setting(True, category=Category.CONNECTION,
                      description="FTP passive mode: the adapter opens the data connections")
    StayConnected = setting(-1, category=Category.CONNECTION,
                            description="-1: keep the connection open; 0: close it after each "
                                        "poll or message; n: close it after n idle seconds")
    StayConnected.python_type = "float"
    ConnectTimeout = setting(5, category=Category.CONNECTION,
                             description="Seconds to wait for the server when connecting")
    ConnectTimeout.python_type = "float"
    Charset = setting("Binary", category=Category.ADDITIONAL, control=controls.character_set(),
                      description="Character set of the files' text; Binary: UTF-8 text "
                                  "passes as it is, other bytes one character per byte")
    SFTPAuthenticationMethods = setting(
        "", category=SFTP_CATEGORY,
        description="SFTP: the ways to log in, in order: p (password), k (key); blank: "
                    "the key when a key file is set, and the password")
    SFTPPublicKeyFile = setting("", category=SFTP_CATEGORY, control=controls.file(),
                                description="SFTP: public key file (the private key file "
                                            "holds it too)")
    SFTPPrivateKeyFile = setting("", category=SFTP_CATEGORY, control=controls.file(),
                                 description="SFTP: private key file to log in with")
    SFTPPassphraseCredentials = setting(
        "", category=SFTP_CATEGORY, control=controls.credentials(),
        description="SFTP: credentials whose password is the private key's passphrase")
    SFTPServerKey = setting(
        "", category=SFTP_CATEGORY,
        description="SFTP: fingerprint of the server's host key (SHA256:..., as ssh-keygen "
                    "-l prints it); blank: the key shown at the first connection is kept "
                    "and any other refused")


class RemoteSession:
    """An adapter's connection to its server, following its FTPCommon settings."""

    def __init__(self, adapter: Any) -> None:
        self._adapter = adapter
        self._remote: RemoteFileSystem | None = None
        self._used_at = 0.0
        self._secrets: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"{_protocol(self._adapter)} {self._adapter.FTPServer}:{_port(self._adapter)}"

    def run(self, action: str, work: Callable[[RemoteFileSystem], T]) -> T:
        """``work`` on the connection (opened first if need be); a connection found dead is
        reopened once. ConnectorError naming the server, ``action`` and the cause."""
        reused = self._remote is not None
        while True:
            remote = self._connected()
            try:
                result = work(remote)
            except ConnectorError:
                raise
            except Exception as exc:
                lost = remote.connection_lost(exc)
                if lost:
                    self.close()
                if lost and reused:
                    reused = False  # a connection the server dropped since its last use
                    continue
                raise ConnectorError(f"{self.describe()}: {action} failed: "
                                     f"{self._cause(exc)}") from None
            self._used_at = time.monotonic()
            return result

    def release(self) -> None:
        """After a poll or a message: close the connection unless StayConnected keeps it."""
        if _number(self._adapter.StayConnected, -1) == 0:
            self.close()

    def close_if_idle(self) -> None:
        """Close a connection idle for longer than StayConnected seconds (when positive)."""
        idle_limit = _number(self._adapter.StayConnected, -1)
        if self._remote is not None and idle_limit > 0 and \
                time.monotonic() - self._used_at > idle_limit:
            self.close()

    def close(self) -> None:
        remote, self._remote = self._remote, None
        if remote is not None:
            remote.close()

    def _connected(self) -> RemoteFileSystem:
        self.close_if_idle()
        if self._remote is not None:
            return self._remote
        server = self._server()
        remote = _file_system(server)
        try:
            remote.open()
            self._pin_host_key(server, remote)
        except ConnectorError:
            remote.close()
            raise
        except Exception as exc:
            refused = remote.login_refused(exc)
            remote.close()
            if refused:
                raise ConnectorError(f"{server.describe()}: login as "
                                     f"{server.username or 'the default user'!r} refused: "
                                     f"{self._cause(exc)}") from None
            raise ConnectorError(f"{server.describe()}: cannot connect: "
                                 f"{self._cause(exc)}") from None
        self._remote = remote
        self._used_at = time.monotonic()
        return remote

    def _host_keys(self) -> AdapterState:
        return AdapterState(self._adapter, HOST_KEY_SCOPE)

    def _pin_host_key(self, server: RemoteServer, remote: RemoteFileSystem) -> None:
        """SFTP without SFTPServerKey: keep the key the server showed first (trust on first
        use), so that a later connection to an impostor is refused before logging in."""
        if server.protocol != "SFTP" or not remote.host_key or \
                str(self._adapter.SFTPServerKey or "").strip():
            return
        where = f"{server.host}:{server.port}"
        if self._host_keys().value(where) != remote.host_key:
            self._host_keys().remember(where, remote.host_key)
            log = getattr(self._adapter, "log_info", None)
            if callable(log):
                log(f"{server.describe()}: host key {remote.host_key} kept; a server showing "
                    "another key will be refused (SFTPServerKey)")

    def _server(self) -> RemoteServer:
        adapter = self._adapter
        protocol = _protocol(adapter)
        credential = credentials_for(adapter)
        passphrase = ""
        if str(adapter.SFTPPassphraseCredentials or "").strip():
            found = credentials_for(SimpleNamespace(Credentials=adapter.SFTPPassphraseCredentials))
            passphrase = found.password if found is not None else ""
        password = credential.password if credential is not None else ""
        self._secrets = tuple(s for s in (password, passphrase) if s)
        return RemoteServer(
            protocol=protocol, host=str(adapter.FTPServer or "").strip(), port=_port(adapter),
            username=credential.username if credential is not None else "",
            password=password, connect_timeout=_number(adapter.ConnectTimeout, 5) or 5,
            passive=_flag(adapter.UsePASV),
            private_key_file=str(adapter.SFTPPrivateKeyFile or "").strip(),
            passphrase=passphrase,
            authentication_methods=str(adapter.SFTPAuthenticationMethods or ""),
            host_key=self._expected_host_key(protocol))

    def _expected_host_key(self, protocol: str) -> str:
        """SFTP: the fingerprint the server must show: SFTPServerKey, else the one kept."""
        if protocol != "SFTP":
            return ""
        configured = str(self._adapter.SFTPServerKey or "").strip()
        if configured:
            return configured
        host = str(self._adapter.FTPServer or "").strip()
        return self._host_keys().value(f"{host}:{_port(self._adapter)}") or ""

    def _cause(self, exc: BaseException) -> str:
        text = " ".join(str(exc).split()) or _SILENT_CAUSES.get(type(exc), type(exc).__name__)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


# What an exception that carries no message means, said in words.
_SILENT_CAUSES: dict[type, str] = {EOFError: "the server closed the connection",
                                   TimeoutError: "no answer in time"}


def _file_system(server: RemoteServer) -> RemoteFileSystem:
    if server.protocol == "SFTP":
        from iop.connectors.ftp.sftp_client import SftpFileSystem

        return SftpFileSystem(server)
    from iop.connectors.ftp.ftp_client import FtpFileSystem

    return FtpFileSystem(server)


def _protocol(adapter: Any) -> str:
    protocol = str(adapter.Protocol or "FTP").strip().upper()
    if protocol not in PROTOCOLS:
        raise ConnectorError(f"Protocol {adapter.Protocol!r} is not one of "
                             f"{', '.join(PROTOCOLS)}")
    if protocol == "FTP" and str(adapter.SSLConfig or "").strip():
        return "FTPS"
    return protocol


def _port(adapter: Any) -> int:
    text = str(adapter.FTPPort or "").strip()
    if not text or text == "0":
        return 22 if _protocol(adapter) == "SFTP" else 21
    try:
        return int(text)
    except ValueError:
        raise ConnectorError(f"FTPPort {text!r} is not a port number") from None


def _number(value: Any, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _flag(value: Any) -> bool:
    return str(value).strip().lower() not in ("0", "false", "no", "off", "")


def _binary(charset: str) -> bool:
    name = (charset or "").strip().lstrip("*").lower()
    return name in ("", "binary", "ascii", "native", "raw")


def decode(data: bytes, charset: str) -> str:
    """The text of a file's bytes. Binary (and blank): UTF-8 text as it is (the local file
    adapters read and write UTF-8, so it passes through unchanged), other bytes one
    character per byte."""
    if _binary(charset):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("latin-1")
    return data.decode(charset.strip().lstrip("*"), errors="replace")


def encode(text: str, charset: str) -> bytes:
    """The bytes to write for ``text``: Binary (and blank) as UTF-8."""
    if _binary(charset):
        return text.encode("utf-8")
    return text.encode(charset.strip().lstrip("*"), errors="replace")


def timestamped(spec: str, filename: str) -> str:
    """A file name from an IRIS time stamp specification: %f the original name, %Q the
    UTC time to the millisecond, %% a percent sign."""
    now = time.time()
    stamp = time.strftime("%Y-%m-%d_%H.%M.%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}"
    return (spec or "%f").replace("%%", "\0").replace("%f", filename) \
        .replace("%Q", stamp).replace("\0", "%")
