"""Runtime state on SQLite: one host, so one supervisor row; single-instance duties on flock.

The methods mirror the PostgreSQL ones (postgres_runtime.py) so the engine needs no backend
test: ``list_runtimes`` shows the one row, ``fence_stale_hosts`` never finds another host.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from iop.store import records as r
from iop.store.errors import StoreError
from iop.store.private import FILE_MODE, make_private_folder

if TYPE_CHECKING:
    import sqlite3

    from iop.store.sqlite.store import SQLiteTx

_RUNTIME_COLUMNS = "production, status, supervisor_pid, host, heartbeat, requested"
_RUNTIME_FIELDS = frozenset({"production", "status", "supervisor_pid", "host", "heartbeat",
                             "requested"})
_JOB_COLUMNS = "id, item, slot, pid, host, state, started, heartbeat, processed"


def _state(row: tuple[Any, ...]) -> r.RuntimeState:
    state = r.RuntimeState(*row)
    state.age = time.time() - state.heartbeat
    return state


def _release_in(tx: SQLiteTx, owners: list[str], prefix: str) -> list[int]:
    """Inside ``tx``: free the leases and contexts held by ``owners`` or ``prefix...``."""
    marks = ",".join("?" * len(owners)) or "NULL"
    pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = tx.conn.execute(
        f"SELECT header_id, item FROM queue WHERE lease_owner IN ({marks}) "
        "OR lease_owner LIKE ? ESCAPE '\\'", [*owners, pattern]).fetchall()
    tx.conn.execute(
        "UPDATE queue SET lease_owner = NULL, lease_until = NULL "
        f"WHERE lease_owner IN ({marks}) OR lease_owner LIKE ? ESCAPE '\\'", [*owners, pattern])
    tx.conn.execute(
        "UPDATE contexts SET owner = NULL, owner_until = NULL "
        f"WHERE owner IN ({marks}) OR owner LIKE ? ESCAPE '\\'", [*owners, pattern])
    tx.items_to_wake.update({item: True for _, item in rows})
    return sorted(row[0] for row in rows)


class FileDuty:
    """A single-instance duty on one host: an exclusive ``flock`` on a file of its own,
    which the kernel frees when the holding process dies."""

    def __init__(self, folder: str, name: str) -> None:
        self.name = name
        digest = hashlib.sha1(name.encode()).hexdigest()[:20]
        self.path = os.path.join(folder, f"{digest}.lock")
        self._fd: int | None = None

    def take(self) -> bool:
        """Hold the duty unless another process does; True while this process holds it."""
        if self._fd is not None:
            return True
        try:
            make_private_folder(os.path.dirname(self.path))
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        except OSError as exc:
            raise StoreError(f"cannot take the single-instance duty {self.name!r}: "
                             f"{exc.strerror} ({self.path})") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def held(self) -> bool:
        return self._fd is not None  # a flock cannot be lost while its file stays open

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the only descriptor frees the lock

    def __bool__(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> FileDuty:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


class SQLiteRuntimeMixin:
    """Runtime-state methods of SQLiteStore."""

    path: str
    host: str

    if TYPE_CHECKING:
        @property
        def conn(self) -> sqlite3.Connection: ...
        def transaction(self, ring: bool = True) -> AbstractContextManager[SQLiteTx]: ...

    def get_runtime(self) -> r.RuntimeState:
        row = self.conn.execute(
            f"SELECT {_RUNTIME_COLUMNS} FROM runtime WHERE id = 1").fetchone()
        return _state(row) if row else r.RuntimeState()

    def list_runtimes(self) -> list[r.RuntimeState]:
        """The one supervisor row, once a supervisor has claimed it."""
        state = self.get_runtime()
        return [state] if state.host else []

    def claim_runtime(self, production: str, pid: int, host: str,
                      is_alive: Any) -> r.RuntimeState | None:
        """Become the namespace's supervisor unless a live one runs; returns the blocker if any."""
        with self.transaction() as tx:
            row = tx.conn.execute(
                f"SELECT {_RUNTIME_COLUMNS} FROM runtime WHERE id = 1").fetchone()
            current = _state(row)
            if current.live and is_alive(current):
                return current
            tx.conn.execute(
                "UPDATE runtime SET production = ?, status = 'starting', supervisor_pid = ?, "
                "host = ?, heartbeat = ?, requested = '' WHERE id = 1",
                (production, pid, host, tx.now),
            )
            tx.conn.execute("DELETE FROM jobs")
            # No job of this namespace survives its supervisor, so every lease is stale.
            tx.conn.execute("UPDATE queue SET lease_owner = NULL, lease_until = NULL")
            tx.conn.execute("UPDATE contexts SET owner = NULL, owner_until = NULL")
        return None

    def update_runtime(self, of_host: str | None = None, **fields: Any) -> None:
        """Change fields of the supervisor row (there is one, whichever host is named)."""
        if not fields:
            return
        unknown = set(fields) - _RUNTIME_FIELDS
        if unknown:
            raise StoreError(f"unknown runtime field(s): {', '.join(sorted(unknown))}")
        with self.transaction() as tx:
            sets = ", ".join(f"{k} = ?" for k in fields)
            tx.conn.execute(f"UPDATE runtime SET {sets} WHERE id = 1", list(fields.values()))

    def heartbeat_runtime(self) -> None:
        with self.transaction() as tx:
            tx.conn.execute("UPDATE runtime SET heartbeat = ? WHERE id = 1", (tx.now,))

    def put_job(self, job: r.JobRecord) -> None:
        with self.transaction() as tx:
            tx.conn.execute(
                f"INSERT OR REPLACE INTO jobs ({_JOB_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)",
                (job.id, job.item, job.slot, job.pid, job.host, job.state, job.started,
                 job.heartbeat, job.processed),
            )

    def heartbeat_job(self, job_id: str, processed: int, state: str = "running") -> None:
        with self.transaction() as tx:
            tx.conn.execute("UPDATE jobs SET heartbeat = ?, processed = ?, state = ? WHERE id = ?",
                            (tx.now, processed, state, job_id))

    def delete_job(self, job_id: str) -> None:
        with self.transaction() as tx:
            tx.conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def list_jobs(self, host: str | None = None) -> list[r.JobRecord]:
        """Every job, or only ``host``'s."""
        if host is None:
            rows = self.conn.execute(f"SELECT {_JOB_COLUMNS} FROM jobs ORDER BY item, slot")
        else:
            rows = self.conn.execute(
                f"SELECT {_JOB_COLUMNS} FROM jobs WHERE host = ? ORDER BY item, slot", (host,))
        return [r.JobRecord(*row) for row in rows]

    # ------------------------------------------------------------ recovery
    def release_host(self, host: str) -> list[int]:
        """Free the leases of every job of ``host`` and forget those jobs."""
        with self.transaction() as tx:
            owners = [row[0] for row in tx.conn.execute(
                "SELECT id FROM jobs WHERE host = ?", (host,))]
            tx.conn.execute("DELETE FROM jobs WHERE host = ?", (host,))
            return _release_in(tx, owners, host + ":")

    def fence_stale_hosts(self, stale_seconds: float) -> dict[str, list[int]]:
        """One host shares a SQLite store: there is never another host to fence."""
        return {}

    def duty(self, name: str) -> FileDuty:
        """The namespace-wide duty ``name`` (not taken yet), on a lock file next to the store."""
        return FileDuty(os.path.join(os.path.dirname(self.path), "duties"), name)
