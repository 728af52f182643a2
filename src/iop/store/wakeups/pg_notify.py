"""Wake-ups between processes on any host, over PostgreSQL ``LISTEN``/``NOTIFY``.

Each job listens on a channel of its own (item, host, slot) and on its item's channel; a
waiting caller listens on a private channel named in its request's ``reply_to``. A writer
rings one job per item it queued for, taking the item's running jobs (every host's, read
from the jobs table, cached for a second) in turn, so work spreads over the hosts without
waking every job for every message: with several hosts that herd of claims that find
nothing would cost the shared database more than the work itself. When no running job is
known the item's channel wakes them all.

``NOTIFY`` follows the writer's ``COMMIT`` in the same pipeline (see :func:`notify_committed`),
so it never rings for a rolled-back write; a ring that carries a response is built from the
committed response itself (:data:`NOTIFY_ANSWERS_SQL`). Jobs and waiting callers on a host
whose supervisor runs a relay are rung through its one listening connection
(iop.store.wakeups.pg_relay); elsewhere a job listens on a connection of its own and the
waiting callers of one process share one (iop.store.wakeups.pg_listen_hub). Wake-ups only cut
latency: jobs also poll, so a lost one (or one that reaches a busy job) costs time, never a
message.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterable

import psycopg
from psycopg import sql

from iop.store import records as r
from iop.store.base import Listener
from iop.store.errors import StoreError
from iop.store.wakeups.carried import find_reply, pack_header
from iop.store.wakeups.pg_listen_hub import ListenHub, private_channel
from iop.store.wakeups.pg_relay import HostRelay, RelayedListener, start_relay
from iop.store.wakeups.readable import readable

URGENT = "!"
NORMAL = "."
_REPLY = b"R"  # followed by the stored response (iop.store.wakeups.carried): the caller skips a read
# PostgreSQL refuses payloads of 8,000 bytes or more; a larger response is read by the caller.
MAX_PAYLOAD_BYTES = 7900

NOTIFY_SQL = "SELECT pg_notify(c, p) FROM unnest(%s::text[], %s::text[]) AS t(c, p)"
# A NOTIFY outside any transaction is a transaction of its own, with a commit record of its
# own: nothing in it needs the WAL flush that commit would otherwise wait for.
_ALONE = ", set_config('synchronous_commit', 'off', true)"
NOTIFY_ALONE_SQL = NOTIFY_SQL.replace("pg_notify(c, p)", "pg_notify(c, p)" + _ALONE)
# After a commit that answered requests: each waiting caller's ring carries the response
# as stored (read back in the same statement, so its id need not be known beforehand), in
# the form iop.store.wakeups.carried reads; a response too big for a payload rings plainly. Only a
# committed, undiscarded response to a request whose caller still waits is rung.
_CARRIED = (f"'{_REPLY.decode()}' || json_build_array("
            + ", ".join(f"h.{name}" for name in r.Header.__dataclass_fields__) + ", b.data)::text")
NOTIFY_ANSWERS_INSIDE_SQL = f"""
SELECT pg_notify(t.c, CASE WHEN octet_length(p.carried) < {MAX_PAYLOAD_BYTES} THEN p.carried
                      ELSE '{URGENT}' END)
FROM unnest(%s::text[], %s::bigint[]) AS t(c, request_id)
JOIN headers q ON q.id = t.request_id
    AND NOT (q.status = 'error' AND q.error LIKE '{r.TIMED_OUT}%%')
