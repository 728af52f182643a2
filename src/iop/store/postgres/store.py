"""The shared store: one PostgreSQL database, a schema per namespace, any number of hosts.

Chosen by ``IOP_DATABASE_URL=postgresql://...``. Queue claims skip rows other claimers hold
(``FOR UPDATE SKIP LOCKED``), wake-ups travel as ``NOTIFY`` at commit, and single-instance
duties take advisory locks (:meth:`PostgresStore.duty`). Each thread of each process
uses its own autocommit connection; transactions are explicit.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg.pq import TransactionStatus

from iop.errors import StoreError, StoreUnavailable
from iop.messages.persistent import table_name
from iop.store import host_name
from iop.store import records as r
from iop.store.fork_reset import reset_in_forked_child
from iop.store.group_commit import PendingSend
from iop.store.postgres import purge
from iop.store.postgres.conn import connect, first_line, is_outage, lock_key, redact
from iop.store.postgres.locks import AdvisoryDuty
from iop.store.postgres.schema import MIGRATIONS, SCHEMA_VERSION, identifier, schema_for
from iop.store.postgres.tx import CLAIM_ALONE, NOW, POSTGRES, PostgresTx, claim_params, plain_claim
from iop.store.sql import SQLStore
from iop.store.wakeups.pg_notify import PostgresNotifier
from iop.store.wakeups.pg_relay import relay_address

VACUUM_SECONDS = 1.0  # how often the supervisor vacuums the queue (see checkpoint)

_RUNTIME_COLUMNS = (f"production, status, supervisor_pid, host, heartbeat, requested, "
                    f"{NOW} - heartbeat")
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


def _awaited(draft: r.MessageDraft) -> bool:
    """A request whose caller waits for its response: the response's commit, which waits
    for the WAL flush, makes the request durable too (WAL is flushed in order), and a
    request lost in a server crash before that fails its waiting caller, which never got
    an answer; so its own commit need not wait for the flush. (Before anything is
    acknowledged outside, flush_acknowledged makes sure of it anyway.)"""
    return draft.type == r.REQUEST and draft.reply_to is not None


class PostgresStore(SQLStore[PostgresTx]):
    """Store backend on PostgreSQL, one schema per namespace (DESIGN.md, "The store").

    Runtime state has one row per host, so several hosts can run one production:
    ``get_runtime``, ``update_runtime`` and ``heartbeat_runtime`` act on *this host's* row
    (the store's ``host``); ``list_runtimes`` and ``list_jobs`` show every host. Heartbeats
    and their ages use the database server's clock, so hosts with skewed clocks agree on who
    is stale. Recovery from a dead host (``fence_stale_hosts``, ``release_host``) frees the
    leases its jobs held, so the surviving hosts' jobs deliver those messages again.
    """

    backend = "postgresql"
    claims_after_commit = True
    _runtime_fields = frozenset({"production", "status", "supervisor_pid", "heartbeat",
                                 "requested"})

    def __init__(self, url: str, namespace: str = "USER", *, host: str | None = None) -> None:
        super().__init__(POSTGRES, namespace, redact(url), host or host_name())
        self.url = url
        self.schema = schema_for(namespace)
        self.lock_space = lock_key("iop", self.schema)  # first half of every advisory lock key
        self.log_lock = (self.lock_space, lock_key("log"))
        self.notifier = PostgresNotifier(self._connect, lambda: self.conn, self.schema, self.host,
                                         relay_address(url, self.schema, self.host))
        # Connection -> pid that opened it. Weak: a thread that ends takes its connection
        # with it (closed when collected); a forked child never closes its parent's.
        self._conns: weakref.WeakKeyDictionary[psycopg.Connection, int] = \
            weakref.WeakKeyDictionary()
        self._conns_lock = threading.Lock()
        reset_in_forked_child(self._group.reset)
        reset_in_forked_child(self._flushes.reset)
        self._typed: dict[str, set[str]] = {}
        self._vacuumed = 0.0  # when checkpoint() last vacuumed (monotonic)

    # ------------------------------------------------------------ connections
    def _connect(self) -> psycopg.Connection:
        return connect(self.url, self.schema)

    @property
    def conn(self) -> psycopg.Connection:
        """This thread's connection (a new one after a fork or when the old one broke)."""
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid() or conn.broken or conn.closed:
            conn = self._connect()
            self._local.conn = conn
            self._local.pid = os.getpid()
            with self._conns_lock:
                self._conns[conn] = os.getpid()
        return conn

    def _housekeeping(self) -> AbstractContextManager[PostgresTx]:
        """A transaction that does not wait for the server's WAL flush (see transaction)."""
        return self.transaction(durable=False)

    def _fail(self, exc: psycopg.Error) -> StoreError:
        """The StoreError for ``exc``: StoreUnavailable when the connection was lost or
        refused, after dropping this thread's connection (the next use opens a new one)."""
        text = f"store {self.location} (schema {self.schema}): {first_line(exc)}"
        conn = getattr(self._local, "conn", None)
        if not is_outage(exc, conn):
            return StoreError(text)
        self._drop_connection()
        return StoreUnavailable(text)

    def _drop_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None and self._local.pid == os.getpid():
            try:
                conn.close()
            except psycopg.Error:
                pass

    def _rows(self, query: Any, params: Any = None) -> list[tuple[Any, ...]]:
        """Run a read and return its rows; database errors become StoreError."""
        try:
            return self.conn.execute(query, params).fetchall()
        except psycopg.Error as exc:
            raise self._fail(exc) from exc

    def close(self) -> None:
        """Close every connection this store opened in this process (not listeners)."""
        with self._conns_lock:
            conns, self._conns = list(self._conns.items()), weakref.WeakKeyDictionary()
        for conn, pid in conns:
            if pid == os.getpid():
                conn.close()
        self._local = threading.local()

    # ------------------------------------------------------------ schema
    def initialize(self) -> int:
        """Create or upgrade the namespace's schema in place; returns the version now in force."""
        with self.transaction() as tx:
            # Two processes initialising one namespace at once take turns.
            tx.execute("SELECT pg_advisory_xact_lock(%s, %s)",
                       (self.lock_space, lock_key("schema")))
            tx.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}")
                       .format(sql.Identifier(self.schema)))
            tx.execute(MIGRATIONS[1][0])  # meta, where the version is kept
            row = tx.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            current = int(row[0]) if row else 0
            if current > SCHEMA_VERSION:
                raise StoreError(
                    f"the store {self.location} (schema {self.schema}) has schema version "
                    f"{current}, newer than this iop-engine understands ({SCHEMA_VERSION}); "
                    "upgrade iop-engine")
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[version]:
                    tx.execute(statement)
            tx.execute("INSERT INTO meta (key, value) VALUES ('schema_version', %s) "
                       "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                       (str(SCHEMA_VERSION),))
        return SCHEMA_VERSION

    def schema_version(self) -> int:
        try:
            row = self.conn.execute(
                "SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except (pg_errors.UndefinedTable, pg_errors.InvalidSchemaName):
            return 0
        except psycopg.Error as exc:
            raise self._fail(exc) from exc
        return int(row[0]) if row else 0

    def _typed_table_name(self, class_name: str) -> str:
        return identifier(table_name(class_name))

    def typed_columns(self, table: str) -> set[str] | None:
        """Columns of a PersistentMessage table known to exist (committed), if cached."""
        return self._typed.get(table)

    # ------------------------------------------------------------ transactions
    @contextmanager
    def transaction(self, durable: bool | None = None) -> Iterator[PostgresTx]:
        """One write transaction; its log lines and wake-ups take effect when it commits.

        Inside another transaction of this thread it becomes a savepoint of that one.
        ``durable`` False: the commit does not wait for the server's WAL flush (for writes
        whose loss in a server crash means work done again: claims, leases, heartbeats);
        by default it waits unless the production set FlushBeforeAcknowledge off.
        """
        if durable is None:
            durable = self.flush_before_ack
        conn = self.conn
        started = time.perf_counter()
        try:
            if conn.info.transaction_status != TransactionStatus.IDLE:
                with conn.transaction():
                    tx = PostgresTx(conn, self, begun=True)
                    yield tx
                    tx.flush_nested()
                return
            tx = PostgresTx(conn, self, durable=durable)
            try:
                yield tx
                tx.commit()
            except BaseException:
                tx.rollback()
                raise
        except psycopg.Error as exc:
            raise self._fail(exc) from exc
        finally:
            self.db_seconds += time.perf_counter() - started
        self._typed.update(tx.typed_known)

    def _commit_sends(self, batch: list[PendingSend]) -> list[int]:
        conn = self.conn
        if conn.info.transaction_status != TransactionStatus.IDLE:
            with self.transaction() as nested:  # inside the caller's transaction
                ids = nested.insert_messages([d for p in batch for d in p.drafts])
                nested.log([e for p in batch for e in p.logs])
            return ids
        drafts = [d for p in batch for d in p.drafts]
        durable = self.flush_before_ack and not all(_awaited(d) for d in drafts)
        before = self._flushes.written()
        tx = PostgresTx(conn, self, durable=durable)
        with self._sent_whole():
            ids = tx.commit_sends(drafts, [e for p in batch for e in p.logs])
        self._typed.update(tx.typed_known)
        if durable:  # its WAL flush made this process's earlier commits durable too
            self._flushes.covered(before)
        else:
            self._flushes.note_commit()
        return ids

    def _flush(self) -> None:
        """Commit a transaction that waits for the server's WAL flush: WAL is flushed in
        order, so every commit made before it, by any session, is then durable. (It takes a
        transaction id, else its commit would write no WAL and flush nothing.)"""
        with self._sent_whole() as conn:
            with conn.pipeline():
                conn.execute("BEGIN")
                # Never prepared: its text on the wire is what tests/faults checks for.
                conn.execute("SELECT set_config('synchronous_commit', 'on', true), "
                             "txid_current()", prepare=False)
                conn.execute("COMMIT")

    @contextmanager
    def _sent_whole(self) -> Iterator[psycopg.Connection]:
        """Around a transaction sent whole (pipelined, COMMIT included): its errors become
        StoreError and leave the connection idle; its time counts as database time."""
        conn = self.conn
        started = time.perf_counter()
        try:
            yield conn
        except psycopg.Error as exc:
            if conn.info.transaction_status != TransactionStatus.IDLE and not conn.broken:
                try:
                    conn.execute("ROLLBACK")
                except psycopg.Error:
                    pass  # the connection went meanwhile: _fail drops it
            raise self._fail(exc) from exc
        except IndexError as exc:
            # psycopg's pipeline can lose count of its results when the server fails a
            # pipelined transaction at its Sync (seen with an error raised at commit): the
            # transaction's fate is then unknown to us, so it counts as failed (never
            # acknowledged unsaved; a caller that sends again delivers at least once) and the
            # connection, whose protocol state is unknown too, is dropped.
            self._drop_connection()
            raise StoreError(f"store {self.location} (schema {self.schema}): the database "
                             "connection lost track of a pipelined transaction, which "
                             "counts as not committed") from exc
        finally:
            self.db_seconds += time.perf_counter() - started

    # ------------------------------------------------------------ queues
    def has_work(self, item: str, owner: str | None = None) -> bool:
        """Cheap read: is anything claimable in ``item``'s queue? (``owner``: requests are
        never handed straight to a job here, so nothing is leased to one before its claim.)"""
        return bool(self._rows(
            f"SELECT 1 FROM queue WHERE item = %s AND (lease_until IS NULL OR lease_until < {NOW}) "
            "LIMIT 1", (item,)))

    def claim(self, item: str, owner: str, limit: int, lease_seconds: float,
              check_first: bool = True, handed: bool = False) -> list[r.Delivery]:
        """Lease up to ``limit`` of the oldest claimable entries of ``item``'s queue.
        (``handed``: nothing is handed straight to a job on PostgreSQL.)"""
        if check_first and not self.has_work(item):
            return []
        with self._sent_whole() as conn:
            cursor = conn.execute(CLAIM_ALONE, claim_params(item, owner, limit, lease_seconds))
            found = plain_claim(cursor.fetchall())
        if found is not None:
            return found
        with self.transaction(durable=False) as tx:
            return tx.claim_with_contexts(item, owner, limit, lease_seconds)

    def extend_leases(self, owner: str, lease_seconds: float) -> None:
        """Keep the leases of a live job from expiring."""
        with self.transaction(durable=False) as tx:
            tx.execute(f"UPDATE queue SET lease_until = {NOW} + %s::float8 WHERE lease_owner = %s",
                       (lease_seconds, owner))
            tx.execute(f"UPDATE contexts SET owner_until = {NOW} + %s::float8 WHERE owner = %s",
                       (lease_seconds, owner))

    def release_leases(self, owner: str) -> list[int]:
        """Make a dead job's entries claimable again; returns the header ids released."""
        with self.transaction() as tx:
            rows = tx.execute(
                "UPDATE queue SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = %s "
                "RETURNING header_id, item", (owner,)).fetchall()
            tx.execute("UPDATE contexts SET owner = NULL, owner_until = NULL WHERE owner = %s",
                       (owner,))
            tx.items_to_wake.update({item: True for _, item in rows})
        return sorted(row[0] for row in rows)

    # ------------------------------------------------------------ maintenance
    def _purge_sessions(self, tx: PostgresTx, sessions: list[int], before: float,
                        bodies: bool, include_incomplete: bool, counts: dict[str, int]) -> None:
        purge.purge_sessions(tx, sessions, before, bodies, include_incomplete, counts)

    _counts_source = ("(SELECT item, side, status, n, last FROM item_counts UNION ALL "
                      "SELECT item, side, status, n, last FROM item_count_deltas) AS counts")
    _rate_source = ("(SELECT minute, n, errors FROM message_rate UNION ALL "
                    "SELECT minute, n, errors FROM message_rate_deltas) AS rate")

    def _compact_counters(self, tx: PostgresTx) -> None:
        self._fold_counters(tx)

    def _fold_counters(self, tx: PostgresTx) -> None:
        """Inside ``tx``: move the counters' deltas (appended by the headers' trigger) into
        their totals. One folder at a time (another one running: skip, it does the work);
        deltas of transactions not committed yet are not seen, so they wait for the next."""
        took = tx.execute("SELECT pg_try_advisory_xact_lock(%s, %s)",
                          (self.lock_space, lock_key("counters"))).fetchone()
        if not took or not took[0]:
            return
        tx.execute("""
            WITH gone AS (DELETE FROM item_count_deltas RETURNING item, side, status, n, last)
            INSERT INTO item_counts AS c (item, side, status, n, last)
            SELECT item, side, status, SUM(n), MAX(last) FROM gone
            GROUP BY item, side, status ORDER BY item, side, status
            ON CONFLICT (item, side, status)
            DO UPDATE SET n = c.n + excluded.n, last = GREATEST(c.last, excluded.last)""")
        tx.execute("""
            WITH gone AS (DELETE FROM message_rate_deltas RETURNING minute, n, errors)
            INSERT INTO message_rate AS m (minute, n, errors)
            SELECT minute, SUM(n), SUM(errors) FROM gone GROUP BY minute ORDER BY minute
            ON CONFLICT (minute)
            DO UPDATE SET n = m.n + excluded.n, errors = m.errors + excluded.errors""")

    def fold_counters(self) -> None:
        """Fold the monitor's counter deltas into their totals (the supervisor's tick)."""
        with self.transaction() as tx:
            self._fold_counters(tx)

    def checkpoint(self, routine: bool = False) -> None:
        """Fold the monitor's counter deltas, and vacuum the tables every message passes
        through, the counters included (at most once a second; ``routine`` changes nothing
        here).

        The server checkpoints its own WAL, but its autovacuum looks at a table once a
        minute at best, while each message leaves two or three dead row versions in the
        queue: a claim's scan would wade through a minute of them. Vacuuming these small
        tables often keeps claims cheap and costs milliseconds (no truncation, which needs a
        lock that would stall claims; a table another vacuum holds is skipped)."""
        now = time.monotonic()
        if now - self._vacuumed < VACUUM_SECONDS:
            return
        self._vacuumed = now
        try:
            self.fold_counters()
            self.conn.execute("VACUUM (SKIP_LOCKED, TRUNCATE false) queue, contexts, "
                              "item_counts, message_rate")
            # The deltas' pages are given back (a read scans the whole table): the truncation
            # waits for nobody, and holds off the trigger's appends for a moment at most.
            self.conn.execute("VACUUM (SKIP_LOCKED) item_count_deltas, message_rate_deltas")
        except (psycopg.Error, StoreError):
            pass  # not fatal: the next tick tries again, and autovacuum runs anyway

    def compact(self) -> bool:
        """Autovacuum gives space back on PostgreSQL; nothing to do here."""
        return False

    # ------------------------------------------------------------ runtime state
    def get_runtime(self) -> r.RuntimeState:
        """This host's supervisor state (a stopped default when it never ran one)."""
        rows = self._rows(f"SELECT {_RUNTIME_COLUMNS} FROM runtime WHERE host = %s", (self.host,))
        return r.RuntimeState(*rows[0]) if rows else r.RuntimeState()

    def list_runtimes(self) -> list[r.RuntimeState]:
        """Every host's supervisor state, by host name."""
        return [r.RuntimeState(*row) for row in self._rows(
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

    def _runtime_row(self, tx: PostgresTx, of_host: str | None) -> tuple[str, list[Any]]:
        """This host's row (made if it has none yet), or ``of_host``'s if it has one."""
        host = of_host or self.host
        if host == self.host:
            tx.execute("INSERT INTO runtime (host) VALUES (%s) ON CONFLICT (host) DO NOTHING",
                       (host,))
        return "host = ?", [host]

    def heartbeat_runtime(self) -> None:
        """Stamp this host's row with the database's clock: its supervisor is alive."""
        with self.transaction(durable=False) as tx:
            tx.execute(f"UPDATE runtime SET heartbeat = {NOW} WHERE host = %s", (self.host,))

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

    # ------------------------------------------------------------ single-instance duties
    def duty(self, name: str) -> AdvisoryDuty:
        """The namespace-wide duty ``name`` (not taken yet): ``take()`` holds it unless a
        process on any host does; it is freed by ``release()`` or when its holder dies."""
        return AdvisoryDuty(lambda: connect(self.url, self.schema, keepalive=True),
                            (self.lock_space, lock_key("duty", name)), name)
