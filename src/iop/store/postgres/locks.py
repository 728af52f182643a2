"""Single-instance duties across hosts (polling services, the lease sweep) on advisory locks.

A duty's lock is a session-level advisory lock held on a connection of its own: it lasts as
long as the holder's process does, and PostgreSQL frees it when that connection ends — at
once when the process dies, within ~11 s (server keepalives) when its host vanishes — so
another host's next ``take()`` gets the duty.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

import psycopg

from iop.errors import StoreError, StoreUnavailable
from iop.store.postgres.conn import first_line, is_outage


class AdvisoryDuty:
    """One duty of ``PostgresStore.duty(name)``; ``take()`` it, check it is ``held()``.

    The connection is kept between attempts, so a process waiting for a duty retries with
    one statement instead of a new connection (a server process) each time.
    """

    def __init__(self, connect: Callable[[], psycopg.Connection], key: tuple[int, int],
                 name: str) -> None:
        self.name = name
        self.key = key
        self._connect = connect
        self._conn: psycopg.Connection | None = None
        self._held = False

    def take(self) -> bool:
        """Hold the duty unless a process on any host does; True while this process holds it."""
        if self._held:
            return self.held()
        try:
            if self._conn is None or self._conn.closed or self._conn.broken:
                self._conn = self._connect()
            row = self._conn.execute("SELECT pg_try_advisory_lock(%s, %s)", self.key).fetchone()
        except psycopg.Error as exc:
            kind = StoreUnavailable if is_outage(exc, self._conn) else StoreError
            self._close()
            raise kind(f"cannot take the single-instance duty {self.name!r}: "
                       f"{first_line(exc)}") from exc
        self._held = bool(row and row[0])
        return self._held

    def held(self) -> bool:
        """Check with the server that the lock is still ours (False once its connection broke)."""
        if not self._held or self._conn is None:
            return False
        try:
            self._conn.execute("SELECT 1").fetchone()
        except psycopg.Error:
            self._close()  # the server ended the session: the lock is gone with it
            return False
        return True

    def release(self) -> None:
        """Give the duty up (idempotent) and close its connection."""
        if self._held and self._conn is not None:
            try:
                self._conn.execute("SELECT pg_advisory_unlock(%s, %s)", self.key)
            except psycopg.Error:
                pass  # closing the connection below frees it anyway
        self._close()

    def _close(self) -> None:
        conn, self._conn, self._held = self._conn, None, False
        if conn is not None:
            try:
                conn.close()
            except psycopg.Error:
                pass

    def __bool__(self) -> bool:
        return self._held

    def __enter__(self) -> AdvisoryDuty:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"<AdvisoryDuty {self.name!r} {'held' if self._held else 'not held'}>"
