"""The disk under a file store: free space, the threshold below which inputs pause, and a
last-resort record for when the event log cannot be written (DESIGN.md, "Disk full")."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import sys
import time

# Below this much free space on the store's file system (MB; 0 turns the check off) inputs
# pause; unset: the smaller of DEFAULT_MIN_FREE_MB and DEFAULT_MIN_FREE_SHARE of its size.
MIN_FREE_ENV = "IOP_MIN_FREE_MB"
DEFAULT_MIN_FREE_MB = 64.0
DEFAULT_MIN_FREE_SHARE = 0.05
_CHECK_SECONDS = 0.5  # statvfs is cheap, but inputs ask for every message
_MB = 1024 * 1024

LAST_RESORT_NAME = "last-resort.log"
# Space reserved beyond the end of the last-resort file (fallocate KEEP_SIZE), so that its
# lines can still be appended once the disk is full.
LAST_RESORT_RESERVE = 256 * 1024
_FALLOC_FL_KEEP_SIZE = 1


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def min_free_bytes(total: int) -> int:
    """The free-space threshold for a file system of ``total`` bytes."""
    value = os.environ.get(MIN_FREE_ENV, "").strip()
    if value:
        try:
            return max(0, int(float(value) * _MB))
        except ValueError:
            pass  # an unreadable setting falls back to the default rather than stop inputs
    return int(min(DEFAULT_MIN_FREE_MB * _MB, DEFAULT_MIN_FREE_SHARE * total))


def mb(n: float) -> str:
    return f"{n / _MB:.1f} MB"


class SpaceGuard:
    """Says whether inputs must pause: the free space of ``folder``'s file system is below
    the threshold. Read at most every half second."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self._checked = -1.0
        self._paused: str | None = None

    def free_line(self) -> tuple[int, int, int]:
        """(free bytes, threshold, total bytes) of the file system now."""
        st = os.statvfs(self.folder)
        total = st.f_blocks * st.f_frsize
        return st.f_bavail * st.f_frsize, min_free_bytes(total), total

    def paused(self) -> str | None:
        """None while there is room; else the line saying why inputs pause."""
        now = time.monotonic()
        if now - self._checked < _CHECK_SECONDS:
            return self._paused
        self._checked = now
        try:
            free, threshold, _ = self.free_line()
        except OSError:
            self._paused = None  # cannot tell: the writes themselves will say
            return None
        self._paused = (f"inputs paused: {mb(free)} free on {self.folder}, below "
                        f"{mb(threshold)} ({MIN_FREE_ENV})") if free < threshold else None
        return self._paused


class LastResort:
    """Lines an operator finds when the event log cannot be written: ``last-resort.log`` in
    ``folder`` (next to the store), appended into space reserved while there was room, and
    also written to standard error."""

    def __init__(self, folder: str) -> None:
        self.path = os.path.join(folder, LAST_RESORT_NAME)

    def reserve(self) -> None:
        """Reserve room past the file's end (best effort: where fallocate works)."""
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError:
            return
        try:
            size = os.fstat(fd).st_size
            libc = ctypes.CDLL(None, use_errno=True)
            libc.fallocate(fd, _FALLOC_FL_KEEP_SIZE, ctypes.c_longlong(size),
                           ctypes.c_longlong(LAST_RESORT_RESERVE))
        except (OSError, AttributeError):
            pass
        finally:
            os.close(fd)

    def write(self, text: str) -> None:
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} pid {os.getpid()}: {text}\n"
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, line.encode("utf-8", "replace"))
            finally:
                os.close(fd)
        except OSError:
            pass  # the reserve is used up too: standard error is all that is left
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(line)
            sys.stderr.flush()
        self.reserve()
