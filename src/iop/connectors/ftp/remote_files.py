"""The remote file system an FTP or SFTP adapter works on, as one small interface.

``RemoteFileSystem`` is what the adapters call (list, read, write, rename, delete); its
siblings ``FtpFileSystem`` (ftplib: FTP and FTPS) and ``SftpFileSystem`` (paramiko) speak
the protocols. An implementation lets its library's exceptions through; ``RemoteSession``
turns them into one-line ``ConnectorError`` messages (protocol, server:port, cause) and
decides, with ``connection_lost``, whether opening the connection again may help.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from iop.engine.builtins import PARTIAL_SUFFIX

__all__ = ["RemoteFile", "RemoteFileSystem", "RemoteServer", "UPLOAD_SUFFIX"]

# What a file being uploaded is called until it is complete (then renamed to its name), as
# the local file adapters do; the inbound adapters never pick up a name ending so.
UPLOAD_SUFFIX = PARTIAL_SUFFIX


@dataclass(frozen=True)
class RemoteServer:
    """Where and how to log in; the password and passphrase never show in repr."""

    protocol: str  # FTP, FTPS or SFTP
    host: str
    port: int
    username: str
    password: str = field(default="", repr=False)
    connect_timeout: float = 5.0
    passive: bool = True
    private_key_file: str = ""
    passphrase: str = field(default="", repr=False)
    authentication_methods: str = ""
    # SFTP: the host key fingerprint the server must show (``SHA256:...``); blank: any,
    # and the one shown is told back through ``RemoteFileSystem.host_key``.
    host_key: str = ""

    def describe(self) -> str:
        return f"{self.protocol} {self.host}:{self.port}"


@dataclass(frozen=True)
class RemoteFile:
    """A file of a remote directory listing: its name, size in bytes and modification time
    (seconds since the epoch; 0 when the server does not tell)."""

    name: str
    size: int
    modified: float


class RemoteFileSystem:
    """One connection to a server; paths are the server's (``/`` separated)."""

    def __init__(self, server: RemoteServer) -> None:
        self.server = server
        self.host_key = ""  # SFTP: the fingerprint of the key the server showed

    def open(self) -> None:
        """Connect and log in."""
        raise NotImplementedError

    def close(self) -> None:
        """Log out and disconnect; never raises."""
        raise NotImplementedError

    def listing(self, directory: str) -> list[RemoteFile]:
        """The plain files (not directories) directly in ``directory``."""
        raise NotImplementedError

    def read(self, path: str, limit: int) -> bytes:
        """The content of ``path``; ValueError when it is longer than ``limit`` bytes."""
        raise NotImplementedError

    def write(self, path: str, data: bytes, append: bool = False) -> None:
        """Create or replace ``path`` with ``data`` (or add ``data`` at its end)."""
        raise NotImplementedError

    def rename(self, old: str, new: str) -> None:
        """Give ``old`` the name ``new``, replacing a file of that name."""
        raise NotImplementedError

    def delete(self, path: str) -> None:
        raise NotImplementedError

    def size(self, path: str) -> int | None:
        """The size of ``path``, or None when there is no such file."""
        raise NotImplementedError

    def connection_lost(self, error: BaseException) -> bool:
        """Whether ``error`` means the connection is gone (reopening it may help), rather
        than the server refusing one request."""
        raise NotImplementedError

    def login_refused(self, error: BaseException) -> bool:
        """Whether ``error``, raised by ``open``, is the server refusing the login."""
        raise NotImplementedError


def join(directory: str, name: str) -> str:
    """``name`` in ``directory`` on the server (``name`` alone when no directory)."""
    if not directory or name.startswith("/"):
        return name
    return directory.rstrip("/") + "/" + name
