"""Runtime state on PostgreSQL: one row per host, so several hosts can run one production.

The Store methods the engine calls (``get_runtime``, ``claim_runtime``, ``update_runtime``,
``list_jobs``) show *this host's* view: its supervisor's row and its jobs. A supervisor
starting here therefore neither resets other hosts' leases nor mistakes their supervisors
for its own; ``list_runtimes`` and ``list_all_jobs`` show every host.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from iop.store import records as r
from iop.store.errors import StoreError
from iop.store.postgres_conn import lock_key

if TYPE_CHECKING:
    from iop.store.postgres_tx import PostgresTx

_RUNTIME_COLUMNS = "production, status, supervisor_pid, host, heartbeat, requested"
_RUNTIME_FIELDS = frozenset({"production", "status", "supervisor_pid", "heartbeat", "requested"})
_JOB_COLUMNS = "id, item, slot, pid, host, state, started, heartbeat, processed"


def _live(state: r.RuntimeState) -> bool:
    return state.status not in ("stopped", "")


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + ":%"


class RuntimeMixin:
    """Runtime-state methods of PostgresStore."""

    host: str
    lock_space: int

    if TYPE_CHECKING:
        def transaction(self) -> AbstractContextManager[PostgresTx]: ...
        def _query(self, query: Any, params: Any = None) -> list[tuple[Any, ...]]: ...

    def get_runtime(self) -> r.RuntimeState:
        """This host's supervisor state (a stopped default when it never ran one)."""
        rows = self._query(f"SELECT {_RUNTIME_COLUMNS} FROM runtime WHERE host = %s", (self.host,))
        return r.RuntimeState(*rows[0]) if rows else r.RuntimeState()

    def list_runtimes(self) -> list[r.RuntimeState]:
        """Every host's supervisor state, by host name."""
        return [r.RuntimeState(*row) for row in self._query(
            f"SELECT {_RUNTIME_COLUMNS} FROM runtime ORDER BY host")]

    def claim_runtime(self, production: str, pid: int, host: str,
                      is_alive: Any) -> r.RuntimeState | None:
        """Become ``host``'s supervisor unless a live one runs there, or another host runs a
        different production; returns the blocker if any.

        Another host running the same production is no blocker: the hosts share its queues.
        Only leases of ``host``'s former jobs are reset; other hosts' jobs keep theirs.
        """
        with self.transaction() as tx:
            tx.execute("SELECT pg_advisory_xact_lock(%s, %s)",
                       (self.lock_space, lock_key("runtime")))
            states = [r.RuntimeState(*row) for row in tx.execute(
                f"SELECT {_RUNTIME_COLUMNS} FROM runtime ORDER BY host")]
            for state in states:
                if state.host == host and _live(state) and is_alive(state):
                    return state
            for state in states:
                if state.host != host and _live(state) and state.production != production \
                        and is_alive(state):
                    return state
            tx.execute(
                "INSERT INTO runtime (host, production, status, supervisor_pid, heartbeat, "
                "requested) VALUES (%s, %s, 'starting', %s, %s, '') "
                "ON CONFLICT (host) DO UPDATE SET production = excluded.production, "
                "status = excluded.status, "
                "supervisor_pid = excluded.supervisor_pid, heartbeat = excluded.heartbeat, "
                "requested = ''", (host, production, pid, tx.now))
            owners = [row[0] for row in tx.execute(
                "DELETE FROM jobs WHERE host = %s RETURNING id", (host,))]
            # No job survives its supervisor, so leases of this host's jobs are stale: those
            # recorded in jobs, and any owner named "host:..." (the engine's job id format).
            prefix = _like_prefix(host)
            tx.execute("UPDATE queue SET lease_owner = NULL, lease_until = NULL "
                       "WHERE lease_owner = ANY(%s::text[]) OR lease_owner LIKE %s",
                       (owners, prefix))
            tx.execute("UPDATE contexts SET owner = NULL, owner_until = NULL "
                       "WHERE owner = ANY(%s::text[]) OR owner LIKE %s", (owners, prefix))
        return None

    def update_runtime(self, **fields: Any) -> None:
        """Change fields of this host's runtime row."""
        if not fields:
            return
        unknown = set(fields) - _RUNTIME_FIELDS
        if unknown:
            raise StoreError(f"unknown runtime field(s): {', '.join(sorted(unknown))}")
        with self.transaction() as tx:
            tx.execute("INSERT INTO runtime (host) VALUES (%s) ON CONFLICT (host) DO NOTHING",
                       (self.host,))
            sets = ", ".join(f"{k} = %s" for k in fields)
            tx.execute(f"UPDATE runtime SET {sets} WHERE host = %s", [*fields.values(), self.host])

    def put_job(self, job: r.JobRecord) -> None:
        with self.transaction() as tx:
            tx.execute(
                f"INSERT INTO jobs ({_JOB_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s) "
                "ON CONFLICT (id) DO UPDATE SET item = excluded.item, slot = excluded.slot, "
                "pid = excluded.pid, host = excluded.host, state = excluded.state, "
                "started = excluded.started, heartbeat = excluded.heartbeat, "
                "processed = excluded.processed",
                (job.id, job.item, job.slot, job.pid, job.host, job.state, job.started,
                 job.heartbeat, job.processed))

    def heartbeat_job(self, job_id: str, processed: int, state: str = "running") -> None:
        with self.transaction() as tx:
            tx.execute("UPDATE jobs SET heartbeat = %s, processed = %s, state = %s WHERE id = %s",
                       (tx.now, processed, state, job_id))

    def delete_job(self, job_id: str) -> None:
        with self.transaction() as tx:
            tx.execute("DELETE FROM jobs WHERE id = %s", (job_id,))

    def list_jobs(self) -> list[r.JobRecord]:
        """This host's jobs."""
        return [r.JobRecord(*row) for row in self._query(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE host = %s ORDER BY item, slot", (self.host,))]

    def list_all_jobs(self) -> list[r.JobRecord]:
        """Every host's jobs."""
        return [r.JobRecord(*row) for row in self._query(
            f"SELECT {_JOB_COLUMNS} FROM jobs ORDER BY item, slot, host")]
