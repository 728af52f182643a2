"""Runtime state on PostgreSQL: one row per host, so several hosts can run one production.

``get_runtime``, ``update_runtime`` and ``heartbeat_runtime`` act on *this host's* row (the
store's ``host``); ``list_runtimes`` and ``list_jobs`` show every host. Heartbeats and their
ages use the database server's clock, so hosts with skewed clocks agree on who is stale.

Recovery from a dead host (``fence_stale_hosts``, ``release_host``) frees the leases its
jobs held, so the surviving hosts' jobs deliver those messages again (at-least-once).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from iop.store import records as r
from iop.store.errors import StoreError
from iop.store.postgres.conn import lock_key
from iop.store.postgres.tx import NOW

if TYPE_CHECKING:
    from iop.store.postgres.tx import PostgresTx

_RUNTIME_COLUMNS = (f"production, status, supervisor_pid, host, heartbeat, requested, "
                    f"{NOW} - heartbeat")
_RUNTIME_FIELDS = frozenset({"production", "status", "supervisor_pid", "heartbeat", "requested"})
_JOB_COLUMNS = "id, item, slot, pid, host, state, started, heartbeat, processed"
_LIVE = "status IN ('starting', 'running')"  # a supervisor runs (troubled: fenced already)


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + ":%"


def release_host_in(tx: PostgresTx, host: str) -> list[int]:
    """Inside ``tx``: free every lease and context of ``host``'s jobs, forget those jobs.

    Owners are the jobs recorded for the host and any owner named ``host:...`` (the engine's
    job id format), which covers a job that died before its row was written.
    """
    owners = [row[0] for row in tx.execute("DELETE FROM jobs WHERE host = %s RETURNING id",
                                           (host,))]
    prefix = _like_prefix(host)
    rows = tx.execute(
        "UPDATE queue SET lease_owner = NULL, lease_until = NULL "
        "WHERE lease_owner = ANY(%s::text[]) OR lease_owner LIKE %s RETURNING header_id, item",
        (owners, prefix)).fetchall()
    tx.execute("UPDATE contexts SET owner = NULL, owner_until = NULL "
               "WHERE owner = ANY(%s::text[]) OR owner LIKE %s", (owners, prefix))
    tx.items_to_wake.update({item: True for _, item in rows})
    return sorted(row[0] for row in rows)


class RuntimeMixin:
    """Runtime-state methods of PostgresStore."""

    host: str
    lock_space: int

    if TYPE_CHECKING:
        def transaction(self, durable: bool = True) -> AbstractContextManager[PostgresTx]: ...
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
                if state.host == host and state.live and is_alive(state):
                    return state
            for state in states:
                if state.host != host and state.live and state.production != production \
                        and is_alive(state):
                    return state
            tx.execute(
                "INSERT INTO runtime (host, production, status, supervisor_pid, heartbeat, "
                f"requested) VALUES (%s, %s, 'starting', %s, {NOW}, '') "
                "ON CONFLICT (host) DO UPDATE SET production = excluded.production, "
                "status = excluded.status, "
                "supervisor_pid = excluded.supervisor_pid, heartbeat = excluded.heartbeat, "
                "requested = ''", (host, production, pid))
            # No job survives its supervisor, so leases of this host's jobs are stale.
            release_host_in(tx, host)
        return None

    def update_runtime(self, of_host: str | None = None, **fields: Any) -> None:
        """Change fields of this host's runtime row (or of ``of_host``'s, if it has one)."""
        if not fields:
            return
        unknown = set(fields) - _RUNTIME_FIELDS
        if unknown:
            raise StoreError(f"unknown runtime field(s): {', '.join(sorted(unknown))}")
        host = of_host or self.host
        with self.transaction() as tx:
            if host == self.host:
                tx.execute("INSERT INTO runtime (host) VALUES (%s) ON CONFLICT (host) DO NOTHING",
                           (host,))
            sets = ", ".join(f"{k} = %s" for k in fields)
            tx.execute(f"UPDATE runtime SET {sets} WHERE host = %s", [*fields.values(), host])

    def heartbeat_runtime(self) -> None:
        """Stamp this host's row with the database's clock: its supervisor is alive."""
        with self.transaction(durable=False) as tx:
            tx.execute(f"UPDATE runtime SET heartbeat = {NOW} WHERE host = %s", (self.host,))

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
        with self.transaction(durable=False) as tx:
            tx.execute("UPDATE jobs SET heartbeat = %s, processed = %s, state = %s WHERE id = %s",
                       (tx.now, processed, state, job_id))

    def delete_job(self, job_id: str) -> None:
        with self.transaction() as tx:
            tx.execute("DELETE FROM jobs WHERE id = %s", (job_id,))

    def list_jobs(self, host: str | None = None) -> list[r.JobRecord]:
        """Every host's jobs, or only ``host``'s."""
        if host is None:
            return [r.JobRecord(*row) for row in self._query(
                f"SELECT {_JOB_COLUMNS} FROM jobs ORDER BY item, slot, host")]
        return [r.JobRecord(*row) for row in self._query(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE host = %s ORDER BY item, slot", (host,))]

    # ------------------------------------------------------------ recovery
    def release_host(self, host: str) -> list[int]:
        """Free the leases of every job of ``host`` and forget those jobs (its supervisor and
        jobs are gone); returns the header ids that will be delivered again."""
        with self.transaction() as tx:
            return release_host_in(tx, host)

    def fence_stale_hosts(self, stale_seconds: float) -> dict[str, list[int]]:
        """Mark *other* hosts whose supervisor missed heartbeats for ``stale_seconds`` as
        troubled and free their jobs' leases; host → header ids to deliver again.

        A fenced host whose supervisor was only stalled sees ``troubled`` on its own row and
        restarts its jobs; their late completions are refused (their leases are gone).
        """
        with self.transaction() as tx:
            hosts = [row[0] for row in tx.execute(
                f"UPDATE runtime SET status = 'troubled' WHERE {_LIVE} AND host <> %s "
                f"AND heartbeat < {NOW} - %s::float8 RETURNING host",
                (self.host, stale_seconds))]
            return {host: release_host_in(tx, host) for host in sorted(hosts)}
