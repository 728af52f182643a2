"""EnsLib.FTP.OutboundAdapter: writes, renames and deletes files on an FTP, FTPS or SFTP
server.

A file is written under a temporary name (its name + ``.iop-partial``) and renamed once
complete, so no one ever sees half a file under its final name. Without Overwrite, data is
added at the end of an existing file (as IRIS appends): the existing content and the new
data are written together under the temporary name, then renamed over the file.
"""

from __future__ import annotations

from typing import Any

from iop.components.adapters import OutboundAdapter
from iop.components.settings import Category, setting
from iop.connectors.ftp.common import FTPCommon, RemoteSession, decode, encode
from iop.connectors.ftp.remote_files import UPLOAD_SUFFIX, RemoteFileSystem, join
from iop.errors import ConnectorError

__all__ = ["FTPOutboundAdapter", "MAX_APPEND_BYTES"]

# The largest existing file data is appended to (it is read back to write the whole).
MAX_APPEND_BYTES = 256 * 1024 * 1024


class FTPOutboundAdapter(OutboundAdapter, FTPCommon):
    """EnsLib.FTP.OutboundAdapter."""

    Overwrite = setting(False, category=Category.ADDITIONAL,
                        description="Replace an existing file of the same name; off: add "
                                    "the data at its end")

    def on_init(self) -> None:
        self._session = RemoteSession(self)

    def on_tear_down(self) -> None:
        self._session.close()

    def on_keepalive(self) -> None:
        self._session.close_if_idle()

    # -- IRIS's methods --------------------------------------------------------------
    def put_stream(self, filename: str, stream: Any) -> str:
        """Write ``stream`` (text, bytes, or a file-like object giving either) to
        ``filename`` under FilePath; returns the file's path on the server."""
        data = _content(stream, self.Charset)
        path = join(str(self.FilePath or ""), filename)
        overwrite = str(self.Overwrite).strip().lower() in ("1", "true", "yes", "on")
        try:
            self._session.run(f"put {path}", lambda remote: _put(remote, path, data, overwrite))
        finally:
            self._session.release()
        return path

    def put_string(self, filename: str, text: str) -> str:
        return self.put_stream(filename, text)

    def get_stream(self, filename: str) -> str:
        """The content of ``filename`` under FilePath, as text in Charset."""
        path = join(str(self.FilePath or ""), filename)
        try:
            data = self._session.run(f"get {path}",
                                     lambda remote: remote.read(path, MAX_APPEND_BYTES))
        finally:
            self._session.release()
        return decode(data, self.Charset)

    def delete(self, filename: str) -> None:
        path = join(str(self.FilePath or ""), filename)
        try:
            self._session.run(f"delete {path}", lambda remote: remote.delete(path))
        finally:
            self._session.release()

    def rename(self, old_filename: str, new_filename: str, new_path: str = "") -> str:
        """Give ``old_filename`` (under FilePath) the name ``new_filename``, under
        ``new_path`` when given; returns the new path."""
        directory = str(self.FilePath or "")
        old = join(directory, old_filename)
        new = join(new_path or directory, new_filename)
        try:
            self._session.run(f"rename {old} to {new}", lambda remote: remote.rename(old, new))
        finally:
            self._session.release()
        return new

    def name_list(self, file_spec: str = "*") -> list[str]:
        """Names of the files under FilePath matching ``file_spec``."""
        import fnmatch

        directory = str(self.FilePath or "")
        try:
            listed = self._session.run(f"list {directory or '.'}",
                                       lambda remote: remote.listing(directory))
        finally:
            self._session.release()
        return sorted(f.name for f in listed if fnmatch.fnmatchcase(f.name, file_spec or "*"))

    PutStream = put_stream
    PutString = put_string
    GetStream = get_stream
    Delete = delete
    Rename = rename
    NameList = name_list


def _put(remote: RemoteFileSystem, path: str, data: bytes, overwrite: bool) -> None:
    if not overwrite:
        existing = remote.size(path)
        if existing:
            if existing > MAX_APPEND_BYTES:
                raise ConnectorError(f"cannot append to {path}: it is larger than "
                                     f"{MAX_APPEND_BYTES} bytes")
            data = remote.read(path, MAX_APPEND_BYTES) + data
    partial = path + UPLOAD_SUFFIX
    remote.write(partial, data)
    remote.rename(partial, path)


def _content(stream: Any, charset: str) -> bytes:
    if hasattr(stream, "read"):
        stream = stream.read()
    if stream is None:
        return b""
    if isinstance(stream, (bytes, bytearray, memoryview)):
        return bytes(stream)
    return encode(str(stream), charset)
