"""The embedded store: one SQLite database per namespace, WAL mode, fair cross-process writes.

Writers queue on an ``flock`` held for the length of each transaction, so the kernel puts
them to sleep and wakes them in turn; SQLite's own busy handler (sleep and retry) is known
to starve a writer when another process commits in a tight loop.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from iop.store import host_name
from iop.store import records as r
from iop.store.errors import StoreError
from iop.store.group_commit import GroupCommit, PendingSend
from iop.store.private import create_private_file, make_private_folder
from iop.store.queries import header_count_sql, header_list_sql
from iop.store.sqlite.query import SQLiteQueries
from iop.store.sqlite.runtime import SQLiteRuntimeMixin
from iop.store.sqlite.schema import MIGRATIONS, SCHEMA_VERSION
from iop.store.wakeups.sockets import SocketNotifier

_HEADER_COLUMNS = (
    "id, session_id, corresponding_id, source, target, body_class, body_id, type, priority, "
    "status, error, created, processed, attempts, reply_to, response_required, context_id, "
    "completion_key, description"
)


# Typed tables known to exist (with these columns) per store file, to skip PRAGMA lookups.
_typed_tables: dict[tuple[str, str], set[str]] = {}

_HEADER_COLUMNS_H = ", ".join("h." + c.strip() for c in _HEADER_COLUMNS.split(","))

_INSERT_HEADER = (
    "INSERT INTO headers (id, session_id, corresponding_id, source, target, body_class, "
    "body_id, type, priority, status, error, created, processed, attempts, reply_to, "
    "response_required, context_id, completion_key, description) "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")

# A synchronous request handed straight to a sleeping job is leased to it this long (the
# job extends its leases while it lives, as it does for what it claims).
HANDOFF_LEASE_SECONDS = 60.0
# Pages (of 2 KB: 128 MB) the WAL may hold before a committing process checkpoints it; while
# a production runs its supervisor checkpoints long before (SQLiteStore.checkpoint).
WAL_AUTOCHECKPOINT_PAGES = 65536
HANDOFF_MAX_BODY = 8 * 1024  # characters; larger requests are queued and claimed as usual

# Reserve a sleeping job of an item for a hand-over: (slot, job id), or None.
Reserve = Callable[[str], "tuple[int, str] | None"]


def _header(row: tuple[Any, ...]) -> r.Header:
    h = r.Header(*row)
    h.response_required = bool(h.response_required)
    return h


class SQLiteTx:
    """Writes made inside one transaction; wake-ups are rung after it commits."""

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        self.conn = conn
        self.path = path
        self.items_to_wake: dict[str, bool] = {}  # item -> urgent (a caller waits)
        self.addresses_to_wake: set[str] = set()
        self.lost_at_commit = 0  # completions are never deferred here
        # A waiting caller's response travels with its ring, sparing the caller a read.
        self.replies: dict[str, tuple[r.Header, str | None]] = {}
        # Set for a sender's transaction: synchronous requests may go straight to a job.
        self.reserve: Reserve | None = None
        self.handoffs: list[tuple[int, str, r.Delivery]] = []  # (slot, job id, delivery)
        self.now = time.time()
        self._next_id: int | None = None

    def _next_header_id(self) -> int:
        # Under the write lock ids can be handed out here, so a new session's id (its first
        # message's id) is known before the insert instead of patched in afterwards.
        if self._next_id is None:
            row = self.conn.execute("SELECT max(id) FROM headers").fetchone()
            self._next_id = (row[0] or 0) + 1
        header_id = self._next_id
        self._next_id += 1
        return header_id

    def insert_message(self, d: r.MessageDraft) -> int:
        """Store header and body, and queue the header for its target when asked."""
        return self.insert_messages([d])[0]

    def insert_messages(self, drafts: list[r.MessageDraft]) -> list[int]:
        """Store many messages with one statement per table (a group commit's batch)."""
        ids = [self._next_header_id() for _ in drafts]
        for header_id, d in zip(ids, drafts, strict=True):
            d.header_id = header_id
        now = self.now
        bodies, headers, queue, answered = [], [], [], []
        # (A draft object may stand twice in one batch: ids come from the loop, not the draft.)
        handed: list[tuple[int, str, r.MessageDraft, int]] = []
        for header_id, d in zip(ids, drafts, strict=True):
            body_id = d.body_id_for(header_id)
            if body_id is not None:
                bodies.append((body_id, d.body_class, d.body_text))
            reserved = self._reserve_for(d) if d.enqueue else None
            status, attempts = (r.DELIVERED, 1) if reserved else (d.status, 0)
            headers.append((
                header_id, d.session_for(header_id), d.corresponding_id, d.source, d.target,
                d.body_class, body_id, d.type, d.priority, status, d.error, now,
                now if status in (r.COMPLETED, r.ERROR, r.DISCARDED) else None, attempts,
                d.reply_to, int(d.response_required), d.context_id, d.completion_key,
                d.description))
            if d.type == r.RESPONSE and d.corresponding_id is not None:
                # Request and response name each other (as IRIS's CorrespondingMessageId
                # does), so a waiting caller finds its response by primary key.
                answered.append((header_id, d.corresponding_id))
            if reserved:
                handed.append((*reserved, d, header_id))
            elif d.enqueue:
                queue.append((d.target, header_id,
                              d.context_id if d.type == r.RESPONSE else None, now))
                urgent = d.priority == r.SYNC or self.items_to_wake.get(d.target, False)
                self.items_to_wake[d.target] = urgent
        c = self.conn
        if bodies:
            c.executemany("INSERT INTO bodies (id, class_name, data) VALUES (?, ?, ?)", bodies)
        c.executemany(_INSERT_HEADER, headers)
        if answered:
            c.executemany("UPDATE headers SET corresponding_id = ? WHERE id = ?", answered)
        for header_id, d in zip(ids, drafts, strict=True):
            if d.typed is not None and d.has_body():
                self._insert_typed(header_id, *d.typed)
        if queue:
            c.executemany("INSERT INTO queue (item, header_id, context_id, enqueued) "
                          "VALUES (?, ?, ?, ?)", queue)
        for slot, owner, d, header_id in handed:
            queue_id = c.execute(
                "INSERT INTO queue (item, header_id, context_id, enqueued, lease_owner, "
                "lease_until, attempts) VALUES (?, ?, NULL, ?, ?, ?, 1)",
                (d.target, header_id, now, owner, now + HANDOFF_LEASE_SECONDS)).lastrowid
            header = d.stored_header(header_id, now, d.body_id_for(header_id))
            header.status, header.attempts = r.DELIVERED, 1
            assert queue_id is not None
            self.handoffs.append((slot, owner, r.Delivery(queue_id, header, d.body_text, 1)))
        return ids

    def _reserve_for(self, d: r.MessageDraft) -> tuple[int, str] | None:
        """A sleeping job to hand this synchronous request to, when it qualifies."""
        if self.reserve is None or d.priority != r.SYNC or d.type != r.REQUEST \
                or d.context_id is not None \
                or (d.body_text is not None and len(d.body_text) > HANDOFF_MAX_BODY):
            return None
        return self.reserve(d.target)

    def _insert_typed(self, body_id: int, table: str, types: dict[str, str],
                      values: dict[str, Any]) -> None:
        # Schema mode "extend": a new field adds a column; nothing is ever dropped.
        known = _typed_tables.get((self.path, table))
        if known is None or not set(types) <= known:
            existing = {row[1] for row in self.conn.execute(f'PRAGMA table_info("{table}")')}
            if not existing:
                self.conn.execute(f'CREATE TABLE "{table}" (body_id INTEGER PRIMARY KEY)')
                existing = {"body_id"}
            for column, sql_type in types.items():
                if column not in existing:
                    self.conn.execute(f'ALTER TABLE "{table}" ADD COLUMN "{column}" {sql_type}')
                    existing.add(column)
            known = _typed_tables[(self.path, table)] = existing
        names = list(values)
        self.conn.execute(
            f'INSERT INTO "{table}" (body_id, {", ".join(chr(34) + n + chr(34) for n in names)}) '
            f"VALUES (?{', ?' * len(names)})",
            [body_id, *values.values()],
        )

    def finish_delivery(self, queue_id: int, owner: str) -> bool:
        """Remove a claimed queue entry; False when the lease was lost to another job."""
        cur = self.conn.execute(
            "DELETE FROM queue WHERE id = ? AND lease_owner = ?", (queue_id, owner)
        )
        return cur.rowcount == 1

    def complete_delivery(self, queue_id: int, owner: str, header_id: int, status: str | None,
                          error: str | None = None, answer: r.MessageDraft | None = None,
                          defer: bool = False) -> tuple[bool, bool]:
        """:meth:`finish_delivery`, then (``status`` given, and the lease still held)
        :meth:`set_status`: (finished, status set); and ``answer`` stored when finished
        (discarded when the status was not set: its caller gave up). (``defer``: nothing to
        gain here, where every statement is in-process: done at once.)"""
        if not self.finish_delivery(queue_id, owner):
            return False, False
        status_set = status is not None and self.set_status(header_id, status, error)
        if answer is not None:
            if not status_set:
                answer.status = r.DISCARDED
            self.insert_message(answer)
        return True, status_set

    def change_status(self, header_id: int, expected: str, status: str,
                      error: str | None = None) -> bool:
        """Move a header from ``expected`` to ``status``; False when it is not ``expected``."""
        cur = self.conn.execute("UPDATE headers SET status = ?, error = COALESCE(?, error), "
                                "processed = ? WHERE id = ? AND status = ?",
                                (status, error, self.now, header_id, expected))
        return cur.rowcount == 1

    def requeue(self, header_id: int) -> bool:
        """Put a suspended request back at the end of its target's queue."""
        row = self.conn.execute("SELECT target FROM headers WHERE id = ? AND status = 'suspended'",
                                (header_id,)).fetchone()
        if row is None:
            return False
        self.conn.execute("UPDATE headers SET status = 'queued', processed = NULL WHERE id = ?",
                          (header_id,))
        self.conn.execute("INSERT INTO queue (item, header_id, context_id, enqueued) "
                          "VALUES (?, ?, NULL, ?)", (row[0], header_id, self.now))
        self.items_to_wake.setdefault(row[0], False)
        return True

    def release_delivery(self, queue_id: int, header_id: int, owner: str) -> bool:
        """Put a claimed entry back at its place in the queue, claimable again."""
        cur = self.conn.execute("UPDATE queue SET lease_owner = NULL, lease_until = NULL "
                                "WHERE id = ? AND lease_owner = ?", (queue_id, owner))
        if cur.rowcount != 1:
            return False
        self.conn.execute("UPDATE headers SET status = 'queued' WHERE id = ? "
                          "AND status = 'delivered'", (header_id,))
        return True

    def set_status(self, header_id: int, status: str, error: str | None = None) -> bool:
        """Record a header's new status; False when its caller had timed out (status kept)."""
        cur = self.conn.execute(
            "UPDATE headers SET status = ?, error = COALESCE(?, error), processed = ? "
            "WHERE id = ? AND NOT (status = 'error' AND error LIKE ?)",
            (status, error, self.now, header_id, r.TIMED_OUT + "%"),
        )
        return cur.rowcount == 1

    def save_context(self, ctx: r.Context) -> None:
        """Insert or replace a business process context, releasing its owner."""
        self.conn.execute(
            "INSERT OR REPLACE INTO contexts (id, item, request_id, state, response_class, "
            "response_text, pending, replied, failed, owner, owner_until, updated) "
            "VALUES (?,?,?,?,?,?,?,?,?,NULL,NULL,?)",
            (ctx.id, ctx.item, ctx.request_id, ctx.state, ctx.response_class, ctx.response_text,
             ctx.pending, int(ctx.replied), ctx.failed, self.now),
        )

    def delete_context(self, context_id: int) -> None:
        """Forget a finished business process instance."""
        self.conn.execute("DELETE FROM contexts WHERE id = ?", (context_id,))

    def log(self, entries: list[r.LogEntry]) -> None:
        """Append event log entries."""
        if entries:
            self.conn.executemany(
                "INSERT INTO log (time, type, item, job, session_id, message_id, source_class, "
                "source_method, text) VALUES (?,?,?,?,?,?,?,?,?)",
                [(e.time, e.type, e.item, e.job, e.stored_session(), e.message_id,
                  e.source_class, e.source_method, e.text) for e in entries],
            )

    def claim_at_commit(self, item: str, owner: str, limit: int,
                        lease_seconds: float) -> list[r.Delivery]:
        """The next batch, claimed in this transaction (known at once here)."""
        return self.claim(item, owner, limit, lease_seconds)

    def claim(self, item: str, owner: str, limit: int, lease_seconds: float,
              handed: bool = False) -> list[r.Delivery]:
        """Lease up to ``limit`` of the oldest claimable entries of ``item``'s queue.

        ``handed``: also take the requests handed to ``owner`` whose hand-over it never
        received (only right for a job that holds nothing else: they are all it leases).
        """
        now = self.now
        rows = self.conn.execute(
            "SELECT q.id, q.header_id, q.attempts, q.context_id, q.lease_owner FROM queue q "
            "LEFT JOIN contexts c ON c.id = q.context_id "
            "WHERE q.item = ? AND (q.lease_until IS NULL OR q.lease_until < ? "
            "OR q.lease_owner = ?) "
            "AND (c.owner IS NULL OR c.owner_until < ?) ORDER BY q.id LIMIT ?",
            (item, now, owner if handed else None, now, limit),
        ).fetchall()
        if not rows:
            return []
        taken = []
        contexts: set[int] = set()
        for queue_id, header_id, attempts, context_id, leased_to in rows:
            if context_id is not None:
                # One response per business process instance at a time.
                if context_id in contexts:
                    continue
                contexts.add(context_id)
            # A hand-over to this owner was counted as an attempt when it was made.
            taken.append((queue_id, header_id, attempts if leased_to == owner else attempts + 1))
        until = now + lease_seconds
        self.conn.executemany(
            "UPDATE queue SET lease_owner = ?, lease_until = ?, attempts = ? WHERE id = ?",
            [(owner, until, att, qid) for qid, _, att in taken],
        )
        if contexts:
            self.conn.executemany(
                "UPDATE contexts SET owner = ?, owner_until = ? WHERE id = ?",
                [(owner, until, cid) for cid in contexts],
            )
        self.conn.executemany(
            "UPDATE headers SET status = 'delivered', attempts = ? WHERE id = ? "
            "AND status IN ('queued', 'delivered')",
            [(att, hid) for _, hid, att in taken],
        )
        marks = ",".join("?" * len(taken))
        found = {
            row[0]: row
            for row in self.conn.execute(
                f"SELECT {_HEADER_COLUMNS_H}, b.data FROM headers h "
                f"LEFT JOIN bodies b ON b.id = h.body_id WHERE h.id IN ({marks})",
                [hid for _, hid, _ in taken],
            )
        }
        return [
            r.Delivery(queue_id=qid, header=_header(found[hid][:-1]), body_text=found[hid][-1],
                       attempts=att)
            for qid, hid, att in taken if hid in found
        ]

    def wake_address(self, address: str | None, reply: r.MessageDraft | None = None) -> None:
        """Ring a waiting caller once the transaction commits, with ``reply`` (a response
        inserted in this transaction) when given."""
        if address:
            self.addresses_to_wake.add(address)
            if reply is not None and reply.header_id is not None:
                header_id = reply.header_id
                self.replies[address] = (
                    reply.stored_header(header_id, self.now, reply.body_id_for(header_id)),
                    reply.body_text)


class SQLiteStore(SQLiteQueries, SQLiteRuntimeMixin):
    """Store backend on one SQLite file per namespace (DESIGN.md, "The store")."""

    backend = "sqlite"
    claims_after_commit = False

    def __init__(self, path: str, namespace: str = "USER") -> None:
        self.path = os.path.abspath(path)
        self.namespace = namespace
        self.location = self.path
        self.host = host_name()
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._group = GroupCommit(self._commit_sends)
        self._lock_path = self.path + ".lock"
        self.notifier = SocketNotifier(self.path, os.path.join(os.path.dirname(self.path), "wake"))
        self.db_seconds = 0.0  # time spent inside write transactions, for bench/
        os.register_at_fork(after_in_child=self._forget_connections)

    # ------------------------------------------------------------ connections
    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (connections are never shared between threads)."""
        try:
            return self._local.conn  # type: ignore[no-any-return]
        except AttributeError:
            conn = self._local.conn = self._connect()
            return conn

    def _connect(self) -> sqlite3.Connection:
        try:
            make_private_folder(os.path.dirname(self.path))
            create_private_file(self.path)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                   timeout=30)
            # Smaller pages mean fewer bytes of WAL per small message (applies to new files).
            conn.execute("PRAGMA page_size=2048")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=OFF")
            conn.execute("PRAGMA cache_size=-16000")
            conn.execute("PRAGMA mmap_size=268435456")
            # Writers leave the WAL to a running production's supervisor (checkpoint()):
            # a checkpoint in a committing process stalls its caller for its fsyncs. This
            # larger limit only keeps the WAL bounded when no production runs.
            conn.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the store {self.path}: {exc}") from exc
        return conn

    def _lock_fd(self) -> int:
        try:
            return self._local.lock_fd  # type: ignore[no-any-return]
        except AttributeError:
            fd = self._local.lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            return fd

    def _forget_connections(self) -> None:
        # In a forked child the parent's connections must not be used: start afresh.
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._group.reset()

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
        fd = getattr(self._local, "lock_fd", None)
        if fd is not None:
            os.close(fd)
        self._local = threading.local()

    # ------------------------------------------------------------ schema
    def initialize(self) -> int:
        """Create or upgrade the schema in place; returns the version now in force."""
        with self.transaction() as tx:
            tx.conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            row = tx.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            current = int(row[0]) if row else 0
            if current > SCHEMA_VERSION:
                raise StoreError(
                    f"the store {self.path} has schema version {current}, newer than this "
                    f"iop-engine understands ({SCHEMA_VERSION}); upgrade iop-engine"
                )
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[version].split(";"):
                    if statement.strip():
                        tx.conn.execute(statement)
            tx.conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
        return SCHEMA_VERSION

    def schema_version(self) -> int:
        try:
            row = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.OperationalError:
            return 0
        return int(row[0]) if row else 0

    # ------------------------------------------------------------ transactions
    @contextmanager
    def transaction(self, ring: bool = True) -> Iterator[SQLiteTx]:
        """One write transaction, serialised fairly across processes and threads.

        Wake-ups it asked for are rung after it commits (by the caller when ``ring`` is False).
        """
        conn = self.conn
        fd = self._lock_fd()
        with self._write_lock:
            fcntl.flock(fd, fcntl.LOCK_EX)
            started = time.perf_counter()
            try:
                conn.execute("BEGIN IMMEDIATE")
                tx = SQLiteTx(conn, self.path)
                try:
                    yield tx
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"store {self.path}: {exc}") from exc
            finally:
                self.db_seconds += time.perf_counter() - started
                fcntl.flock(fd, fcntl.LOCK_UN)
        if ring:
            self._ring(tx)

    def _ring(self, tx: SQLiteTx) -> None:
        for slot, owner, delivery in tx.handoffs:
            if not self.notifier.hand_over(delivery.header.target, slot, delivery):
                self._take_back(delivery, owner)
        for item, urgent in tx.items_to_wake.items():
            self.notifier.ring_item(item, urgent)
        for address in tx.addresses_to_wake:
            self.notifier.ring(address, tx.replies.get(address))

    def send(self, drafts: list[r.MessageDraft], logs: list[r.LogEntry] | None = None) -> list[int]:
        """Store messages (and log lines) durably; returns their header ids.

        Concurrent callers in this process share commits (group commit).
        """
        return self._group.send(drafts, logs or [])

    def _take_back(self, delivery: r.Delivery, owner: str) -> None:
        """A hand-over could not be sent (the job ended): queue the request for any job."""
        with self.transaction() as tx:
            released = tx.release_delivery(delivery.queue_id, delivery.header.id, owner)
            if released:
                tx.conn.execute("UPDATE queue SET attempts = 0 WHERE id = ?",
                                (delivery.queue_id,))
                tx.conn.execute("UPDATE headers SET attempts = 0 WHERE id = ?",
                                (delivery.header.id,))
                tx.items_to_wake[delivery.header.target] = True

    def _commit_sends(self, batch: list[PendingSend]) -> list[int]:
        reserved: list[tuple[str, int]] = []

        def reserve(item: str) -> tuple[int, str] | None:
            found = self.notifier.reserve(item)
            if found is not None:
                reserved.append((item, found[0]))
            return found

        try:
            with self.transaction(ring=False) as tx:
                tx.reserve = reserve
                ids = tx.insert_messages([d for item in batch for d in item.drafts])
                logs = [e for item in batch for e in item.logs]
                if logs:
                    tx.log(logs)
        except BaseException:
            for item, slot in reserved:
                self.notifier.unreserve(item, slot)
            raise
        self._ring(tx)  # after the write lock is released
        return ids

    def log(self, entries: list[r.LogEntry]) -> None:
        """Append event log entries in their own transaction."""
        if entries:
            with self.transaction() as tx:
                tx.log(entries)

    # ------------------------------------------------------------ queues
    def has_work(self, item: str, owner: str | None = None) -> bool:
        """Cheap read: is anything claimable in ``item``'s queue (or handed to ``owner``)?"""
        row = self.conn.execute(
            "SELECT 1 FROM queue WHERE item = ? AND (lease_until IS NULL OR lease_until < ? "
            "OR lease_owner = ?) LIMIT 1",
            (item, time.time(), owner),
        ).fetchone()
        return row is not None

    def claim(self, item: str, owner: str, limit: int, lease_seconds: float,
              check_first: bool = True, handed: bool = False) -> list[r.Delivery]:
        """Lease up to ``limit`` of the oldest claimable entries of ``item``'s queue
        (``handed``: see :meth:`SQLiteTx.claim`)."""
        if check_first and not self.has_work(item, owner if handed else None):
            return []
        with self.transaction() as tx:
            return tx.claim(item, owner, limit, lease_seconds, handed)

    def extend_leases(self, owner: str, lease_seconds: float) -> None:
        """Keep the leases of a live job from expiring."""
        with self.transaction() as tx:
            until = tx.now + lease_seconds
            tx.conn.execute("UPDATE queue SET lease_until = ? WHERE lease_owner = ?", (until, owner))
            tx.conn.execute("UPDATE contexts SET owner_until = ? WHERE owner = ?", (until, owner))

    def release_leases(self, owner: str) -> list[int]:
        """Make a dead job's entries claimable again; returns the header ids released."""
        with self.transaction() as tx:
            ids = [row[0] for row in tx.conn.execute(
                "SELECT header_id FROM queue WHERE lease_owner = ?", (owner,))]
            tx.conn.execute(
                "UPDATE queue SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?",
                (owner,),
            )
            tx.conn.execute(
                "UPDATE contexts SET owner = NULL, owner_until = NULL WHERE owner = ?", (owner,)
            )
            items = [row[0] for row in tx.conn.execute(
                "SELECT DISTINCT item FROM queue WHERE lease_owner IS NULL")]
            tx.items_to_wake.update({item: True for item in items})
        return ids

    def queue_counts(self) -> dict[str, int]:
        """Entries waiting (or in progress) per item."""
        return dict(self.conn.execute("SELECT item, COUNT(*) FROM queue GROUP BY item").fetchall())

    def queue_stats(self) -> dict[str, tuple[int, float]]:
        """Per item: entries in its queue and when the oldest of them was queued."""
        return {item: (count, oldest) for item, count, oldest in self.conn.execute(
            "SELECT item, COUNT(*), MIN(enqueued) FROM queue GROUP BY item")}

    def pending_sync_requests(self) -> int:
        """Synchronous requests still queued, whose callers wait for an answer."""
        return int(self.conn.execute(
            "SELECT COUNT(*) FROM queue q JOIN headers h ON h.id = q.header_id "
            "WHERE h.priority = 'sync' AND h.type = 'request'").fetchone()[0])

    # ------------------------------------------------------------ maintenance
    def purge(self, before: float, *, bodies: bool = False,
              include_incomplete: bool = False) -> dict[str, int]:
        """Delete complete sessions and log lines older than ``before`` (epoch seconds)."""
        from iop.store.sqlite import purge as sqlite_purge

        return sqlite_purge.purge(self, before, bodies=bodies,
                                  include_incomplete=include_incomplete)

    def checkpoint(self) -> None:
        """Copy committed WAL pages into the database file, without waiting for (or holding
        off) any writer or reader; the next writer then starts the WAL afresh."""
        try:
            self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.DatabaseError:
            pass  # busy (another checkpoint runs) or unreadable: the next tick tries again

    def compact(self) -> bool:
        """Give free pages back to the file system when many are free; True when it did."""
        from iop.store.sqlite import purge as sqlite_purge

        return sqlite_purge.compact(self)

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold every writer of the store off, outside any transaction (for VACUUM)."""
        fd = self._lock_fd()
        with self._write_lock:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    # ------------------------------------------------------------ messages
    def get_header(self, header_id: int) -> r.Header | None:
        row = self.conn.execute(
            f"SELECT {_HEADER_COLUMNS} FROM headers WHERE id = ?", (header_id,)
        ).fetchone()
        return _header(row) if row else None

    def get_body(self, header: r.Header) -> str | None:
        """The JSON text of a header's body."""
        if header.body_id is None:
            return None
        row = self.conn.execute("SELECT data FROM bodies WHERE id = ?", (header.body_id,)).fetchone()
        return row[0] if row else None

    def find_response(self, request_id: int) -> tuple[r.Header, str | None] | None:
        """The response header written for ``request_id`` and its body text, if any."""
        row = self.conn.execute(
            f"SELECT {_HEADER_COLUMNS_H}, b.data FROM headers q JOIN headers h "
            "ON h.id = q.corresponding_id LEFT JOIN bodies b ON b.id = h.body_id "
            "WHERE q.id = ? AND h.type = 'response'",
            (request_id,),
        ).fetchone()
        return (_header(row[:-1]), row[-1]) if row else None

    def query_headers(self, *, session_id: int | None = None, status: str | None = None,
                      target: str | None = None, source: str | None = None,
                      type: str | None = None, before_id: int | None = None,
                      limit: int = 100, oldest_first: bool = False) -> list[r.Header]:
        """Headers matching every given filter, newest first unless ``oldest_first``."""
        sql, args = header_list_sql(
            "?", _HEADER_COLUMNS, session_id=session_id, status=status, target=target,
            source=source, type=type, before_id=before_id, limit=limit, oldest_first=oldest_first)
        return [_header(row) for row in self.conn.execute(sql, args)]

    def count_by_status(self, *, session_id: int | None = None, status: str | None = None,
                        target: str | None = None, source: str | None = None,
                        type: str | None = None) -> dict[str, int]:
        """Messages by status among those matching every given filter."""
        sql, args = header_count_sql("?", session_id=session_id, status=status, target=target,
                                     source=source, type=type)
        return dict(self.conn.execute(sql, args).fetchall())

    def load_context(self, context_id: int) -> r.Context | None:
        row = self.conn.execute(
            "SELECT id, item, request_id, state, response_class, response_text, pending, replied, "
            "failed FROM contexts WHERE id = ?", (context_id,)
        ).fetchone()
        if row is None:
            return None
        ctx = r.Context(*row)
        ctx.replied = bool(ctx.replied)
        return ctx

    # ------------------------------------------------------------ event log
    def log_since(self, last_id: int, limit: int | None = None) -> list[r.LogEntry]:
        """Entries with id greater than ``last_id``, oldest first."""
        sql = ("SELECT type, text, item, job, session_id, message_id, source_class, source_method, "
               "time, id FROM log WHERE id > ? ORDER BY id")
        args: list[Any] = [last_id]
        if limit:
            sql += " LIMIT ?"
            args.append(limit)
        return [r.LogEntry(*row) for row in self.conn.execute(sql, args)]

    def log_top(self, count: int) -> list[r.LogEntry]:
        """The newest ``count`` entries, newest first."""
        return [r.LogEntry(*row) for row in self.conn.execute(
            "SELECT type, text, item, job, session_id, message_id, source_class, source_method, "
            "time, id FROM log ORDER BY id DESC LIMIT ?", (count,))]

    # ------------------------------------------------------------ productions
    def save_production(self, name: str, definition: dict[str, Any]) -> None:
        text = json.dumps(definition)
        with self.transaction() as tx:
            tx.conn.execute(
                "INSERT INTO productions (name, definition, updated) VALUES (?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET definition = excluded.definition, "
                "updated = excluded.updated",
                (name, text, tx.now),
            )

    def get_production(self, name: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT definition FROM productions WHERE name = ?", (name,)).fetchone()
        return json.loads(row[0]) if row else None

    def list_productions(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT name, last_start, last_stop, auto_start FROM productions ORDER BY name"
        ).fetchall()
        return [{"name": n, "last_start": s, "last_stop": e, "auto_start": a} for n, s, e, a in rows]

    def delete_production(self, name: str) -> bool:
        with self.transaction() as tx:
            return tx.conn.execute("DELETE FROM productions WHERE name = ?", (name,)).rowcount == 1

    def mark_production(self, name: str, *, started: bool = False, stopped: bool = False,
                        applied: dict[str, Any] | None = None) -> None:
        """Record start/stop times and the definition the running supervisor applied."""
        with self.transaction() as tx:
            if started:
                tx.conn.execute("UPDATE productions SET last_start = ? WHERE name = ?", (tx.now, name))
            if stopped:
                tx.conn.execute("UPDATE productions SET last_stop = ? WHERE name = ?", (tx.now, name))
            if applied is not None:
                tx.conn.execute("UPDATE productions SET applied = ? WHERE name = ?",
                                (json.dumps(applied), name))

    def get_meta(self, key: str, default: str = "") -> str:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as tx:
            tx.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # ------------------------------------------------------------ class registry
    def put_binding(self, b: r.Binding) -> None:
        with self.transaction() as tx:
            tx.conn.execute(
                "INSERT OR REPLACE INTO bindings (class_name, module, classname, classpath, kind, "
                "generated, created) VALUES (?,?,?,?,?,?,?)",
                (b.class_name, b.module, b.classname, b.classpath, b.kind, int(b.generated), tx.now),
            )

    def get_binding(self, class_name: str) -> r.Binding | None:
        row = self.conn.execute(
            "SELECT class_name, module, classname, classpath, kind, generated FROM bindings "
            "WHERE class_name = ?", (class_name,)).fetchone()
        return _binding(row) if row else None

    def list_bindings(self) -> list[r.Binding]:
        return [_binding(row) for row in self.conn.execute(
            "SELECT class_name, module, classname, classpath, kind, generated FROM bindings "
            "ORDER BY class_name")]

    def delete_binding(self, class_name: str) -> bool:
        with self.transaction() as tx:
            return tx.conn.execute("DELETE FROM bindings WHERE class_name = ?",
                                   (class_name,)).rowcount == 1

    def add_classpath(self, path: str) -> None:
        with self.transaction() as tx:
            tx.conn.execute("INSERT OR IGNORE INTO classpaths (path) VALUES (?)", (path,))

    def list_classpaths(self) -> list[str]:
        return [row[0] for row in self.conn.execute("SELECT path FROM classpaths ORDER BY rowid")]


def _binding(row: Any) -> r.Binding:
    return r.Binding(row[0], row[1], row[2], row[3], row[4], bool(row[5]))
