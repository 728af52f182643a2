"""Wake-ups between processes on any host, over PostgreSQL ``LISTEN``/``NOTIFY``.

Every job of an item, on every host, listens on the item's channel; a waiting caller listens
on a private channel named in its request's ``reply_to``. Writers issue ``NOTIFY`` inside their
transaction, so PostgreSQL delivers it at commit and never for a rolled-back write. As with
the socket notifier, wake-ups only cut latency: jobs also poll, so a lost one costs time.
"""

from __future__ import annotations

import hashlib
import select
import time
import uuid
from collections.abc import Callable, Iterable

import psycopg
from psycopg import sql

URGENT = "!"
NORMAL = "."

NOTIFY_SQL = "SELECT pg_notify(c, p) FROM unnest(%s::text[], %s::text[]) AS t(c, p)"

Connect = Callable[[], psycopg.Connection]


class PostgresListener:
    """A connection listening on one channel, that a job or a waiting caller sleeps on."""

    def __init__(self, connect: Connect, channel: str) -> None:
        self.address = channel
        self._connect = connect
        self._conn = self._listen()

    def _listen(self) -> psycopg.Connection:
        conn = self._connect()
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.address)))
        return conn

    def _read(self) -> tuple[bool, bool]:
        """(rung, urgent) over the notifications that arrived so far; never blocks."""
        pgconn = self._conn.pgconn
        pgconn.consume_input()
        rung = urgent = False
        while (note := pgconn.notifies()) is not None:
            rung = True
            urgent = urgent or note.extra == URGENT.encode()
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

    def wait(self, timeout: float, urgent_only: bool = False) -> bool:
        """Sleep until rung or ``timeout`` seconds pass; True when rung. Drains pending rings.

        With ``urgent_only`` only an urgent ring (a synchronous caller waiting) ends the wait.
        """
        deadline = time.monotonic() + max(timeout, 0)
        while True:
            remaining = deadline - time.monotonic()
            try:
                ready, _, _ = select.select([self._conn.pgconn.socket], [], [], max(remaining, 0))
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

    def fileno(self) -> int:
        return self._conn.pgconn.socket

    def close(self) -> None:
        self._conn.close()


class PostgresNotifier:
    """Rings the jobs of an item (on every host) and waiting callers of one namespace."""

    def __init__(self, connect: Connect, shared: Connect, scope: str) -> None:
        self._connect = connect  # a new connection per listener: LISTEN holds it
        self._shared = shared  # the calling thread's store connection, for NOTIFY
        self._scope = scope

    def item_channel(self, item: str) -> str:
        """The channel of ``item``'s jobs; hashed, as channel names are short identifiers."""
        digest = hashlib.sha1(f"{self._scope}\0{item}".encode()).hexdigest()[:24]
        return f"iopi_{digest}"

    def listen_item(self, item: str, slot: int) -> PostgresListener:
        """Listener for one job of ``item``; every slot on every host shares the channel."""
        return PostgresListener(self._connect, self.item_channel(item))

    def listen_private(self) -> PostgresListener:
        """Listener with a unique channel, for a caller waiting on a response."""
        return PostgresListener(self._connect, f"iopp_{uuid.uuid4().hex}")

    def item_rings(self, items: dict[str, bool]) -> list[tuple[str, str]]:
        """(channel, payload) pairs that wake ``items`` (item → urgent)."""
        return [(self.item_channel(item), URGENT if urgent else NORMAL)
                for item, urgent in items.items()]

    def ring_item(self, item: str, urgent: bool = True, slot: int | None = None) -> None:
        """Wake every job of ``item`` on every host; ``urgent`` when a caller waits.

        ``slot`` (the job a busy job asks to share its backlog) is accepted for the Notifier
        interface; all jobs share one channel here, and claims skip each other's rows.
        """
        self._notify(self.item_rings({item: urgent}))

    def ring(self, address: str) -> None:
        """Wake the caller listening on ``address`` (a listener's ``address``)."""
        self._notify([(address, URGENT)])

    def _notify(self, rings: Iterable[tuple[str, str]]) -> None:
        pairs = list(rings)
        if not pairs:
            return
        try:
            notify(self._shared(), pairs)
        except psycopg.Error:
            pass  # a lost wake-up costs latency only


def notify(conn: psycopg.Connection, rings: list[tuple[str, str]]) -> None:
    """Issue ``NOTIFY`` for each (channel, payload): at once, or at commit inside a transaction."""
    if rings:
        conn.execute(NOTIFY_SQL, ([c for c, _ in rings], [p for _, p in rings]))
