"""Writes inside one SQLite transaction: messages (some handed straight to a sleeping job),
claims, log lines; wake-ups are rung once it committed."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any

from iop.store import records as r
from iop.store.conditions import sqlite_body_exists
from iop.store.sql import HEADER_COLUMNS, HEADER_COLUMNS_H, HEADER_FIELDS, Dialect, SQLTx, header

SQLITE = Dialect(mark="?", like="LIKE", insertion_order="rowid",
                 body_exists=sqlite_body_exists)

# Typed tables known to exist (with these columns) per store file, to skip PRAGMA lookups.
_typed_tables: dict[tuple[str, str], set[str]] = {}

_INSERT_HEADER = (f"INSERT INTO headers ({HEADER_COLUMNS}) "
                  f"VALUES ({', '.join('?' * len(HEADER_FIELDS))})")

# A synchronous request handed straight to a sleeping job is leased to it this long (the
# job extends its leases while it lives, as it does for what it claims).
HANDOFF_LEASE_SECONDS = 60.0
HANDOFF_MAX_BODY = 8 * 1024  # characters; larger requests are queued and claimed as usual

# Reserve a sleeping job of an item for a hand-over: (slot, job id), or None.
Reserve = Callable[[str], "tuple[int, str] | None"]


class SQLiteTx(SQLTx):
    """Writes made inside one transaction; wake-ups are rung after it commits."""

    dialect = SQLITE

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

    def execute(self, query: Any, params: Any = ()) -> sqlite3.Cursor:
        return self.conn.execute(query, params)

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
                f"SELECT {HEADER_COLUMNS_H}, b.data FROM headers h "
                f"LEFT JOIN bodies b ON b.id = h.body_id WHERE h.id IN ({marks})",
                [hid for _, hid, _ in taken],
            )
        }
        return [
            r.Delivery(queue_id=qid, header=header(found[hid][:-1]), body_text=found[hid][-1],
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
