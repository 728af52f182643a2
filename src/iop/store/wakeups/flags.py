"""Whether a job is asleep, shared through one small memory-mapped file per job slot.

A job writes 0.0 before it sleeps and the time of its latest progress while it works.
A sender rings a job only when it sleeps, or when it has made no progress for a while
(a long handler), so a busy job is not woken for every message. No wake-up is lost: the
job marks itself asleep *then* looks at its queue once more; a sender commits *then* reads
the mark, so one of the two always sees the other.

A job that takes synchronous requests handed straight to it also publishes its job id
(the lease owner a caller writes); it is cleared, by its first byte, before the job ends.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import struct
import time

from iop.store.private import FILE_MODE, make_private_folder

_FORMAT = "d"
_OWNER_AT = struct.calcsize(_FORMAT)
_OWNER_BYTES = 96
_SIZE = _OWNER_AT + _OWNER_BYTES
BUSY_SECONDS = 0.05  # no progress for this long: the job is stuck in a handler
ASLEEP, WORKING, STUCK = "asleep", "working", "stuck"


def flag_path(folder: str, item: str, slot: int) -> str:
    digest = hashlib.sha1(item.encode()).hexdigest()[:16]
    return os.path.join(folder, f"{digest}.{slot}")


class WakeFlag:
    """The shared state of one job slot."""

    def __init__(self, path: str) -> None:
        make_private_folder(os.path.dirname(path))
        fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            if os.fstat(fd).st_size < _SIZE:
                os.ftruncate(fd, _SIZE)
            self._map = mmap.mmap(fd, _SIZE)
        finally:
            os.close(fd)

    def asleep(self) -> None:
        struct.pack_into(_FORMAT, self._map, 0, 0.0)

    def working(self) -> None:
        struct.pack_into(_FORMAT, self._map, 0, time.time())

    def set_owner(self, job_id: str) -> None:
        """Offer this slot's job for hand-overs (written before the job first sleeps)."""
        data = job_id.encode()
        if not data or len(data) >= _OWNER_BYTES:
            return  # too long to publish: the job just takes no hand-overs
        self._map[_OWNER_AT + 1:_OWNER_AT + _OWNER_BYTES] = data[1:].ljust(_OWNER_BYTES - 1,
                                                                           b"\0")
        self._map[_OWNER_AT] = data[0]  # last: a reader sees the whole id or none

    def clear_owner(self) -> None:
        self._map[_OWNER_AT] = 0  # one byte: no reader sees half an id

    def owner(self) -> str:
        """The job id taking hand-overs on this slot, or ""."""
        if self._map[_OWNER_AT] == 0:
            return ""
        raw = self._map[_OWNER_AT:_OWNER_AT + _OWNER_BYTES]
        return raw.split(b"\0", 1)[0].decode(errors="replace")

    def state(self) -> str:
        """``asleep``, ``working`` (made progress lately) or ``stuck`` (inside a long handler)."""
        (value,) = struct.unpack_from(_FORMAT, self._map, 0)
        if value == 0.0:
            return ASLEEP
        return STUCK if time.time() - value > BUSY_SECONDS else WORKING

    def close(self) -> None:
        self._map.close()
