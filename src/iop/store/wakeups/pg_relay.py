"""One ``LISTEN`` connection per host for all of its jobs, relayed over local datagram sockets.

PostgreSQL signals every connection listening in a database for every ``NOTIFY`` in it, so
each listening connection costs the server work on every ring of every host: a production of
twenty jobs on three hosts made each ring wake sixty backends. Here the supervisor of a host
keeps one connection listening on the channels of all its jobs (:class:`HostRelay`) and
forwards each ring to the job's socket on this machine; a job sleeps on that socket
(:class:`RelayedListener`). A caller waiting for a response on this host (a business
process's ``send_request_sync``) is rung the same way, its response carried along.

A job asks the relay to listen for it with a datagram naming its socket and its channels;
the relay answers a new request with an ordinary ring, sent once it listens, so whatever was
queued before that moment is claimed. The job repeats the request while it is idle, which
re-registers it with a relay that restarted; the relay also forgets, every few seconds,
sockets that were closed without a word (a killed job, a caller thread that ended). When no
relay answers (a job run without a supervisor, or one whose supervisor died) the job listens
on a connection of its own. Rings only cut latency: a job also polls, so a ring lost on the
way costs time, never a message.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import socket
import threading
import time
from collections.abc import Callable

import psycopg
from psycopg import sql

from iop.store import records as r
from iop.store.base import Listener
from iop.store.errors import StoreError
from iop.store.wakeups.readable import readable
from iop.store.wakeups.sockets import SocketListener, is_bound

_LISTEN = b"L"  # job -> relay: listen on these channels for my socket
_UNLISTEN = b"U"  # job -> relay: I am going away
_STOP = b"S"  # the relay's own thread, told to end
_RING = b"."  # relay -> job: look at your queue (sent after a new LISTEN took effect)
# An idle job repeats its request this often, so a relay that restarted learns of it.
RENEW_SECONDS = 1.0
_SELECT_SECONDS = 0.5
_RECONNECT_SECONDS = 1.0
_PRUNE_SECONDS = 5.0  # how often the relay looks for sockets closed without a word
_RECEIVE_BYTES = 65536

Connect = Callable[[], psycopg.Connection]


def relay_address(url: str, schema: str, host: str) -> bytes:
    """The abstract socket address of the relay of ``host`` for one namespace of one database."""
    digest = hashlib.sha1("\0".join((url, schema, host)).encode()).hexdigest()[:24]
    return b"\0iop-pg-relay/" + digest.encode()


class HostRelay:
    """Listens on the channels of this host's jobs and forwards each ring to the job's socket.

    Runs as a thread of the host's supervisor, on a connection of its own.
    """

    def __init__(self, connect: Connect, address: bytes, host: str) -> None:
        self._connect = connect
        self.address = address
        self._host = host
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            self._sock.bind(address)  # OSError: another process relays for this host
        except OSError:
            self._sock.close()
            raise
        self._sock.setblocking(False)
        self._conn: psycopg.Connection | None = None
        self._jobs: dict[str, set[bytes]] = {}  # channel -> sockets of the jobs listening
        self._gone: set[bytes] = set()  # job sockets found closed, to forget after a read
        self._stopping = False
        self._next_prune = time.monotonic() + _PRUNE_SECONDS
        self._thread = threading.Thread(target=self._run, name="iop-pg-relay", daemon=True)

    def start(self) -> HostRelay:
        self._thread.start()
        return self

    def stop(self) -> None:
        """End the relay's thread and close its connection; jobs fall back to listening."""
        self._stopping = True
        try:
            self._sock.sendto(_STOP, self.address)
        except OSError:
            pass  # the thread still sees the flag within a select timeout
        self._thread.join(5)
        self._sock.close()

    def channels(self) -> dict[str, int]:
        """Channel -> number of local listeners its rings go to (for tests and diagnostics)."""
        return {channel: len(jobs) for channel, jobs in list(self._jobs.items())}

    # ------------------------------------------------------------ the thread
    def _run(self) -> None:
        try:
            while not self._stopping:
                if self._conn is None and not self._reconnect():
                    self._sleep(_RECONNECT_SECONDS)
                    continue
                assert self._conn is not None
                try:
                    own = self._sock.fileno()
                    ready = readable([own, self._conn.pgconn.socket],
                                                _SELECT_SECONDS)
                    if own in ready:
                        self._serve_requests()
                    self._read_rings()
                    if time.monotonic() >= self._next_prune:
                        self._next_prune = time.monotonic() + _PRUNE_SECONDS
                        self._gone |= {job for jobs in self._jobs.values() for job in jobs
                                       if not is_bound(job)}
                    self._forget_gone()
                except (psycopg.Error, OSError, ValueError):
                    self._drop_connection()
                except Exception:  # never let the relay die: its jobs would only poll
                    self._drop_connection()
                    self._sleep(_RECONNECT_SECONDS)
        finally:
            self._drop_connection()

    def _sleep(self, seconds: float) -> None:
        """Wait, serving requests meanwhile (they are answered once connected again)."""
        ready = readable([self._sock], seconds)
        if ready:
            self._serve_requests()

    def _reconnect(self) -> bool:
        try:
            conn = self._connect()
            conn.execute(sql.SQL("SET application_name = {}").format(
                sql.Literal(f"iop relay {self._host}"[:63])))
            # Rings that arrive while a LISTEN runs are handed over here, not to _read_rings.
            conn.add_notify_handler(lambda note: self._forward(note.channel,
                                                               note.payload.encode()))
            for channel in self._jobs:
                conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        except (psycopg.Error, OSError, StoreError):  # the server is down: try again later
            return False
        self._conn = conn
        for job in {job for jobs in self._jobs.values() for job in jobs}:
            self._send(job, _RING)  # rings may have been missed while disconnected
        return True

    def _drop_connection(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except psycopg.Error:
                pass
            self._conn = None

    def _serve_requests(self) -> None:
        while True:
            try:
                data = self._sock.recv(_RECEIVE_BYTES)
            except (BlockingIOError, InterruptedError):
                return
            kind, fields = data[:1], data[1:].decode(errors="replace").split("\n")
            if kind == _STOP or len(fields) < 2:
                continue
            job, channels = b"\0" + fields[0].encode(), fields[1:]
            if kind == _LISTEN:
                self._add(job, channels)
            elif kind == _UNLISTEN:
                self._remove(job, channels)

    def _add(self, job: bytes, channels: list[str]) -> None:
        new = False
        for channel in channels:
            jobs = self._jobs.setdefault(channel, set())
            if job in jobs:
                continue
            jobs.add(job)  # first: should the LISTEN fail, the reconnection listens for it
            new = True
            if len(jobs) == 1 and self._conn is not None:
                self._conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        if new and self._conn is not None:
            self._send(job, _RING)  # listening now: let the job look at what came before

    def _remove(self, job: bytes, channels: list[str]) -> None:
        for channel in channels:
            jobs = self._jobs.get(channel)
            if jobs is None:
                continue
            jobs.discard(job)
            if not jobs:
                del self._jobs[channel]
                if self._conn is not None:
                    self._conn.execute(sql.SQL("UNLISTEN {}").format(sql.Identifier(channel)))

    def _read_rings(self) -> None:
        assert self._conn is not None
        pgconn = self._conn.pgconn
        pgconn.consume_input()
        while (note := pgconn.notifies()) is not None:
            self._forward(note.relname.decode(), note.extra)

    def _forward(self, channel: str, payload: bytes) -> None:
        for job in self._jobs.get(channel, ()):
            if not self._send(job, payload):
                self._gone.add(job)

    def _send(self, job: bytes, payload: bytes) -> bool:
        """False when the job's socket is gone (the job ended without saying so)."""
        try:
            self._sock.sendto(payload, job)
        except (ConnectionRefusedError, FileNotFoundError):
            return False
        except OSError:
            pass  # its buffer is full of rings already
        return True

    def _forget_gone(self) -> None:
        gone, self._gone = self._gone, set()
        for job in gone:
            self._remove(job, [channel for channel, jobs in self._jobs.items() if job in jobs])


class RelayedListener(Listener):
    """A listener that sleeps on a local socket the host's relay forwards its rings to: a
    job's (its channel and its item's) or a waiting caller's (one private channel, whose
    rings may carry the response)."""

    _counter = itertools.count()

    def __init__(self, relay: bytes, channels: tuple[str, ...],
                 listen_directly: Callable[[], Listener]) -> None:
        own = relay + f"/{os.getpid()}-{next(self._counter)}".encode()
        self._socket = SocketListener(own)
        self.address = channels[0]  # what rings this listener, as with a listening connection
        self._relay = relay
        self._request = "\n".join((self._socket.address, *channels)).encode()
        self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sender.setblocking(False)
        self._listen_directly = listen_directly
        self._direct: Listener | None = None
        self._renewed = time.monotonic()
        if not self._ask(_LISTEN):
            self.close()
            raise ConnectionRefusedError("no relay listens for this host")

    def _ask(self, kind: bytes) -> bool:
        """Send a request to the relay; False when there is no relay to send it to."""
        try:
            self._sender.sendto(kind + self._request, self._relay)
        except (ConnectionRefusedError, FileNotFoundError):
            return False
        except OSError:
            pass  # the relay is busy; an idle wait asks again
        return True

    def confirmed(self, timeout: float) -> bool:
        """Wait for the relay's ring saying it listens; False when none came in time."""
        return self._socket.wait(timeout)

    def wait(self, timeout: float, urgent_only: bool = False, spin: bool = False) -> bool:
        """Sleep until rung or ``timeout`` seconds pass; True when rung. ``spin`` is not used:
        a ring comes through the server, whose own wake-up dominates."""
        if self._direct is not None:
            return self._direct.wait(timeout, urgent_only)
        rung = self._socket.wait(timeout, urgent_only)
        if not rung and time.monotonic() - self._renewed >= RENEW_SECONDS:
            self._renewed = time.monotonic()
            if not self._ask(_LISTEN):
                # The relay is gone with its supervisor: listen on a connection of our own.
                try:
                    self._direct = self._listen_directly()
                except (OSError, StoreError, psycopg.Error):
                    pass  # the server is unreachable too: the next quiet wait tries again
        return rung

    def drain(self) -> bool:
        """Discard rings already received; True when one of them was urgent."""
        return self._direct.drain() if self._direct is not None else self._socket.drain()

    def take_reply(self, request_id: int) -> tuple[r.Header, str | None] | None:
        """The response to ``request_id`` if it came with a ring."""
        if self._direct is not None:
            return self._direct.take_reply(request_id)
        return self._socket.take_reply(request_id)

    def relayed(self) -> bool:
        """Whether rings still come through the host's relay (not a connection of our own)."""
        return self._direct is None

    def close(self) -> None:
        if self._direct is not None:
            self._direct.close()
        else:
            self._ask(_UNLISTEN)
        self._socket.close()
        self._sender.close()

    def __del__(self) -> None:  # a caller thread that ended: its socket goes, the relay prunes
        try:
            self._socket.close()
            self._sender.close()
        except Exception:
            pass


def start_relay(connect: Connect, address: bytes, host: str) -> HostRelay | None:
    """Start this host's relay; None when another process on this machine already runs it."""
    try:
        return HostRelay(connect, address, host).start()
    except OSError:
        return None

