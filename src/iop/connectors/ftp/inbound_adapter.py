"""EnsLib.FTP.InboundAdapter: picks up files from an FTP, FTPS or SFTP server.

Each poll lists FilePath on the server; a file matching FileSpec whose size has stayed the
same for FileAccessTimeout seconds (ConfirmComplete) is downloaded and handed to the service
as a StreamContainer. Only once the service has returned (what it sent is stored) is the file
acknowledged on the server: renamed (RenameFilename), else deleted (DeleteFromServer), else
remembered by name, size and time so it is not delivered again. A rename or delete that
fails (the server went away, or refuses) is remembered too and tried again at the next polls
instead of delivering the file again; only a crash between the store and the acknowledgement
delivers a file twice: at least once.
"""

from __future__ import annotations

import fnmatch
import os
import time
from typing import Any

from iop.components.adapters import InboundAdapter
from iop.components.settings import Category, controls, setting
from iop.connectors.ftp.common import FTPCommon, RemoteSession, decode, timestamped
from iop.connectors.ftp.remote_files import UPLOAD_SUFFIX, RemoteFile, join
from iop.connectors.inbound import QueueLimit, queue_limit_setting
from iop.errors import ConnectorError
from iop.messages.builtin import StreamContainer

__all__ = ["FTPInboundAdapter", "MAX_FILE_BYTES"]

# The largest file taken in (it becomes one message); a larger one is left on the server
# with one warning in the log.
MAX_FILE_BYTES = 64 * 1024 * 1024

# The value remembered for a file stored whose rename or delete on the server failed.
UNACKNOWLEDGED = "unacknowledged"


