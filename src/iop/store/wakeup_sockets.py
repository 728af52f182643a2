"""Wake-ups between processes on one host, over Linux abstract datagram sockets.

A job listens on a socket named after its store, item and pool slot; a sender rings every
slot of the target item after its transaction commits. Wake-ups only cut latency: jobs
also poll slowly, so a lost datagram costs time, never a message.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import select
import socket
import threading
import time

from iop.store.wake_flags import ASLEEP, STUCK, WORKING, WakeFlag, flag_path

_MAX_SLOTS = 64
_URGENT = b"!"
_NORMAL = b"."
_SLOT_CACHE_SECONDS = 1.0


class SocketListener:
    """A bound datagram socket that a job or a waiting caller sleeps on."""

    def __init__(self, address: bytes, flag: WakeFlag | None = None) -> None:
        # Stored in message headers as text; the leading NUL of the abstract name is implied.
        self.address = address[1:].decode()
        self.flag = flag
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(address)
        self._sock.setblocking(False)

    def wait(self, timeout: float, urgent_only: bool = False) -> bool:
        """Sleep until rung or ``timeout`` seconds pass; True when rung. Drains pending rings.

        With ``urgent_only`` only an urgent ring (a synchronous caller waiting) ends the wait.
        """
        deadline = time.monotonic() + max(timeout, 0)
        while True:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self._sock], [], [], max(remaining, 0))
            if not ready:
                return False
            urgent = self.drain()
            if urgent or not urgent_only:
                return True

    def drain(self) -> bool:
        """Discard rings already received; True when one of them was urgent."""
        urgent = False
        try:
            while True:
                if self._sock.recv(16) == _URGENT:
                    urgent = True
        except (BlockingIOError, InterruptedError):
            pass
        return urgent

    def set_asleep(self, asleep: bool) -> None:
        """Publish whether this job sleeps (job listeners only)."""
        if self.flag is not None:
            self.flag.asleep() if asleep else self.flag.working()

    def fileno(self) -> int:
        return self._sock.fileno()

    def close(self) -> None:
        self._sock.close()
        if self.flag is not None:
            self.flag.asleep()  # a replacement job starts from a state that gets rung
            self.flag.close()


class SocketNotifier:
    """Rings item slots and waiting callers of one store on this host."""

    def __init__(self, store_key: str, flag_folder: str | None = None) -> None:
        digest = hashlib.sha1(store_key.encode()).hexdigest()[:12]
        self._prefix = b"\0iop/" + digest.encode() + b"/"
        self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sender.setblocking(False)
        self._slots: dict[str, tuple[float, int]] = {}
        self._counter = itertools.count()
        self._lock = threading.Lock()
        self._flag_folder = flag_folder
        self._flags: dict[tuple[str, int], WakeFlag] = {}

    def _item_address(self, item: str, slot: int) -> bytes:
        name = item.encode()
        if len(name) > 60:
            name = hashlib.sha1(name).hexdigest().encode()
        return self._prefix + b"i/" + name + b"/" + str(slot).encode()

    def listen_item(self, item: str, slot: int) -> SocketListener:
        """Listener for one job of ``item``."""
        listener = SocketListener(self._item_address(item, slot), self._flag(item, slot))
        listener.set_asleep(False)
        return listener

    def _flag(self, item: str, slot: int) -> WakeFlag | None:
        if self._flag_folder is None:
            return None
        flag = self._flags.get((item, slot))
        if flag is None:
            flag = self._flags[(item, slot)] = WakeFlag(flag_path(self._flag_folder, item, slot))
        return flag

    def listen_private(self) -> SocketListener:
        """Listener with a unique address, for a caller waiting on a response."""
        address = self._prefix + b"p/" + f"{os.getpid()}-{next(self._counter)}-{time.monotonic_ns()}".encode()
        return SocketListener(address)

    def _send(self, address: bytes, payload: bytes = _URGENT) -> bool:
        try:
            with self._lock:
                self._sender.sendto(payload, address)
            return True
        except (ConnectionRefusedError, FileNotFoundError):
            return False
        except (BlockingIOError, InterruptedError, OSError):
            return True  # the listener already has rings queued

    def ring_item(self, item: str, urgent: bool = True, slot: int | None = None) -> None:
        """Wake jobs of ``item`` on this host.

        A caller waiting (``urgent``) rings every job so the first free one answers. Otherwise
        only the first live job is rung: jobs claim whole batches, and a job that finds a full
        batch rings the next one itself (``slot``), so more jobs join only when work piles up.
        """
        payload = _URGENT if urgent else _NORMAL
        slots = self._live_slots(item)
        if not slots:
            return
        if urgent:
            for index in range(slots):
                self._send(self._item_address(item, index), payload)
            return
        first = 0 if slot is None else slot % slots
        for offset in range(slots):
            index = (first + offset) % slots
            flag = self._flag(item, index)
            state = flag.state() if flag is not None else ASLEEP
            if state == WORKING:
                return  # it will look at its queue again before it sleeps
            if state == STUCK:
                continue  # inside a long handler: ask the next job instead
            if self._send(self._item_address(item, index), payload):
                return

    def _live_slots(self, item: str) -> int:
        now = time.monotonic()
        cached = self._slots.get(item)
        if cached is not None and now - cached[0] < _SLOT_CACHE_SECONDS:
            return cached[1]
        count = 0
        misses = 0
        for slot in range(_MAX_SLOTS):
            if self._send(self._item_address(item, slot), _NORMAL):
                count = slot + 1
                misses = 0
            else:
                misses += 1
                if misses >= 2:  # a dead slot may sit between live ones; two misses end the scan
                    break
        self._slots[item] = (now, count)
        return count

    def ring(self, address: str) -> None:
        """Wake the caller listening on ``address`` (a listener's ``address``)."""
        self._send(b"\0" + address.encode())

    def close(self) -> None:
        self._sender.close()