JOIN headers h ON h.id = q.corresponding_id AND h.status <> 'discarded'
LEFT JOIN bodies b ON b.id = h.body_id
CROSS JOIN LATERAL (SELECT {_CARRIED} AS carried) p
"""
NOTIFY_ANSWERS_SQL = NOTIFY_ANSWERS_INSIDE_SQL.replace("END)", "END)" + _ALONE, 1)

Connect = Callable[[], psycopg.Connection]

_JOBS_CACHE_SECONDS = 1.0
# How long a caller waits for its host's relay to say it listens before listening itself.
RELAY_CONFIRM_SECONDS = 2.0


class PostgresListener(Listener):
    """A connection listening on its channels, that a job or a waiting caller sleeps on."""

    def __init__(self, connect: Connect, channel: str, *more: str) -> None:
        self.address = channel
        self._channels = (channel, *more)
        self._connect = connect
        self._conn = self._listen()
        self._replies: list[bytes] = []  # decoded only when the caller looks for its own

    def _listen(self) -> psycopg.Connection:
        conn = self._connect()
        for channel in self._channels:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        return conn

    def _read(self) -> tuple[bool, bool]:
        """(rung, urgent) over the notifications that arrived so far; never blocks."""
        pgconn = self._conn.pgconn
        pgconn.consume_input()
        rung = urgent = False
        while (note := pgconn.notifies()) is not None:
            rung = True
            ring_urgent, reply = classify(note.extra)
            urgent = urgent or ring_urgent
            if reply:
                self._replies.append(note.extra)
        return rung, urgent

    def _recover(self, deadline: float) -> bool:
        """Reconnect after the connection broke; True (a spurious ring) once listening again."""
        try:
            self._conn.close()
        except psycopg.Error:
            pass
        try:
            self._conn = self._listen()
        except Exception:
            # The store is unreachable: sleep out the wait instead of spinning, retry later.
            time.sleep(max(0.0, min(deadline - time.monotonic(), 1.0)))
            return False
        return True

    def wait(self, timeout: float, urgent_only: bool = False, spin: bool = False) -> bool:
        """Sleep until rung or ``timeout`` seconds pass; True when rung. Drains pending rings.

        With ``urgent_only`` only an urgent ring (a synchronous caller waiting) ends the wait.
        (``spin`` is not used: a ring comes through the server, whose own wake-up dominates.)
        """
        deadline = time.monotonic() + max(timeout, 0)
        while True:
            remaining = deadline - time.monotonic()
            try:
                ready = readable([self._conn.pgconn.socket], max(remaining, 0))
            except (OSError, ValueError, psycopg.Error):
                return self._recover(deadline)
            if not ready:
                return False
            try:
                rung, urgent = self._read()
            except psycopg.Error:
                return self._recover(deadline)
            if rung and (urgent or not urgent_only):
                return True
            if remaining <= 0:
                return False

    def drain(self) -> bool:
        """Discard rings already received; True when one of them was urgent."""
        try:
            return self._read()[1]
        except psycopg.Error:
            self._recover(time.monotonic())
            return False

    def take_reply(self, request_id: int) -> tuple[r.Header, str | None] | None:
        """The response to ``request_id`` if it came with a ring; replies to other
        (earlier, abandoned) requests are dropped."""
        received, self._replies = self._replies, []
        return find_reply(received, request_id)  # None: the caller reads the database

    def fileno(self) -> int:
        return self._conn.pgconn.socket

    def close(self) -> None:
        self._conn.close()


class Sleeper(Listener):
    """A listener nothing can ring: it only sleeps (see PostgresNotifier.service_listener)."""

    def wait(self, timeout: float, urgent_only: bool = False, spin: bool = False) -> bool:
        time.sleep(max(timeout, 0.0))
        return False

    def drain(self) -> bool:
        return False


class PostgresNotifier:
    """Rings the jobs of an item (on every host) and waiting callers of one namespace."""

    def __init__(self, connect: Connect, shared: Connect, scope: str, host: str = "",
                 relay: bytes | None = None) -> None:
        self._connect = connect  # a new connection per listener: LISTEN holds it
        self._shared = shared  # the calling thread's store connection, for NOTIFY
        self._scope = scope
        self._host = host  # this process's host: part of its jobs' channels
        self._relay = relay  # the socket address of this host's relay (iop.store.wakeups.pg_relay)
        self._jobs: dict[str, tuple[float, list[str]]] = {}  # item -> (read at, job channels)
        self._turn = itertools.count()
        self._lock = threading.Lock()
        self._hub: ListenHub | None = None  # this process's callers' shared connection

    def _channel(self, prefix: str, *parts: object) -> str:
        # Channel names are identifiers of at most 63 bytes: hash what names the listener.
        digest = hashlib.sha1("\0".join(map(str, (self._scope, *parts))).encode()).hexdigest()
        return f"{prefix}_{digest[:24]}"

    def item_channel(self, item: str) -> str:
        """The channel every job of ``item`` (on every host) listens on."""
        return self._channel("iopi", item)

    def job_channel(self, item: str, host: str, slot: int) -> str:
        """The channel of one job: ``item``'s slot ``slot`` on ``host``."""
        return self._channel("iopj", item, host, slot)

    def listen_item(self, item: str, slot: int) -> Listener:
        """Listener for one job of ``item`` on this host: its own channel and the item's,
        through the host's relay when its supervisor runs one."""
        channels = (self.job_channel(item, self._host, slot), self.item_channel(item))

        def listen_directly() -> Listener:
            return PostgresListener(self._connect, *channels)

        return self._through_relay(channels, listen_directly) or listen_directly()

    def _through_relay(self, channels: tuple[str, ...],
                       listen_directly: Callable[[], Listener]) -> RelayedListener | None:
        """A listener the host's relay rings on ``channels``; None when this host has none."""
        if self._relay is None:
            return None
        try:
            return RelayedListener(self._relay, channels, listen_directly)
        except OSError:
            return None  # no supervisor here runs a relay

    def start_relay(self) -> HostRelay | None:
        """Start the relay through which this host's jobs are rung (in its supervisor)."""
        if self._relay is None:
            return None
        return start_relay(self._connect, self._relay, self._host)

    def service_listener(self, listener: Listener) -> Sleeper:
        """A service job sleeps without listening: PostgreSQL signals every listening
        connection of the database for every ``NOTIFY``, so an idle listener costs the server
        work on each message of every host."""
        listener.close()
        return Sleeper()

    def listen_private(self) -> Listener:
        """Listener with a unique channel, for a caller waiting on a response: through the
        relay of this host when its supervisor runs one, else on the connection this
        process's callers share."""
        channel = private_channel()

        def listen_directly() -> Listener:
            return self._hub_of_process().listen(channel)

        listener = self._through_relay((channel,), listen_directly)
        if listener is not None:
            # The caller sends its request next: the relay must listen before that.
            if listener.confirmed(RELAY_CONFIRM_SECONDS):
                return listener
            listener.close()
        return listen_directly()

    def replies_by_ring(self) -> int:
        """How many responses reached this process's waiting callers with their ring."""
        with self._lock:
            hub = self._hub if self._hub is not None and self._hub.pid == os.getpid() else None
        return hub.replies if hub is not None else 0

    def _hub_of_process(self) -> ListenHub:
        with self._lock:
            if self._hub is None or self._hub.pid != os.getpid():
                self._hub = ListenHub(self._connect, classify)
            return self._hub

    def _running_jobs(self, conn: psycopg.Connection, item: str) -> list[str]:
        """Channels of ``item``'s running jobs on every host (read at most once a second)."""
        now = time.monotonic()
        cached = self._jobs.get(item)
        if cached is not None and now - cached[0] < _JOBS_CACHE_SECONDS:
            return cached[1]
        try:
            rows = conn.execute("SELECT host, slot FROM jobs WHERE item = %s AND state = "
                                "'running' ORDER BY slot, host", (item,)).fetchall()
        except psycopg.Error:
            rows = []  # not this namespace's tables yet: wake them all
        channels = [self.job_channel(item, host, slot) for host, slot in rows]
        self._jobs[item] = (now, channels)
        return channels

    def item_rings(self, items: dict[str, bool],
                   conn: psycopg.Connection | None = None) -> list[tuple[str, str]]:
        """(channel, payload) pairs that wake one job of each of ``items`` (item → urgent),
        read through ``conn`` (default: this thread's store connection)."""
        rings = []
        for item, urgent in items.items():
            channels = self._running_jobs(conn or self._shared(), item)
            if channels:
                with self._lock:
                    turn = next(self._turn)
                channel = channels[turn % len(channels)]
            else:
                channel = self.item_channel(item)
            rings.append((channel, URGENT if urgent else NORMAL))
        return rings

    def ring_item(self, item: str, urgent: bool = True, slot: int | None = None) -> None:
        """Wake one job of ``item`` (the next in turn, on any host); ``urgent`` when a caller
        waits. ``slot`` (a busy job asking for help with its backlog) is accepted for the
        Notifier interface: the next job in turn is asked, whatever its slot."""
        try:
            rings = self.item_rings({item: urgent})
        except StoreError:
            return  # the store is unreachable: a lost wake-up costs latency only
        self._notify(rings)

    def ring(self, address: str, reply: tuple[r.Header, str | None] | None = None) -> None:
        """Wake the caller listening on ``address`` (a listener's ``address``), handing it
        ``reply`` (its stored response) when that fits in a payload."""
        self._notify([(address, reply_payload(*reply) if reply is not None else URGENT)])

    def _notify(self, rings: Iterable[tuple[str, str]]) -> None:
        pairs = list(rings)
        if not pairs:
            return
        try:
            conn = self._shared()
            (notify if conn.info.transaction_status else notify_committed)(conn, pairs)
        except (psycopg.Error, StoreError):
            pass  # a lost wake-up costs latency only