class FTPInboundAdapter(InboundAdapter, FTPCommon):
    """EnsLib.FTP.InboundAdapter."""

    FileSpec = setting("*", category=Category.BASIC,
                       description="File name pattern(s) to pick up, e.g. *.txt; several "
                                   "separated by FileSpecDelimiter")
    FileSpecDelimiter = setting(";", category=Category.BASIC,
                                description="Separates several patterns in FileSpec")
    DeleteFromServer = setting(True, category=Category.BASIC,
                               description="Delete each file from the server once processed; "
                                           "off (and no RenameFilename): remember processed "
                                           "files by name, size and time instead")
    ArchivePath = setting("", category=Category.BASIC, control=controls.directory(),
                          description="Local directory to keep a copy of each processed file "
                                      "in; blank: no copy")
    RenameFilename = setting("", category=Category.ADDITIONAL,
                             description="Rename (or move) each processed file on the server "
                                         "to this name, relative to FilePath: %f the name, "
                                         "%Q a time stamp, e.g. done/%f_%Q")
    AppendTimestamp = setting("1", category=Category.ADDITIONAL,
                              description="Name of the copies in ArchivePath: 0 the file's "
                                          "name, 1 %f_%Q, or any time stamp specification")
    ConfirmComplete = setting(1, category=Category.ADDITIONAL,
                              description="1 (Size): take a file only once its size has not "
                                          "changed for FileAccessTimeout seconds; 0: at once")
    FileAccessTimeout = setting(2, category=Category.ADDITIONAL,
                                description="Seconds a file's size must stay the same before "
                                            "it is taken (ConfirmComplete)")
    FileAccessTimeout.python_type = "float"
    QueueLimit = queue_limit_setting()

    def on_init(self) -> None:
        self._session = RemoteSession(self)
        # Counts read before every file: one poll may find many files.
        self._limit = QueueLimit(self, int(self.QueueLimit or 0), every=0.0)
        self._sightings: dict[str, tuple[int, float, float]] = {}
        self._oversized: set[tuple[str, int]] = set()
        self._failing = ""
        self._state: Any = None

    def on_tear_down(self) -> None:
        self._session.close()

    def on_task(self) -> None:
        if not self._limit.room():
            return
        try:
            self._poll()
        except ConnectorError as exc:
            self._failed(str(exc))
        else:
            if self._failing:
                self.log_info(f"{self._session.describe()}: connected again")
                self._failing = ""
        finally:
            self._session.release()

    def _poll(self) -> None:
        directory = str(self.FilePath or "")
        listed = self._session.run(f"list {directory or '.'}",
                                   lambda remote: remote.listing(directory))
        names = {f.name for f in listed}
        for name in [n for n in self._sightings if n not in names]:
            del self._sightings[name]
        processed = self._processed_still_there(names)
        for found in sorted((f for f in listed if self._matches(f.name)),
                            key=lambda f: (f.modified, f.name)):
            if self._stop_asked() or not self._limit.room():
                return
            if _identity(found) in processed:
                if not self._remembering():
                    self._acknowledge_again(directory, found)
                continue
            if self._complete(found) and not self._too_big(found):
                self._take(directory, found)

    def _acknowledge_again(self, directory: str, found: RemoteFile) -> None:
        """A file stored at an earlier poll whose rename or delete failed then (and was
        logged): try again, quietly; the poll goes on with the other files either way."""
        try:
            self._acknowledge(directory, found, remembered=True)
        except ConnectorError:
            pass

    def _take(self, directory: str, found: RemoteFile) -> None:
        path = join(directory, found.name)
        data = self._session.run(f"download {path}",
                                 lambda remote: remote.read(path, MAX_FILE_BYTES))
        self.business_host_process_input(
            StreamContainer(OriginalFilename=found.name, Stream=decode(data, self.Charset)))
        # Stored: now the file may be acknowledged.
        self._sightings.pop(found.name, None)
        if self.ArchivePath:
            self._archive(found.name, data)
        self._acknowledge(directory, found, remembered=False)

    def _acknowledge(self, directory: str, found: RemoteFile, remembered: bool) -> None:
        """Rename, delete or remember a processed file. A rename or delete that fails is
        remembered too, and tried again at the next polls rather than delivering the file
        again."""
        identity = _identity(found)
        if self._remembering():
            if not remembered:
                self._remembered().remember(identity)
            return
        path = join(directory, found.name)
        try:
            if str(self.RenameFilename or "").strip():
                new = join(directory, timestamped(self.RenameFilename, found.name))
                self._session.run(f"rename {path} to {new}",
                                  lambda remote: remote.rename(path, new))
            else:
                self._session.run(f"delete {path}", lambda remote: remote.delete(path))
        except ConnectorError:
            if not remembered:
                self._remembered().remember(identity, UNACKNOWLEDGED)
            raise
        if remembered:
            self._remembered().forget(identity)

    def _archive(self, name: str, data: bytes) -> None:
        spec = str(self.AppendTimestamp or "").strip()
        if spec in ("", "0"):
            archived = name
        else:
            archived = timestamped("%f_%Q" if spec == "1" else spec, name)
        os.makedirs(self.ArchivePath, exist_ok=True)
        target = os.path.join(self.ArchivePath, os.path.basename(archived))
        partial = target + UPLOAD_SUFFIX
        with open(partial, "wb") as fh:
            fh.write(data)
        os.replace(partial, target)

    def _matches(self, name: str) -> bool:
        if name.endswith(UPLOAD_SUFFIX):
            return False  # an upload in progress (ours or another adapter's)
        delimiter = str(self.FileSpecDelimiter or ";")
        patterns = [p.strip() for p in str(self.FileSpec or "*").split(delimiter) if p.strip()]
        return any(fnmatch.fnmatchcase(name, p) for p in patterns or ["*"])

    def _complete(self, found: RemoteFile) -> bool:
        """ConfirmComplete Size: the same size and time as at a look FileAccessTimeout ago."""
        if str(self.ConfirmComplete).strip() in ("0", "", "False", "false"):
            return True
        now = time.monotonic()
        seen = self._sightings.get(found.name)
        if seen is None or seen[:2] != (found.size, found.modified):
            self._sightings[found.name] = (found.size, found.modified, now)
            return False
        return now - seen[2] >= float(self.FileAccessTimeout or 0)

    def _too_big(self, found: RemoteFile) -> bool:
        if found.size <= MAX_FILE_BYTES:
            return False
        if (found.name, found.size) not in self._oversized:
            self._oversized.add((found.name, found.size))
            self.log_warning(f"{self._session.describe()}: {found.name} ({found.size} bytes) "
                             f"is larger than {MAX_FILE_BYTES} bytes; left on the server")
        return True

    def _remembering(self) -> bool:
        if str(self.RenameFilename or "").strip():
            return False
        return str(self.DeleteFromServer).strip().lower() in ("0", "false", "no", "off", "")

    def _remembered(self) -> Any:
        if self._state is None:
            from iop.connectors.state import AdapterState

            scope = f"ftp.files {self._session.describe()}/{self.FilePath or ''}"
            self._state = AdapterState(self, scope)
        return self._state

    def _processed_still_there(self, names: set[str]) -> set[str]:
        """The files remembered as processed that are still on the server; the others are
        forgotten (one of that name, size and time coming back later is a new file)."""
        state = self._remembered()
        kept = set()
        for key, _ in list(state.keys()):
            if key.split("\n", 1)[0] in names:
                kept.add(key)
            else:
                state.forget(key)
        return kept

    def _failed(self, text: str) -> None:
        if text == self._failing:
            return  # said once per outage, not every poll
        self._failing = text
        self.log_error(text)
        if str(getattr(self.business_host, "AlertOnError", False)).lower() in ("true", "1"):
            self.log_alert(text)

    def _stop_asked(self) -> bool:
        stop_waiting = getattr(self._iop_runtime, "stop_waiting", None)
        return bool(stop_waiting()) if callable(stop_waiting) else False


def _identity(found: RemoteFile) -> str:
    """What makes a file the same file: its name, size and modification time."""
    return f"{found.name}\n{found.size}\n{found.modified:.0f}"
