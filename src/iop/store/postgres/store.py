"""The shared store: one PostgreSQL database, a schema per namespace, any number of hosts.

Chosen by ``IOP_DATABASE_URL=postgresql://...``. Queue claims skip rows other claimers hold
(``FOR UPDATE SKIP LOCKED``), wake-ups travel as ``NOTIFY`` at commit, and single-instance
duties take advisory locks (:meth:`PostgresStore.duty`). Each thread of each process
uses its own autocommit connection; transactions are explicit.
"""

from __future__ import annotations

import json
import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg.pq import TransactionStatus

from iop.store import host_name
from iop.store import records as r
from iop.store.errors import StoreError
from iop.store.group_commit import GroupCommit, PendingSend
from iop.store.postgres.conn import connect, lock_key, redact
from iop.store.postgres.locks import AdvisoryDuty
from iop.store.postgres.query import PostgresQueries
from iop.store.postgres.runtime import RuntimeMixin
from iop.store.postgres.schema import MIGRATIONS, SCHEMA_VERSION, schema_for
from iop.store.postgres.tx import (
    CLAIM_ALONE,
    HEADER_COLUMNS,
    HEADER_COLUMNS_H,
    NOW,
    PostgresTx,
    claim_params,
    header,
    plain_claim,
)
from iop.store.queries import header_count_sql, header_list_sql
from iop.store.wakeups.pg_notify import PostgresNotifier
from iop.store.wakeups.pg_relay import relay_address

VACUUM_SECONDS = 1.0  # how often the supervisor vacuums the queue (see checkpoint)

_LOG_COLUMNS = ("type, text, item, job, session_id, message_id, source_class, source_method, "
                "time, id")


def _awaited(draft: r.MessageDraft) -> bool:
    """A request whose caller waits for its response: the response's commit, which waits
    for the WAL flush, makes the request durable too (WAL is flushed in order), and a
    request lost in a server crash before that fails its waiting caller, which never got
    an answer; so its own commit need not wait for the flush."""
    return draft.type == r.REQUEST and draft.reply_to is not None


