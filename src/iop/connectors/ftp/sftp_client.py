"""SFTP with paramiko (the ``sftp`` extra), logging in with a password, a private key, or
both as the server asks."""

from __future__ import annotations

import base64
import getpass
import hashlib
import stat
from typing import Any

from iop.connectors.errors import require
from iop.connectors.ftp.remote_files import RemoteFile, RemoteFileSystem
from iop.errors import ConnectorError

__all__ = ["HostKeyRefused", "SftpFileSystem", "fingerprint"]


class HostKeyRefused(ConnectorError):
    """The SFTP server showed another host key than the one expected: it may not be the
    server it claims to be, so nothing (no password, no key) is sent to it."""


def fingerprint(key_bytes: bytes) -> str:
    """A host key's fingerprint as ``ssh-keygen -l`` prints it: ``SHA256:`` and base64."""
    digest = base64.b64encode(hashlib.sha256(key_bytes).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"

_CHUNK = 64 * 1024


class SftpFileSystem(RemoteFileSystem):
    """An SSH connection to a server with one SFTP channel on it."""

    _client: Any = None
    _sftp: Any = None

    def open(self) -> None:
        paramiko: Any = require("paramiko", "sftp")
        server = self.server
        client = paramiko.SSHClient()
        # The host key is checked before any login is tried: against the one expected
        # (SFTPServerKey, or the key pinned at the first connection), else it is taken.
        client.set_missing_host_key_policy(self._host_key_policy(paramiko))
        self._client = client
        methods = server.authentication_methods.lower()
        use_key = bool(server.private_key_file) and ("k" in methods or not methods)
        use_password = bool(server.password) and ("p" in methods or "i" in methods or not methods)
        key = None
        if use_key:
            try:
                key = paramiko.PKey.from_path(server.private_key_file, server.passphrase or None)
            except (OSError, ValueError, paramiko.SSHException) as exc:
                raise paramiko.AuthenticationException(
                    f"cannot use the private key file {server.private_key_file}: {exc}") from None
        client.connect(
            server.host, server.port, username=server.username or getpass.getuser(),
            password=server.password if use_password else None, pkey=key,
            timeout=server.connect_timeout, banner_timeout=server.connect_timeout,
            auth_timeout=server.connect_timeout, allow_agent=False, look_for_keys=False)
        self._sftp = client.open_sftp()
        self._sftp.get_channel().settimeout(max(server.connect_timeout, 30.0))

    def _host_key_policy(self, paramiko: Any) -> Any:
        remote = self

        class CheckHostKey(paramiko.MissingHostKeyPolicy):  # type: ignore[misc]
            def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
                shown = fingerprint(key.asbytes())
                expected = remote.server.host_key
                if expected and shown != expected:
                    raise HostKeyRefused(
                        f"{remote.server.describe()}: the server's host key is {shown}, not "
                        f"the expected {expected}; nothing was sent to it (if the server was "
                        "given a new key, set SFTPServerKey to the new fingerprint)")
                remote.host_key = shown

        return CheckHostKey()

    def close(self) -> None:
        sftp, client = self._sftp, self._client
        self._sftp = self._client = None
        for part in (sftp, client):
            if part is not None:
                try:
                    part.close()
                except Exception:  # already gone
                    pass

    @property
    def sftp(self) -> Any:
        if self._sftp is None:
            raise ConnectionError("not connected")
        return self._sftp

    def listing(self, directory: str) -> list[RemoteFile]:
        return [RemoteFile(entry.filename, int(entry.st_size or 0), float(entry.st_mtime or 0))
                for entry in self.sftp.listdir_attr(directory or ".")
                if entry.st_mode is not None and stat.S_ISREG(entry.st_mode)]

    def read(self, path: str, limit: int) -> bytes:
        chunks: list[bytes] = []
        received = 0
        with self.sftp.open(path, "rb") as remote:
            while True:
                chunk = remote.read(_CHUNK)
                if not chunk:
                    return b"".join(chunks)
                received += len(chunk)
                if received > limit:
                    raise ValueError(f"{path} is longer than {limit} bytes")
                chunks.append(chunk)

    def write(self, path: str, data: bytes, append: bool = False) -> None:
        with self.sftp.open(path, "ab" if append else "wb") as remote:
            remote.set_pipelined(True)
            remote.write(data)

    def rename(self, old: str, new: str) -> None:
        try:
            self.sftp.posix_rename(old, new)  # replaces ``new`` (an OpenSSH extension)
        except OSError:
            if self.size(new) is None:
                raise
            self.sftp.remove(new)
            self.sftp.rename(old, new)

    def delete(self, path: str) -> None:
        self.sftp.remove(path)

    def size(self, path: str) -> int | None:
        try:
            return int(self.sftp.stat(path).st_size or 0)
        except FileNotFoundError:
            return None

    def connection_lost(self, error: BaseException) -> bool:
        paramiko: Any = require("paramiko", "sftp")
        if isinstance(error, (paramiko.AuthenticationException, HostKeyRefused)):
            return False
        if isinstance(error, (EOFError, paramiko.SSHException, ConnectionError)):
            return True
        transport = self._client.get_transport() if self._client is not None else None
        return transport is None or not transport.is_active()

    def login_refused(self, error: BaseException) -> bool:
        paramiko: Any = require("paramiko", "sftp")
        return isinstance(error, paramiko.AuthenticationException)
