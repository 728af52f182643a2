"""Files under IOP_HOME are the owner's alone: folders 0700, files 0600, whatever the umask.

The stores hold message bodies and, in ``%SYS``, password hashes. Modes are given explicitly
where a folder or file is made rather than by changing the process umask: jobs run the
user's code, whose own output files (an outbound folder another system reads) must keep the
user's umask. A folder or store left looser by an older version is tightened when the
store is next opened, with a one-line notice on stderr.

Names never become paths as they are: ``name_in_path`` encodes them and ``confined``
refuses a path that would resolve outside its folder.
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
from collections.abc import Iterable
from typing import IO, Any
from urllib.parse import quote

__all__ = ["FILE_MODE", "FOLDER_MODE", "confined", "create_private_file", "make_private_folder",
           "name_in_path", "open_private", "tighten"]

FOLDER_MODE = 0o700
FILE_MODE = 0o600
# A file name holds at most 255 bytes; an encoded name is cut well before, leaving room for
# the prefix and suffix callers add.
_MAX_ENCODED = 120


def make_private_folder(path: str) -> str:
    """Create ``path`` and its missing parents as 0700 folders; an existing one is kept as is
    (``tighten`` changes those)."""
    path = os.path.abspath(path)
    missing: list[str] = []
    current = path
    while not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, FOLDER_MODE)
        except FileExistsError:
            continue  # made meanwhile by another process
        os.chmod(folder, FOLDER_MODE)  # an unusual umask may have removed the owner's bits
    return path


def _private_opener(path: str, flags: int) -> int:
    return os.open(path, flags, FILE_MODE)


def open_private(path: str, mode: str = "w", **kwargs: Any) -> IO[Any]:
    """``open`` whose new files are 0600 (an existing file keeps its mode)."""
    return open(path, mode, opener=_private_opener, **kwargs)  # noqa: SIM115 (the caller closes)


def create_private_file(path: str) -> None:
    """Create ``path`` empty and 0600 unless it exists (SQLite then keeps that mode and gives
    it to the store's -wal and -shm files)."""
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        pass


def tighten(paths: Iterable[str]) -> list[str]:
    """Remove group and other permissions from each existing path this user owns; print one
    notice per path changed, and return them."""
    changed = []
    for path in paths:
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if stat.S_ISLNK(info.st_mode) or info.st_uid != os.geteuid() or not info.st_mode & 0o077:
            continue
        if stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_ISVTX:
            continue  # a shared folder such as /tmp given as IOP_HOME: never close it
        wanted = FOLDER_MODE if stat.S_ISDIR(info.st_mode) else FILE_MODE
        try:
            os.chmod(path, stat.S_IMODE(info.st_mode) & wanted)
        except OSError as exc:
            print(f"iop: warning: {path} is readable by other users and cannot be made "
                  f"private: {exc.strerror}", file=sys.stderr)
            continue
        print(f"iop: {path} was readable by other users (mode {stat.S_IMODE(info.st_mode):04o});"
              f" made private ({stat.S_IMODE(info.st_mode) & wanted:04o})", file=sys.stderr)
        changed.append(path)
    return changed


def name_in_path(name: str) -> str:
    """``name`` as one safe file-name part: letters, digits, '.', '_', '-' and '~' kept, any
    other character percent-encoded, a leading dot too; long names cut and suffixed with a
    hash so two names never share a file."""
    encoded = quote(name, safe="")
    if encoded.startswith("."):
        encoded = "%2E" + encoded[1:]
    if len(encoded) > _MAX_ENCODED:
        digest = hashlib.sha1(name.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        encoded = f"{encoded[:_MAX_ENCODED - 13]}~{digest}"
    return encoded or "%00"


def confined(folder: str, file_name: str) -> str:
    """``folder/file_name``; ValueError when it would resolve outside ``folder`` (defence in
    depth behind the name grammar and ``name_in_path``)."""
    root = os.path.realpath(folder)
    path = os.path.realpath(os.path.join(root, file_name))
    if os.path.dirname(path) != root:
        raise ValueError(f"{file_name!r} would be written outside {root}")
    return path
