"""One ``LISTEN`` connection per process for every waiting caller thread of that process.

PostgreSQL signals every backend listening in a database for every ``NOTIFY`` in it, so a
ring costs the server work per listening connection, not per channel: with a connection per
waiting thread, a process with many callers made every wake-up of every host dearer. Here
each caller thread keeps its own channel (its requests' ``reply_to``) and all of a process's
channels share one connection. There is no reading thread: one waiting thread at a time
reads the connection and hands each ring to the thread whose channel it names, so a lone
caller reads its own rings with no hand-over; when it stops reading, another waiter takes
over.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
import weakref
from collections.abc import Callable

import psycopg
from psycopg import sql

from iop.store import records as r
from iop.store.base import Listener
from iop.store.errors import StoreError, StoreUnavailable
from iop.store.wakeups.carried import find_reply
from iop.store.wakeups.readable import readable

Connect = Callable[[], psycopg.Connection]
Classify = Callable[[bytes], tuple[bool, bool]]  # payload -> (urgent, carries a reply)


def private_channel() -> str:
    """A new channel name for one waiting caller (its requests' ``reply_to``)."""
    return f"iopp_{uuid.uuid4().hex}"


class SharedListener(Listener):
    """A caller thread's private channel on its process's shared connection."""

    def __init__(self, hub: ListenHub, address: str) -> None:
        self.address = address
        self._hub = hub
        self._changed = threading.Condition(threading.Lock())
        self._rung = self._urgent = False
        self._replies: list[bytes] = []  # decoded only when the caller looks for its own
        self._turn = False  # the reader stopped: this thread may take over reading

    def deliver(self, payload: bytes, urgent: bool, reply: bool) -> None:
        """A ring for this channel (from whichever thread reads the connection)."""
        with self._changed:
            self._rung = True
            self._urgent = self._urgent or urgent
            if reply:
                self._replies.append(payload)
            self._changed.notify_all()

    def offer_turn(self) -> None:
        """The reading thread stopped reading: look whether to read instead."""
        with self._changed:
            self._turn = True
            self._changed.notify_all()

    def _take_ring(self, urgent_only: bool) -> bool:
        """Consume what was rung (called holding ``_changed``); True when it ends a wait."""
        if not self._rung:
            return False
        urgent, self._rung, self._urgent = self._urgent, False, False
        return urgent or not urgent_only

    def wait(self, timeout: float, urgent_only: bool = False, spin: bool = False) -> bool:
        """Sleep until rung or ``timeout`` seconds pass; True when rung. Drains pending rings.
        With ``urgent_only`` an ordinary ring is consumed without ending the wait.
        (``spin`` is not used: a ring comes through the server.)"""
        deadline = time.monotonic() + max(timeout, 0)
        hub = self._hub
        hub.want_turn(self)
        try:
            while True:
                with self._changed:
                    if self._take_ring(urgent_only):
                        return True
                    remaining = deadline - time.monotonic()
                    self._turn = False
                if hub.read(max(remaining, 0), self):
                    if remaining <= 0:  # time is up: what was read last is all there is
                        with self._changed:
                            return self._take_ring(urgent_only)
                    continue  # read until this thread's ring came, or its time is up
                if remaining <= 0:
                    return False
                with self._changed:
                    # Another thread reads; sleep until it hands us a ring or stops reading.
                    if not self._rung and not self._turn:
                        self._changed.wait(max(deadline - time.monotonic(), 0))
        finally:
            hub.want_turn(self, False)

    def drain(self) -> bool:
        """Discard rings already received; True when one of them was urgent."""
        self._hub.read(0, self)  # rings that reached the connection, if nobody else reads
        with self._changed:
            urgent, self._rung, self._urgent = self._urgent, False, False
            return urgent

    def take_reply(self, request_id: int) -> tuple[r.Header, str | None] | None:
        """The response to ``request_id`` if it came with a ring; replies to other
        (earlier, abandoned) requests are dropped."""
        with self._changed:
            received, self._replies = self._replies, []
        return find_reply(received, request_id)

    def close(self) -> None:
        self._hub.forget(self.address)


class ListenHub:
    """This process's shared listening connection."""

    def __init__(self, connect: Connect, classify: Classify) -> None:
        self._connect = connect
        self._classify = classify
        self.pid = os.getpid()
        self._lock = threading.Lock()  # the connection: one user at a time
        self._reading = threading.Lock()  # held by the thread that reads it
        self._listeners: dict[str, weakref.ref[SharedListener]] = {}
        self._stale: set[str] = set()  # channels to UNLISTEN (their listener is gone)
        self._waiters: set[SharedListener] = set()  # threads waiting now
        self._conn: psycopg.Connection | None = None
        self.replies = 0  # responses that came with a ring (tests check wake-ups with it)

    def listen(self, address: str) -> SharedListener:
        """Listen on the private channel ``address`` (see :func:`private_channel`) before
        returning its listener."""
        listener = SharedListener(self, address)
        with self._lock:
            try:
                conn = self._connection()
                conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(address)))
            except psycopg.Error:
                # The connection broke since it was last read (a server restart): a new
                # one listens again on every channel, this one included.
                self._listeners[address] = weakref.ref(listener)
                self._drop()
                try:
                    self._connection()
                except (psycopg.Error, StoreError) as exc:
                    self._listeners.pop(address, None)
                    raise StoreUnavailable(f"cannot listen for wake-ups: {exc}") from exc
            # A thread that ends without closing its listener gives its channel up.
            self._listeners[address] = weakref.ref(listener, lambda _: self._stale.add(address))
        return listener

    def forget(self, address: str) -> None:
        """Stop listening on ``address`` (the next time the connection is read)."""
        with self._lock:
            self._listeners.pop(address, None)
        self._stale.add(address)

    def want_turn(self, listener: SharedListener, waiting: bool = True) -> None:
        with self._lock:
            if waiting:
                self._waiters.add(listener)
            else:
                self._waiters.discard(listener)

    def read(self, timeout: float, reader: SharedListener) -> bool:
        """Read the connection for up to ``timeout`` seconds (until a ring for ``reader``
        arrives); False at once when another thread reads it."""
        if not self._reading.acquire(blocking=False):
            return False
        try:
            self._read_once(timeout, reader)
        finally:
            self._reading.release()
            with self._lock:
                others = [w for w in self._waiters if w is not reader]
            for other in others:
                other.offer_turn()
        return True

    def _connection(self) -> psycopg.Connection:
        """The listening connection (called holding ``_lock``). A new one, made after the
        last one broke, listens again on every live channel and rings them all: rings sent
        while no connection listened are lost, and their callers should look at the store."""
        if self._conn is None or self._conn.closed or self._conn.broken:
            conn = self._connect()
            # Rings that arrive while a LISTEN runs are handed over by psycopg.
            conn.add_notify_handler(
                lambda note: self._dispatch(note.channel, note.payload.encode()))
            live = [ref() for ref in self._listeners.values()]
            try:
                for listener in live:
                    if listener is not None:
                        conn.execute(sql.SQL("LISTEN {}").format(
                            sql.Identifier(listener.address)))
            except psycopg.Error:
                conn.close()
                raise
            self._conn, self._stale = conn, set()
            for listener in live:
                if listener is not None:
                    listener.deliver(b"", True, False)  # look at the store
        return self._conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except psycopg.Error:
                pass

    def _dispatch(self, channel: str, payload: bytes) -> None:
        ref = self._listeners.get(channel)
        listener = ref() if ref is not None else None
        if listener is not None:
            urgent, reply = self._classify(payload)
            self.replies += reply
            listener.deliver(payload, urgent, reply)

    def _read_once(self, timeout: float, reader: SharedListener) -> None:
        try:
            with self._lock:
                conn = self._connection()
                socket = conn.pgconn.socket
            ready = readable([socket], timeout)
            with self._lock:
                if ready:
                    conn.pgconn.consume_input()
                    while (note := conn.pgconn.notifies()) is not None:
                        self._dispatch(note.relname.decode(), note.extra)
                stale, self._stale = self._stale, set()
                for address in stale:
                    ref = self._listeners.get(address)
                    if ref is None or ref() is None:  # closed, or its thread let it go
                        self._listeners.pop(address, None)
                        conn.execute(sql.SQL("UNLISTEN {}").format(sql.Identifier(address)))
        except (OSError, ValueError, psycopg.Error, StoreError):
            self._recover(timeout)

    def _recover(self, timeout: float) -> None:
        """Listen again on every live channel and ring them all (rings may have been lost);
        when the store is unreachable, sleep out the wait and let the caller retry."""
        with self._lock:
            try:
                self._drop()
                self._connection()  # listens again on every live channel and rings them
                return
            except (psycopg.Error, StoreError):
                pass
        time.sleep(max(0.0, min(timeout, 1.0)))
