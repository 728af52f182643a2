"""Wake-ups between processes on one host, over Linux abstract datagram sockets.

A job listens on a socket named after its store, item and pool slot; a sender rings every
slot of the target item after its transaction commits. Wake-ups only cut latency: jobs
also poll slowly, so a lost datagram costs time, never a message.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import socket
import threading
import time
import weakref
from collections.abc import Callable

from iop.store import records as r
from iop.store.base import Listener
from iop.store.wakeups.carried import find_reply, pack_header, unpack_header
from iop.store.wakeups.flags import ASLEEP, STUCK, WORKING, WakeFlag, flag_path
from iop.store.wakeups.readable import readable

_MAX_SLOTS = 64
_URGENT = b"!"
_NORMAL = b"."
_REPLY = b"R"  # followed by a stored response as JSON: [header fields..., body text]
# A synchronous request handed straight to a sleeping job, already leased to it, as JSON:
# [queue id, attempts, header fields..., body text]. The job needs no claim transaction.
_HANDOFF = b"H"
# Larger responses are not carried: the caller reads them from the store.
MAX_REPLY_BYTES = 32 * 1024
_RECEIVE_BYTES = MAX_REPLY_BYTES + 4096
_SLOT_CACHE_SECONDS = 1.0
# A process about to be answered (a caller that has just sent a synchronous request, a job
# that has just finished a message) polls its socket this long before it sleeps: on a
# virtual machine waking a sleeping process costs tens of microseconds at both ends, often
# more than the answer takes to come.
SPIN_SECONDS = 0.0005
# A yield that took this long ran another process: the cores are busy, spinning stops.
_CONTENDED_YIELD_SECONDS = 0.00003
# One spinning thread per process: threads spinning together would only fight over the GIL.
_spinning = threading.Lock()


def poll_briefly(ready: Callable[[], bool], seconds: float) -> bool:
    """Call ``ready`` until it is true or ``seconds`` pass, yielding the CPU in between; False
    at once when another thread of this process already polls or another process wants this
    core (then sleeping is cheaper for everyone)."""
    if not _spinning.acquire(blocking=False):
        return False
    try:
        until = time.monotonic() + seconds
        while True:
            if ready():
                return True
            before = time.monotonic()
            if before >= until:
                return False
            os.sched_yield()
            if time.monotonic() - before > _CONTENDED_YIELD_SECONDS:
                return False  # another process ran meanwhile: the cores are busy
    finally:
        _spinning.release()


class SocketListener(Listener):
    """A bound datagram socket that a job or a waiting caller sleeps on."""

    def __init__(self, address: bytes, flag: WakeFlag | None = None) -> None:
        # Stored in message headers as text; the leading NUL of the abstract name is implied.
        self.address = address[1:].decode()
        self.flag = flag
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(address)
        self._sock.setblocking(False)
        self._replies: list[bytes] = []  # decoded only when the caller looks for its own
        self._handoffs: list[bytes] = []

    def wait(self, timeout: float, urgent_only: bool = False, spin: bool = False) -> bool:
        """Sleep until rung or ``timeout`` seconds pass; True when rung. Drains pending rings.

        With ``urgent_only`` only an urgent ring (a synchronous caller waiting) ends the wait.
        With ``spin`` the first moments are spent polling, yielding the CPU between polls.
        """
        deadline = time.monotonic() + max(timeout, 0)
        if spin and poll_briefly(lambda: self._ready(urgent_only),
                                 min(SPIN_SECONDS, max(timeout, 0))):
            return True
        while True:
            remaining = deadline - time.monotonic()
            ready = readable([self._sock], max(remaining, 0))
            if not ready:
                return False
            urgent = self.drain()
            if urgent or not urgent_only:
                return True

    def _ready(self, urgent_only: bool) -> bool:
        received, urgent = self._take()
        return urgent or (received and not urgent_only)

    def drain(self) -> bool:
        """Take the rings received so far (keeping replies); True when one was urgent."""
        return self._take()[1]

    def _take(self) -> tuple[bool, bool]:
        """Take the rings received so far: (any received, one of them urgent)."""
        received = urgent = False
        try:
            while True:
                data = self._sock.recv(_RECEIVE_BYTES)
                received = True
                if data == _URGENT:
                    urgent = True
                elif data[:1] == _REPLY:
                    urgent = True
                    self._replies.append(data)
                elif data[:1] == _HANDOFF:
                    urgent = True
                    self._handoffs.append(data)
        except (BlockingIOError, InterruptedError):
            pass
        return received, urgent

    def take_reply(self, request_id: int) -> tuple[r.Header, str | None] | None:
        """The response to ``request_id`` if it came with a ring; replies to other
        (earlier, abandoned) requests are dropped."""
        received, self._replies = self._replies, []
        return find_reply(received, request_id)  # None: the caller reads the store

    def take_handoffs(self) -> list[r.Delivery]:
        """Requests handed to this job since the last call (already leased to it)."""
        taken, self._handoffs = self._handoffs, []
        deliveries = []
        for data in taken:
            # An unreadable one is found leased to the job when it next looks.
            unpacked = unpack_header(data, 2)
            if unpacked is not None:
                (queue_id, attempts), header, body = unpacked
                deliveries.append(r.Delivery(queue_id, header, body, attempts))
        return deliveries

    def offer_handoffs(self, job_id: str) -> None:
        """Let callers hand synchronous requests straight to this job while it sleeps."""
        if self.flag is not None:
            self.flag.set_owner(job_id)

    def set_asleep(self, asleep: bool) -> None:
        """Publish whether this job sleeps (job listeners only)."""
        if self.flag is not None:
            self.flag.asleep() if asleep else self.flag.working()

    def handoffs_before_sleep(self) -> list[r.Delivery]:
        """Requests handed to this job since it last looked (their rings drained)."""
        self.drain()
        return self.take_handoffs()

    def look_again(self, has_work: Callable[[], bool]) -> bool:
        """Senders ring a job only when its flag says it sleeps: one that committed before
        the flag said so did not ring, so look at the queue once more."""
        return has_work()

    def fileno(self) -> int:
        return self._sock.fileno()

    def close(self) -> None:
        self._sock.close()
        if self.flag is not None:
            self.flag.clear_owner()  # nothing more is handed to this job
            self.flag.asleep()  # a replacement job starts from a state that gets rung
            self.flag.close()


class SocketNotifier:
    """Rings item slots and waiting callers of one store on this host."""

    def __init__(self, store_key: str, flag_folder: str | None = None) -> None:
        digest = hashlib.sha1(store_key.encode()).hexdigest()[:12]
        self._prefix = b"\0iop/" + digest.encode() + b"/"
        self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sender.setblocking(False)
        # Closed with the notifier (its store dropped), quietly: no ResourceWarning at exit.
        weakref.finalize(self, self._sender.close)
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

    def service_listener(self, listener: Listener) -> Listener:
        """A service job keeps its item address like any job (holding it is also what keeps
        a second supervisor from running the same job), and a socket costs nobody else."""
        return listener

    def listen_item(self, item: str, slot: int) -> SocketListener:
        """Listener for one job of ``item``."""
        flag = self._flag(item, slot)
        if flag is not None:
            flag.clear_owner()  # a killed predecessor's id; this job offers its own, if any
        listener = SocketListener(self._item_address(item, slot), flag)
        listener.set_asleep(False)
        return listener

    def _flag(self, item: str, slot: int) -> WakeFlag | None:
        if self._flag_folder is None:
            return None
        flag = self._flags.get((item, slot))
        if flag is None:
            flag = self._flags[(item, slot)] = WakeFlag(flag_path(self._flag_folder, item, slot))
        return flag

    def start_relay(self) -> None:
        """Nothing to relay: writers on this host ring its jobs' sockets themselves."""
        return None

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

    def reserve(self, item: str) -> tuple[int, str] | None:
        """A sleeping job of ``item`` that takes hand-overs: (slot, job id), marked busy so
        that the next caller picks another one. Called under the store's write lock."""
        if self._flag_folder is None:
            return None
        for index in range(self._live_slots(item)):
            flag = self._flag(item, index)
            if flag is not None and flag.state() == ASLEEP:
                owner = flag.owner()
                if owner:
                    flag.working()
                    return index, owner
        return None

    def unreserve(self, item: str, slot: int) -> None:
        """The hand-over did not happen after all (its transaction failed)."""
        flag = self._flag(item, slot)
        if flag is not None:
            flag.asleep()  # at worst a working job is rung once more than needed

    def hand_over(self, item: str, slot: int, delivery: r.Delivery) -> bool:
        """Give ``delivery`` (leased to that slot's job) to the job; False when it cannot be
        sent: the job is gone, or its socket is full."""
        payload = pack_header(_HANDOFF, delivery.header, delivery.body_text,
                        delivery.queue_id, delivery.attempts)
        return len(payload) <= MAX_REPLY_BYTES and \
            self._send_whole(self._item_address(item, slot), payload)

    def _send_whole(self, address: bytes, payload: bytes) -> bool:
        """Send a datagram that must arrive as it is; False when it cannot be sent now."""
        try:
            with self._lock:
                self._sender.sendto(payload, address)
            return True
        except OSError:
            return False

    def _live_slots(self, item: str) -> int:
        now = time.monotonic()
        cached = self._slots.get(item)
        if cached is not None and now - cached[0] < _SLOT_CACHE_SECONDS:
            return cached[1]
        count = 0
        misses = 0
        for slot in range(_MAX_SLOTS):
            if is_bound(self._item_address(item, slot)):
                count = slot + 1
                misses = 0
            else:
                misses += 1
                if misses >= 2:  # a dead slot may sit between live ones; two misses end the scan
                    break
        self._slots[item] = (now, count)
        return count

    def ring(self, address: str, reply: tuple[r.Header, str | None] | None = None) -> None:
        """Wake the caller listening on ``address`` (a listener's ``address``), handing it
        ``reply`` (its stored response) when that is small enough."""
        target = b"\0" + address.encode()
        if reply is not None and (reply[1] is None or len(reply[1]) <= MAX_REPLY_BYTES):
            payload = pack_header(_REPLY, *reply)
            if len(payload) <= MAX_REPLY_BYTES and self._send_whole(target, payload):
                return
        self._send(target)  # a plain ring still gets through a fuller buffer

    def close(self) -> None:
        self._sender.close()


def is_bound(address: bytes) -> bool:
    """Whether a listener is bound to ``address`` (found without ringing it)."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        probe.connect(address)
        return True
    except OSError:
        return False
    finally:
        probe.close()