class PostgresStore(RuntimeMixin, PostgresQueries):
    """Store backend on PostgreSQL, one schema per namespace (DESIGN.md, "The store")."""

    backend = "postgresql"
    claims_after_commit = True

    def __init__(self, url: str, namespace: str = "USER", *, host: str | None = None) -> None:
        self.url = url
        self.namespace = namespace
        self.schema = schema_for(namespace)
        self.location = redact(url)
        self.host = host or host_name()  # whose runtime row this store reads and writes
        self.lock_space = lock_key("iop", self.schema)  # first half of every advisory lock key
        self.log_lock = (self.lock_space, lock_key("log"))
        self.notifier = PostgresNotifier(self._connect, lambda: self.conn, self.schema, self.host,
                                         relay_address(url, self.schema, self.host))
        self.db_seconds = 0.0  # time spent inside write transactions, for bench/
        self._local = threading.local()
        # Connection -> pid that opened it. Weak: a thread that ends takes its connection
        # with it (closed when collected); a forked child never closes its parent's.
        self._conns: weakref.WeakKeyDictionary[psycopg.Connection, int] = \
            weakref.WeakKeyDictionary()
        self._conns_lock = threading.Lock()
        self._group = GroupCommit(self._commit_sends)
        os.register_at_fork(after_in_child=self._group.reset)
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

    def _fail(self, exc: psycopg.Error) -> StoreError:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return StoreError(f"store {self.location} (schema {self.schema}): {first}")

    def _query(self, query: Any, params: Any = None) -> list[tuple[Any, ...]]:
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

    def typed_columns(self, table: str) -> set[str] | None:
        """Columns of a PersistentMessage table known to exist (committed), if cached."""
        return self._typed.get(table)

    # ------------------------------------------------------------ transactions
    @contextmanager
    def transaction(self, durable: bool = True) -> Iterator[PostgresTx]:
        """One write transaction; its log lines and wake-ups take effect when it commits.

        Inside another transaction of this thread it becomes a savepoint of that one.
        ``durable`` False: the commit does not wait for the server's WAL flush (for writes
        whose loss in a server crash means work done again: claims, leases, heartbeats).
        """
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

    def send(self, drafts: list[r.MessageDraft], logs: list[r.LogEntry] | None = None) -> list[int]:
        """Store messages (and log lines) durably; returns their header ids.

        Concurrent callers in this process share commits (group commit): one caller at a time
        leads, committing every send queued so far; the others sleep until theirs is in, so
        a caller whose send was committed returns without waiting for the next commit.
        """
        return self._group.send(drafts, logs or [])

    def _commit_sends(self, batch: list[PendingSend]) -> list[int]:
        conn = self.conn
        if conn.info.transaction_status != TransactionStatus.IDLE:
            with self.transaction() as nested:  # inside the caller's transaction
                ids = nested.insert_messages([d for p in batch for d in p.drafts])
                nested.log([e for p in batch for e in p.logs])
            return ids
        drafts = [d for p in batch for d in p.drafts]
        tx = PostgresTx(conn, self, durable=not all(_awaited(d) for d in drafts))
        with self._sent_whole():
            ids = tx.commit_sends(drafts, [e for p in batch for e in p.logs])
        self._typed.update(tx.typed_known)
        return ids

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
                conn.execute("ROLLBACK")
            raise self._fail(exc) from exc
        finally:
            self.db_seconds += time.perf_counter() - started

    def log(self, entries: list[r.LogEntry]) -> None:
        """Append event log entries in their own transaction."""
        if entries:
            with self.transaction() as tx:
                tx.log(entries)

    # ------------------------------------------------------------ queues
    def has_work(self, item: str, owner: str | None = None) -> bool:
        """Cheap read: is anything claimable in ``item``'s queue? (``owner``: requests are
        never handed straight to a job here, so nothing is leased to one before its claim.)"""
        return bool(self._query(
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

    def queue_counts(self) -> dict[str, int]:
        """Entries waiting (or in progress) per item."""
        return {item: int(n) for item, n in self._query(
            "SELECT item, COUNT(*) FROM queue GROUP BY item")}

    def queue_stats(self) -> dict[str, tuple[int, float]]:
        """Per item: entries in its queue and when the oldest of them was queued."""
        return {item: (int(n), float(oldest)) for item, n, oldest in self._query(
            "SELECT item, COUNT(*), MIN(enqueued) FROM queue GROUP BY item")}

    def pending_sync_requests(self) -> int:
        """Synchronous requests still queued, whose callers wait for an answer."""
        return int(self._query(
            "SELECT COUNT(*) FROM queue q JOIN headers h ON h.id = q.header_id "
            "WHERE h.priority = 'sync' AND h.type = 'request'")[0][0])

    # ------------------------------------------------------------ maintenance
    def purge(self, before: float, *, bodies: bool = False,
              include_incomplete: bool = False) -> dict[str, int]:
        """Delete complete sessions and log lines older than ``before`` (epoch seconds)."""
        from iop.store.postgres import purge as postgres_purge

        return postgres_purge.purge(self, before, bodies=bodies,
                                    include_incomplete=include_incomplete)

    def checkpoint(self) -> None:
        """Vacuum the tables every message passes through (at most once a second).

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
            self.conn.execute("VACUUM (SKIP_LOCKED, TRUNCATE false) queue, contexts")
        except psycopg.Error:
            pass  # not fatal: the next tick tries again, and autovacuum runs anyway

    def compact(self) -> bool:
        """Autovacuum gives space back on PostgreSQL; nothing to do here."""
        return False

    # ------------------------------------------------------------ messages
    def get_header(self, header_id: int) -> r.Header | None:
        rows = self._query(f"SELECT {HEADER_COLUMNS} FROM headers WHERE id = %s", (header_id,))
        return header(rows[0]) if rows else None

    def get_body(self, header: r.Header) -> str | None:
        """The JSON text of a header's body."""
        if header.body_id is None:
            return None
        rows = self._query("SELECT data FROM bodies WHERE id = %s", (header.body_id,))
        return rows[0][0] if rows else None

    def find_response(self, request_id: int) -> tuple[r.Header, str | None] | None:
        """The response header written for ``request_id`` and its body text, if any."""
        rows = self._query(
            f"SELECT {HEADER_COLUMNS_H}, b.data FROM headers q JOIN headers h "
            "ON h.id = q.corresponding_id LEFT JOIN bodies b ON b.id = h.body_id "
            "WHERE q.id = %s AND h.type = 'response'", (request_id,))
        return (header(rows[0][:-1]), rows[0][-1]) if rows else None

    def query_headers(self, *, session_id: int | None = None, status: str | None = None,
                      target: str | None = None, source: str | None = None,
                      type: str | None = None, before_id: int | None = None,
                      limit: int = 100, oldest_first: bool = False) -> list[r.Header]:
        """Headers matching every given filter, newest first unless ``oldest_first``."""
        query, args = header_list_sql(
            "%s", HEADER_COLUMNS, session_id=session_id, status=status, target=target,
            source=source, type=type, before_id=before_id, limit=limit, oldest_first=oldest_first)
        return [header(row) for row in self._query(query, args)]

    def count_by_status(self, *, session_id: int | None = None, status: str | None = None,
                        target: str | None = None, source: str | None = None,
                        type: str | None = None) -> dict[str, int]:
        """Messages by status among those matching every given filter."""
        query, args = header_count_sql("%s", session_id=session_id, status=status,
                                       target=target, source=source, type=type)
        return {found: int(n) for found, n in self._query(query, args)}

    def load_context(self, context_id: int) -> r.Context | None:
        rows = self._query(
            "SELECT id, item, request_id, state, response_class, response_text, pending, replied, "
            "failed FROM contexts WHERE id = %s", (context_id,))
        return r.Context(*rows[0]) if rows else None

    # ------------------------------------------------------------ event log
    def log_since(self, last_id: int, limit: int | None = None) -> list[r.LogEntry]:
        """Entries with id greater than ``last_id``, oldest first."""
        query = f"SELECT {_LOG_COLUMNS} FROM log WHERE id > %s ORDER BY id"
        args: list[Any] = [last_id]
        if limit:
            query += " LIMIT %s"
            args.append(limit)
        return [r.LogEntry(*row) for row in self._query(query, args)]

    def log_top(self, count: int) -> list[r.LogEntry]:
        """The newest ``count`` entries, newest first."""
        return [r.LogEntry(*row) for row in self._query(
            f"SELECT {_LOG_COLUMNS} FROM log ORDER BY id DESC LIMIT %s", (count,))]

    # ------------------------------------------------------------ productions
    def save_production(self, name: str, definition: dict[str, Any]) -> None:
        text = json.dumps(definition)  # text, not jsonb: the export keeps its key order
        with self.transaction() as tx:
            tx.execute(
                "INSERT INTO productions (name, definition, updated) VALUES (%s, %s, %s) "
                "ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, "
                "updated = excluded.updated", (name, text, tx.now))

    def get_production(self, name: str) -> dict[str, Any] | None:
        rows = self._query("SELECT definition FROM productions WHERE name = %s", (name,))
        return json.loads(rows[0][0]) if rows else None

    def list_productions(self) -> list[dict[str, Any]]:
        rows = self._query(
            "SELECT name, last_start, last_stop, auto_start FROM productions ORDER BY name")
        return [{"name": n, "last_start": s, "last_stop": e, "auto_start": int(a)}
                for n, s, e, a in rows]

    def delete_production(self, name: str) -> bool:
        with self.transaction() as tx:
            return tx.execute("DELETE FROM productions WHERE name = %s", (name,)).rowcount == 1

    def mark_production(self, name: str, *, started: bool = False, stopped: bool = False,
                        applied: dict[str, Any] | None = None) -> None:
        """Record start/stop times and the definition the running supervisor applied."""
        with self.transaction() as tx:
            if started:
                tx.execute("UPDATE productions SET last_start = %s WHERE name = %s", (tx.now, name))
            if stopped:
                tx.execute("UPDATE productions SET last_stop = %s WHERE name = %s", (tx.now, name))
            if applied is not None:
                tx.execute("UPDATE productions SET applied = %s WHERE name = %s",
                           (json.dumps(applied), name))

    def get_meta(self, key: str, default: str = "") -> str:
        rows = self._query("SELECT value FROM meta WHERE key = %s", (key,))
        return rows[0][0] if rows else default

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as tx:
            tx.execute("INSERT INTO meta (key, value) VALUES (%s, %s) "
                       "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    # ------------------------------------------------------------ class registry
    def put_binding(self, b: r.Binding) -> None:
        with self.transaction() as tx:
            tx.execute(
                "INSERT INTO bindings (class_name, module, classname, classpath, kind, generated, "
                "created) VALUES (%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (class_name) DO UPDATE SET "
                "module = excluded.module, classname = excluded.classname, "
                "classpath = excluded.classpath, kind = excluded.kind, "
                "generated = excluded.generated, created = excluded.created",
                (b.class_name, b.module, b.classname, b.classpath, b.kind, bool(b.generated),
                 tx.now))

    def get_binding(self, class_name: str) -> r.Binding | None:
        rows = self._query(
            "SELECT class_name, module, classname, classpath, kind, generated FROM bindings "
            "WHERE class_name = %s", (class_name,))
        return r.Binding(*rows[0]) if rows else None

    def list_bindings(self) -> list[r.Binding]:
        return [r.Binding(*row) for row in self._query(
            "SELECT class_name, module, classname, classpath, kind, generated FROM bindings "
            "ORDER BY class_name")]

    def delete_binding(self, class_name: str) -> bool:
        with self.transaction() as tx:
            return tx.execute("DELETE FROM bindings WHERE class_name = %s",
                              (class_name,)).rowcount == 1

    def add_classpath(self, path: str) -> None:
        with self.transaction() as tx:
            tx.execute("INSERT INTO classpaths (path) VALUES (%s) ON CONFLICT (path) DO NOTHING",
                       (path,))

    def list_classpaths(self) -> list[str]:
        return [row[0] for row in self._query("SELECT path FROM classpaths ORDER BY seq")]

    # ------------------------------------------------------------ single-instance duties
    def duty(self, name: str) -> AdvisoryDuty:
        """The namespace-wide duty ``name`` (not taken yet): ``take()`` holds it unless a
        process on any host does; it is freed by ``release()`` or when its holder dies."""
        return AdvisoryDuty(lambda: connect(self.url, self.schema, keepalive=True),
                            (self.lock_space, lock_key("duty", name)), name)
