"""FTP and FTPS (explicit TLS, ``AUTH TLS``) with the standard library's ftplib."""

from __future__ import annotations

import calendar
import ftplib
import io
import ssl
import time

from iop.connectors.ftp.remote_files import RemoteFile, RemoteFileSystem, join

__all__ = ["FtpFileSystem"]


class FtpFileSystem(RemoteFileSystem):
    """A control connection to an FTP server (TLS-protected when the protocol is FTPS)."""

    _ftp: ftplib.FTP | None = None

    def open(self) -> None:
        server = self.server
        if server.protocol == "FTPS":
            ftp: ftplib.FTP = ftplib.FTP_TLS(context=ssl.create_default_context(),
                                             timeout=server.connect_timeout)
        else:
            ftp = ftplib.FTP(timeout=server.connect_timeout)
        self._ftp = ftp
        ftp.connect(server.host, server.port)
        ftp.login(server.username or "anonymous", server.password)
        if isinstance(ftp, ftplib.FTP_TLS):
            ftp.prot_p()  # the data connections too
        ftp.set_pasv(server.passive)
        ftp.voidcmd("TYPE I")

    def close(self) -> None:
        ftp, self._ftp = self._ftp, None
        if ftp is None:
            return
        try:
            ftp.quit()
        except Exception:  # the server is gone or did not answer: drop the socket
            ftp.close()

    @property
    def ftp(self) -> ftplib.FTP:
        if self._ftp is None:
            raise ConnectionError("not connected")
        return self._ftp

    def listing(self, directory: str) -> list[RemoteFile]:
        try:
            entries = list(self.ftp.mlsd(directory or "", facts=["type", "size", "modify"]))
        except ftplib.error_perm as exc:
            if not str(exc).startswith(("500", "501", "502")):
                raise
            return self._listing_without_mlsd(directory)
        files = []
        for name, facts in entries:
            if facts.get("type", "file") != "file":
                continue
            files.append(RemoteFile(name, int(facts.get("size", 0) or 0),
                                    _mdtm_seconds(facts.get("modify", ""))))
        return files

    def _listing_without_mlsd(self, directory: str) -> list[RemoteFile]:
        files = []
        for entry in self.ftp.nlst(directory or ""):
            name = entry.rsplit("/", 1)[-1]
            path = join(directory, name)
            size = self.size(path)
            if size is None:
                continue  # a directory, or gone meanwhile
            try:
                modified = _mdtm_seconds(self.ftp.voidcmd(f"MDTM {path}").split()[-1])
            except ftplib.error_perm:
                modified = 0.0
            files.append(RemoteFile(name, int(size or 0), modified))
        return files

    def read(self, path: str, limit: int) -> bytes:
        chunks: list[bytes] = []
        received = 0
        too_long = ValueError(f"{path} is longer than {limit} bytes")

        def keep(chunk: bytes) -> None:
            nonlocal received
            received += len(chunk)
            if received > limit:
                raise too_long
            chunks.append(chunk)

        try:
            self.ftp.retrbinary(f"RETR {path}", keep)
        except ValueError as exc:
            if exc is too_long:
                self.close()  # the transfer was cut: the control connection is out of step
            raise
        return b"".join(chunks)

    def write(self, path: str, data: bytes, append: bool = False) -> None:
        self.ftp.storbinary(f"{'APPE' if append else 'STOR'} {path}", io.BytesIO(data))

    def rename(self, old: str, new: str) -> None:
        try:
            self.ftp.rename(old, new)
        except ftplib.error_perm:
            if self.size(new) is None:
                raise
            self.ftp.delete(new)  # a server that will not rename over an existing file
            self.ftp.rename(old, new)

    def delete(self, path: str) -> None:
        self.ftp.delete(path)

    def size(self, path: str) -> int | None:
        self.ftp.voidcmd("TYPE I")  # a listing (retrlines) leaves ASCII, where SIZE is refused
        try:
            found = self.ftp.size(path)
        except ftplib.error_perm:
            return None
        return None if found is None else int(found)

    def connection_lost(self, error: BaseException) -> bool:
        if isinstance(error, (OSError, EOFError, ftplib.error_proto, ftplib.error_reply)):
            return True
        # 421: the server closes the connection (shutting down, idle too long).
        return isinstance(error, ftplib.error_temp) and str(error).startswith("421")

    def login_refused(self, error: BaseException) -> bool:
        return isinstance(error, ftplib.error_perm) and str(error).startswith(("530", "532"))


def _mdtm_seconds(stamp: str) -> float:
    """Seconds since the epoch of an FTP time stamp (``YYYYMMDDHHMMSS[.sss]``, UTC)."""
    try:
        whole, _, fraction = stamp.partition(".")
        parsed = time.strptime(whole, "%Y%m%d%H%M%S")
        return calendar.timegm(parsed) + (float("0." + fraction) if fraction else 0.0)
    except ValueError:
        return 0.0
