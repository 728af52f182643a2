"""Single-instance duties on one host: a lock file each, held with ``flock``."""

from __future__ import annotations

import fcntl
import hashlib
import os
from typing import Any

from iop.store.errors import StoreError
from iop.store.private import FILE_MODE, make_private_folder


class FileDuty:
    """A single-instance duty on one host: an exclusive ``flock`` on a file of its own,
    which the kernel frees when the holding process dies."""

    def __init__(self, folder: str, name: str) -> None:
        self.name = name
        digest = hashlib.sha1(name.encode()).hexdigest()[:20]
        self.path = os.path.join(folder, f"{digest}.lock")
        self._fd: int | None = None

    def take(self) -> bool:
        """Hold the duty unless another process does; True while this process holds it."""
        if self._fd is not None:
            return True
        try:
            make_private_folder(os.path.dirname(self.path))
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        except OSError as exc:
            raise StoreError(f"cannot take the single-instance duty {self.name!r}: "
                             f"{exc.strerror} ({self.path})") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def held(self) -> bool:
        return self._fd is not None  # a flock cannot be lost while its file stays open

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the only descriptor frees the lock

    def __bool__(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> FileDuty:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()
