"""Single-instance duties across hosts (polling services, lease expiry) on advisory locks.

A duty's lock is a session-level advisory lock held on a connection of its own: it lasts as
long as the holder's process does, and PostgreSQL frees it when that connection ends — at
once when the process dies, within ~11 s (server keepalives) when its host vanishes — so
another host's next ``try_singleton`` takes the duty over.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

import psycopg

from iop.store.errors import StoreError


class Singleton:
    """The outcome of ``PostgresStore.try_singleton(name)``: true while this process holds it.

    Use as ``with store.try_singleton("poll:Item") as duty: if duty: ...``; leaving the block
    (or :meth:`release`) frees the duty for another host.
    """

    def __init__(self, connect: Callable[[], psycopg.Connection], key: tuple[int, int],
                 name: str) -> None:
        self.name = name
        self.key = key
        self._conn: psycopg.Connection | None = None
        conn = connect()
        try:
            row = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", key).fetchone()
        except psycopg.Error as exc:
            conn.close()
            raise StoreError(f"cannot take the single-instance lock {name!r}: {exc}") from exc
        if row and row[0]:
            self._conn = conn
        else:
            conn.close()

    @property
    def acquired(self) -> bool:
        """Whether this process took the lock (and has not released it)."""
        return self._conn is not None

    def __bool__(self) -> bool:
        return self.acquired

    def held(self) -> bool:
        """Check with the server that the lock is still ours (False once its connection broke)."""
        if self._conn is None:
            return False
        try:
            self._conn.execute("SELECT 1").fetchone()
        except psycopg.Error:
            self.release()
            return False
        return True

    def release(self) -> None:
        """Give the duty up; idempotent."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.execute("SELECT pg_advisory_unlock(%s, %s)", self.key)
        except psycopg.Error:
            pass  # closing the connection below frees it anyway
        finally:
            conn.close()

    def __enter__(self) -> Singleton:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"<Singleton {self.name!r} {'held' if self.acquired else 'not held'}>"