def classify(payload: bytes) -> tuple[bool, bool]:
    """(urgent, carries a reply) for a ring's payload."""
    if payload[:1] == _REPLY:
        return True, True
    return payload == URGENT.encode(), False


def reply_payload(header: r.Header, body: str | None) -> str:
    """The ring that carries a stored response, or a plain urgent ring when it is too big."""
    if body is not None and len(body) > MAX_PAYLOAD_BYTES:
        return URGENT
    payload = pack_header(_REPLY, header, body)
    return payload.decode() if len(payload) < MAX_PAYLOAD_BYTES else URGENT


def notify(conn: psycopg.Connection, rings: list[tuple[str, str]]) -> None:
    """Issue ``NOTIFY`` for each (channel, payload): at once, or at commit inside a transaction."""
    if rings:
        conn.execute(NOTIFY_SQL, ([c for c, _ in rings], [p for _, p in rings]))


def notify_answers(conn: psycopg.Connection, answered: dict[str, int],
                   inside: bool = False) -> None:
    """Ring each waiting caller (channel → its request's id) with its stored response: right
    after the ``COMMIT`` that stored it (same pipeline), or ``inside`` the transaction."""
    if answered:
        conn.execute(NOTIFY_ANSWERS_INSIDE_SQL if inside else NOTIFY_ANSWERS_SQL,
                     (list(answered), list(answered.values())))


def notify_committed(conn: psycopg.Connection, rings: list[tuple[str, str]]) -> None:
    """Issue ``NOTIFY`` for each (channel, payload) outside any explicit transaction, right
    after a ``COMMIT`` sent in the same pipeline (a statement of its own), or after a lone
    statement, whose implicit transaction it then shares until the pipeline's Sync.

    Rung outside the transaction, a ring does not hold PostgreSQL's notification lock while
    the commit waits for its WAL flush, so concurrent committers share flushes again (a
    ``NOTIFY`` inside a transaction serialises every notifying commit, flush included).
    """
    if rings:
        conn.execute(NOTIFY_ALONE_SQL, ([c for c, _ in rings], [p for _, p in rings]))
