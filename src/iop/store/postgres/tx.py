"""Writes inside one PostgreSQL transaction: messages, deliveries, contexts, claims, log lines.

Lease times use the database server's clock, so hosts with skewed clocks agree on when a
lease expires; record times (created, processed, log) use this host's clock as SQLite does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus

from iop.store import records as r
from iop.store.conditions import postgres_body_exists
from iop.store.postgres.conn import lock_key
from iop.store.postgres.schema import TYPED_SQL_TYPES, identifier
from iop.store.sql import HEADER_COLUMNS, HEADER_FIELDS, Dialect, SQLTx, header
from iop.store.wakeups.pg_notify import URGENT, notify, notify_answers, notify_committed

if TYPE_CHECKING:
    from iop.store.postgres import PostgresStore

POSTGRES = Dialect(mark="%s", like="ILIKE", insertion_order="seq", trouble_column=True,
                   body_exists=postgres_body_exists,
                   typed_columns_sql=(
                       "SELECT a.attname, format_type(a.atttypid, a.atttypmod) "
                       "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                       "JOIN pg_namespace n ON n.oid = c.relnamespace "
                       "WHERE n.nspname = current_schema() AND c.relname = %s "
                       "AND a.attnum > 0 AND NOT a.attisdropped"))

NOW = "extract(epoch from now())::float8"

_INSERT_ONE = f"""
WITH n AS (SELECT nextval('headers_id_seq') AS id WHERE %(unless_queued)s::bigint IS NULL
           OR NOT EXISTS (SELECT 1 FROM queue WHERE id = %(unless_queued)s::bigint)),
b AS (INSERT INTO bodies (id, class_name, data)
      SELECT n.id, %(body_class)s::text, %(body_text)s::text FROM n WHERE %(has_body)s::boolean),
q AS (INSERT INTO queue (item, header_id, context_id, enqueued)
      SELECT %(target)s::text, n.id, %(queue_context)s::bigint, %(now)s::float8 FROM n
      WHERE %(enqueue)s::boolean),
c AS (UPDATE headers SET corresponding_id = n.id FROM n
      WHERE headers.id = %(corresponding_id)s::bigint AND %(is_response)s::boolean)
INSERT INTO headers ({HEADER_COLUMNS.replace(", attempts", "")})
SELECT n.id, COALESCE(%(session_id)s::bigint, n.id), %(corresponding_id)s::bigint,
       %(source)s::text, %(target)s::text, %(body_class)s::text,
       CASE WHEN %(has_body)s::boolean THEN n.id END, %(type)s::text, %(priority)s::text,
       %(status)s::text, %(error)s::text, %(now)s::float8, %(processed)s::float8,
       %(reply_to)s::text, %(response_required)s::boolean, %(context_id)s::bigint,
       %(completion_key)s::text, %(description)s::text
FROM n CROSS JOIN (SELECT set_config('synchronous_commit', %(commit_mode)s, true)) AS mode
RETURNING id
"""
# ``commit_mode`` ('on' or 'off') is the synchronous_commit of the transaction the statement
# is in: run on its own (autocommit) it is its own transaction, which commits as that says.
# ``unless_queued`` (a queue entry's id, or NULL): store nothing while that entry exists (an
# answer sent along with the completion that deletes its request's entry).

_INSERT_HEADER = (
    f"INSERT INTO headers ({HEADER_COLUMNS.replace(', attempts', '')}) "
    "VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"
)

# An entry is claimable unless it is a response to a business process whose context another
# job holds. Said as an OR, not as a bare NOT EXISTS: the planner would make that an anti
# join, which reads every entry of the item before sorting; this way the entries are read in
# queue_item's order and the scan stops at the LIMIT, however long the backlog (a claim of
# 32 from 40,000 queued: 46 ms -> 2.6 ms). Connections also keep the planner off bitmap
# scans (iop.store.postgres.conn.connect), which would sort the whole backlog too.
_CONTEXT_FREE = f"""(q.context_id IS NULL OR NOT EXISTS (
    SELECT 1 FROM contexts c WHERE c.id = q.context_id
    AND c.owner IS NOT NULL AND c.owner_until >= {NOW}))"""

_CLAIM_SELECT = f"""
SELECT q.id, q.header_id, q.attempts, q.context_id FROM queue q
WHERE q.item = %s AND (q.lease_until IS NULL OR q.lease_until < {NOW})
  AND {_CONTEXT_FREE}
ORDER BY q.id LIMIT %s FOR UPDATE OF q SKIP LOCKED
"""

# A join of a statement's few rows (the CTE q) with headers: the planner cannot see how few
# they are and, while headers is small, reads all of it for a hash join (1-2 ms per claim at
# 4,000 rows). Naming the keys as an array as well makes it look them up in the primary key.
_HEADERS_OF_Q = "h.id = ANY(ARRAY(SELECT header_id FROM q))"

# The final SELECT sees headers as they were before this statement's own update, so the
# status and attempts it reports are worked out the same way the update works them out.
_DELIVERED = "h.status IN ('queued', 'delivered')"
_CLAIM_HEADER = ", ".join(
    f"CASE WHEN {_DELIVERED} THEN 'delivered' ELSE h.status END" if c == "status" else
    f"CASE WHEN {_DELIVERED} THEN q.attempts ELSE h.attempts END" if c == "attempts" else
    "h." + c
    for c in HEADER_FIELDS
)
_CLAIM_UPDATE = f"""
WITH q AS (
    UPDATE queue SET lease_owner = %(owner)s, lease_until = {NOW} + %(lease)s::float8,
                     attempts = attempts + 1
    WHERE id = ANY(%(ids)s::bigint[]) RETURNING id, header_id, attempts),
u AS (
    UPDATE headers h SET status = 'delivered', attempts = q.attempts FROM q
    WHERE {_HEADERS_OF_Q} AND h.id = q.header_id AND {_DELIVERED}
    RETURNING h.id)
SELECT q.id, q.attempts, {_CLAIM_HEADER}, b.data
FROM q JOIN headers h ON h.id = q.header_id LEFT JOIN bodies b ON b.id = h.body_id
WHERE {_HEADERS_OF_Q}
ORDER BY q.id
"""

# The usual claim in one statement: the oldest claimable entries, none of them a response to
# a business process (those need their context's owner, see PostgresTx.claim). Its first
# column says whether that held; when it did not, nothing was leased.
CLAIM_PLAIN = f"""
WITH picked AS (
    SELECT q.id, q.context_id FROM queue q
    WHERE q.item = %(item)s AND (q.lease_until IS NULL OR q.lease_until < {NOW})
      AND {_CONTEXT_FREE}
    ORDER BY q.id LIMIT %(limit)s FOR UPDATE OF q SKIP LOCKED),
plain AS (SELECT NOT EXISTS (SELECT 1 FROM picked WHERE context_id IS NOT NULL) AS ok),
q AS (
    UPDATE queue SET lease_owner = %(owner)s, lease_until = {NOW} + %(lease)s::float8,
                     attempts = queue.attempts + 1
    WHERE queue.id = ANY(ARRAY(SELECT id FROM picked)) AND (SELECT ok FROM plain)
    RETURNING queue.id, queue.header_id, queue.attempts),
u AS (
    UPDATE headers h SET status = 'delivered', attempts = q.attempts FROM q
    WHERE {_HEADERS_OF_Q} AND h.id = q.header_id AND {_DELIVERED}
    RETURNING h.id)
SELECT plain.ok, x.* FROM plain LEFT JOIN (
    SELECT q.id AS queue_id, q.attempts AS queue_attempts, {_CLAIM_HEADER}, b.data
    FROM q JOIN headers h ON h.id = q.header_id LEFT JOIN bodies b ON b.id = h.body_id
    WHERE {_HEADERS_OF_Q}) x
ON TRUE ORDER BY x.queue_id
"""

# CLAIM_PLAIN as a transaction of its own (autocommit): a claim lost in a server crash only
# delivers its messages again, so its commit does not wait for the WAL flush.
CLAIM_ALONE = CLAIM_PLAIN.replace(
    "SELECT plain.ok, x.* FROM plain",
    "SELECT plain.ok AND set_config('synchronous_commit', 'off', true) = 'off', x.* FROM plain")

# Finishing a delivery and recording its request's new status in one statement; the status
# is written only while the lease is held, and never over a timed-out caller's error.
_COMPLETE = """
WITH d AS (DELETE FROM queue WHERE id = %(queue_id)s AND lease_owner = %(owner)s RETURNING id),
s AS (UPDATE headers SET status = %(status)s, error = COALESCE(%(error)s, error),
                         processed = %(now)s
      WHERE id = %(header_id)s AND EXISTS (SELECT 1 FROM d)
        AND NOT (status = 'error' AND error LIKE %(timed_out)s) RETURNING id)
SELECT EXISTS (SELECT 1 FROM d), EXISTS (SELECT 1 FROM s)
"""

# The same for many deliveries at once (a batch's completions sent with its commit): one
# row per queue entry, saying whether it was finished and its status set.
_COMPLETE_MANY = """
WITH t AS (SELECT * FROM unnest(%(queue_ids)s::bigint[], %(owners)s::text[],
                                %(header_ids)s::bigint[], %(statuses)s::text[],
                                %(errors)s::text[]) AS t(queue_id, owner, header_id, status, error)),
d AS (DELETE FROM queue USING t WHERE queue.id = ANY(%(queue_ids)s::bigint[])
      AND queue.id = t.queue_id AND queue.lease_owner = t.owner RETURNING queue.id),
s AS (UPDATE headers h SET status = t.status, error = COALESCE(t.error, h.error),
                           processed = %(now)s
      FROM t JOIN d ON d.id = t.queue_id
      WHERE h.id = ANY(%(header_ids)s::bigint[]) AND h.id = t.header_id
        AND NOT (h.status = 'error' AND h.error LIKE %(timed_out)s)
      RETURNING h.id)
SELECT t.queue_id, d.id IS NOT NULL, s.id IS NOT NULL
FROM t LEFT JOIN d ON d.id = t.queue_id LEFT JOIN s ON s.id = t.header_id
"""

_INSERT_LOG = (
    "INSERT INTO log (time, type, item, job, session_id, message_id, source_class, "
    "source_method, text) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)"
)


def claim_params(item: str, owner: str, limit: int, lease_seconds: float) -> dict[str, Any]:
    return {"item": item, "owner": owner, "limit": limit, "lease": lease_seconds}


def plain_claim(rows: list[tuple[Any, ...]]) -> list[r.Delivery] | None:
    """The deliveries :data:`CLAIM_PLAIN` leased; None when it could not claim alone."""
    if not rows or not rows[0][0]:
        return None
    return [r.Delivery(queue_id=row[1], header=header(row[3:-1]), body_text=row[-1],
                       attempts=row[2]) for row in rows if row[1] is not None]


class _Completion:
    """One delivery's completion (:data:`_COMPLETE`) and its answer, if any, sent in a
    pipeline; their results are read once the pipeline is done."""

    def __init__(self, tx: PostgresTx, queue_id: int, owner: str, header_id: int, status: str,
                 error: str | None, answer: r.MessageDraft | None) -> None:
        self.queue_id = queue_id
        self.params = {"queue_id": queue_id, "owner": owner, "header_id": header_id,
                       "status": status, "error": error, "now": tx.now,
                       "timed_out": r.TIMED_OUT + "%"}
        self.answer = answer
        self._completed: psycopg.Cursor[Any] | None = None
        self._stored: psycopg.Cursor[Any] | None = None
        # Set when sent along with others as one statement: that statement's rows by queue id.
        self._read_batch: Callable[[], dict[int, tuple[bool, bool]]] | None = None

    @staticmethod
    def send_together(tx: PostgresTx, batch: list[_Completion]) -> None:
        """Send completions without answers as one statement (:data:`_COMPLETE_MANY`)."""
        if len(batch) < 2:
            for completion in batch:
                completion.send(tx)
            return
        cursor = tx.conn.execute(_COMPLETE_MANY, {
            "queue_ids": [c.params["queue_id"] for c in batch],
            "owners": [c.params["owner"] for c in batch],
            "header_ids": [c.params["header_id"] for c in batch],
            "statuses": [c.params["status"] for c in batch],
            "errors": [c.params["error"] for c in batch],
            "now": tx.now, "timed_out": r.TIMED_OUT + "%"})
        found: dict[int, tuple[bool, bool]] = {}

        def read() -> dict[int, tuple[bool, bool]]:
            if not found:
                found.update({int(q): (bool(f), bool(s)) for q, f, s in cursor.fetchall()})
            return found

        for completion in batch:
            completion._read_batch = read

    def send(self, tx: PostgresTx) -> None:
        self._completed = tx.conn.execute(_COMPLETE, self.params)
        if self.answer is not None:
            self._stored = tx.conn.execute(_INSERT_ONE,
                                           tx._one_params(self.answer, self.queue_id))

    def results(self) -> tuple[bool, bool, int | None]:
        """(finished, status set, the answer's id if one was stored)."""
        if self._read_batch is not None:
            finished, status_set = self._read_batch()[self.queue_id]
            return finished, status_set, None
        assert self._completed is not None
        row = self._completed.fetchone()
        assert row is not None
        answer_id = None
        if self._stored is not None:
            stored = self._stored.fetchone()
            if stored is not None:
                answer_id = int(stored[0])
                assert self.answer is not None
                self.answer.header_id = answer_id
        return bool(row[0]), bool(row[1]), answer_id


class PostgresTx(SQLTx):
    """Writes made inside one transaction; log lines, deferred completions and ``NOTIFY``
    go out with the commit.

    ``BEGIN`` travels with the first statement; deferred completions, the log lines, a claim
    at commit, ``COMMIT`` and then the wake-ups travel together (pipeline mode), so a job's
    completion transaction is usually one round trip.
    """

    dialect = POSTGRES

    def __init__(self, conn: psycopg.Connection, store: PostgresStore,
                 begun: bool = False, durable: bool = True) -> None:
        self.conn = conn
        self.store = store
        # A transaction whose loss in a server crash only means work done again (claims,
        # lease extensions, heartbeats) does not wait for its WAL flush.
        self.durable = durable
        self.items_to_wake: dict[str, bool] = {}  # item -> urgent (a caller waits)
        self.addresses_to_wake: set[str] = set()
        # Waiting callers answered here (address → request id): each one's ring carries its
        # response as stored, read back by the ring's own statement.
        self.answered: dict[str, int] = {}
        # Completions sent with the commit; their results are read once it is done.
        self._deferred: list[_Completion] = []
        self.lost_at_commit = 0  # deferred completions whose lease had run out
        self.now = time.time()
        self.typed_known: dict[str, set[str]] = {}  # typed-table columns, cached after commit
        self._logs: list[r.LogEntry] = []
        self._begun = begun
        self._owns_commit = not begun  # not a savepoint inside someone else's transaction
        self._claim_at_commit: dict[str, Any] | None = None
        self._claimed: psycopg.Cursor[Any] | None = None

    def execute(self, query: Any, params: Any = None) -> psycopg.Cursor[Any]:
        if self._begun:
            return self.conn.execute(query, params)
        with self.conn.pipeline():
            self._begin()
            cursor = self.conn.execute(query, params)
        return cursor

    def _begin(self) -> None:
        if not self._begun:
            self.conn.execute("BEGIN")
            if not self.durable:
                self.conn.execute("SET LOCAL synchronous_commit TO OFF")
            self._begun = True

    # ------------------------------------------------------------ messages
    def _processed(self, d: r.MessageDraft) -> float | None:
        return self.now if d.status in (r.COMPLETED, r.ERROR, r.DISCARDED) else None

    def _note_enqueued(self, d: r.MessageDraft) -> None:
        if d.enqueue:
            urgent = d.priority == r.SYNC or self.items_to_wake.get(d.target, False)
            self.items_to_wake[d.target] = urgent

    def _one_params(self, d: r.MessageDraft, unless_queued: int | None = None) -> dict[str, Any]:
        """Parameters of :data:`_INSERT_ONE` for ``d``."""
        return {
            "unless_queued": unless_queued,
            "body_class": d.body_class, "body_text": d.body_text,
            "has_body": d.has_body(),
            "target": d.target, "queue_context": d.context_id if d.type == r.RESPONSE else None,
            "now": self.now, "enqueue": d.enqueue, "session_id": d.known_session(),
            "is_response": d.type == r.RESPONSE,
            "corresponding_id": d.corresponding_id, "source": d.source, "type": d.type,
            "priority": d.priority, "status": d.status, "error": d.error,
            "processed": self._processed(d), "reply_to": d.reply_to,
            "response_required": d.response_required, "context_id": d.context_id,
            "completion_key": d.completion_key, "description": d.description,
            "commit_mode": "on" if self.durable else "off",
        }

    def insert_message(self, d: r.MessageDraft) -> int:
        """Store header and body, and queue the header for its target, in one statement."""
        row = self.execute(_INSERT_ONE, self._one_params(d)).fetchone()
        assert row is not None
        header_id = d.header_id = int(row[0])
        if d.typed is not None and d.has_body():
            self._insert_typed(header_id, *d.typed)
        self._note_enqueued(d)
        return header_id

    def insert_messages(self, drafts: list[r.MessageDraft]) -> list[int]:
        """Store many messages with a fixed number of round trips (group commit)."""
        if len(drafts) <= 1:
            return [self.insert_message(d) for d in drafts]
        ids = self._new_header_ids(len(drafts))
        self._begin()
        with self.conn.pipeline():
            self._stage_messages(drafts, ids)
        for header_id, d in zip(ids, drafts, strict=True):
            if d.typed is not None and d.has_body():
                self._insert_typed(header_id, *d.typed)
        return ids

    def commit_sends(self, drafts: list[r.MessageDraft], logs: list[r.LogEntry]) -> list[int]:
        """A whole send transaction, committed, in as few round trips as its shape allows:
        one for a single message, two for several (their ids are drawn first). Messages with
        typed tables (which may need DDL first) take the general way."""
        if not drafts or any(d.typed is not None for d in drafts):
            ids = self.insert_messages(drafts)
            self.log(logs)
            self.commit()
            return ids
        single = len(drafts) == 1
        if single and not logs and not self._begun:
            return [self._send_alone(drafts[0])]
        ids = [] if single else self._new_header_ids(len(drafts))
        cursor = None

        def write() -> None:
            nonlocal cursor
            if single:
                cursor = self.conn.execute(_INSERT_ONE, self._one_params(drafts[0]))
                self._note_enqueued(drafts[0])
            else:
                self._stage_messages(drafts, ids)
            self.log(logs)

        self._commit_pipeline(write)
        if cursor is not None:
            row = cursor.fetchone()
            assert row is not None
            ids = [int(row[0])]
            drafts[0].header_id = ids[0]
        return ids

    def _send_alone(self, draft: r.MessageDraft) -> int:
        """One message as a statement of its own (no BEGIN or COMMIT), then its wake-ups,
        in one round trip. Both are one implicit transaction, committed at the pipeline's
        Sync: the INSERT's "INSERT 0 1" proves nothing, so any error fails the send (the
        caller rides an outage and sends again: at least once, never acknowledged unsaved)."""
        with self.conn.pipeline():
            inserted = self.conn.execute(_INSERT_ONE, self._one_params(draft))
            self._note_enqueued(draft)
            notify_committed(self.conn, self._rings())
        row = inserted.fetchone()
        assert row is not None
        draft.header_id = int(row[0])
        return draft.header_id

    def _new_header_ids(self, count: int) -> list[int]:
        # Sequences are not transactional: the ids can be drawn before the transaction.
        return sorted(int(row[0]) for row in self.conn.execute(
            "SELECT nextval('headers_id_seq') FROM generate_series(1, %s)", (count,)))

    def _stage_messages(self, drafts: list[r.MessageDraft], ids: list[int]) -> None:
        """Issue the inserts of ``drafts`` under ``ids`` (in the caller's pipeline); typed
        tables are the caller's."""
        bodies, headers, queue = [], [], []
        for header_id, d in zip(ids, drafts, strict=True):
            d.header_id = header_id
        for header_id, d in zip(ids, drafts, strict=True):
            body_id = d.body_id_for(header_id)
            if body_id is not None:
                bodies.append((body_id, d.body_class, d.body_text))
            headers.append((
                header_id, d.session_for(header_id), d.corresponding_id, d.source, d.target,
                d.body_class, body_id, d.type, d.priority, d.status, d.error, self.now,
                self._processed(d), d.reply_to, d.response_required, d.context_id,
                d.completion_key, d.description))
            if d.enqueue:
                queue.append((d.target, header_id, d.context_id if d.type == r.RESPONSE else None,
                              self.now))
            self._note_enqueued(d)
        # Request and response name each other (as IRIS's CorrespondingMessageId does), so a
        # waiting caller finds its response through the request's primary key.
        answered = [(header_id, d.corresponding_id)
                    for header_id, d in zip(ids, drafts, strict=True)
                    if d.type == r.RESPONSE and d.corresponding_id is not None]
        with self.conn.cursor() as cur:
            if answered:
                cur.executemany("UPDATE headers SET corresponding_id = %s WHERE id = %s", answered)
            if bodies:
                cur.executemany("INSERT INTO bodies (id, class_name, data) VALUES (%s, %s, %s)",
                                bodies)
            cur.executemany(_INSERT_HEADER, headers)
            if queue:
                cur.executemany("INSERT INTO queue (item, header_id, context_id, enqueued) "
                                "VALUES (%s, %s, %s, %s)", queue)

    def _insert_typed(self, body_id: int, table: str, types: dict[str, str],
                      values: dict[str, Any]) -> None:
        # Schema mode "extend": a new field adds a column; nothing is ever dropped.
        table = identifier(table)
        columns = {identifier(c): t for c, t in types.items()}
        known = self.typed_known.get(table) or self.store.typed_columns(table)
        if known is None or not set(columns) <= known:
            known = self._extend_typed(table, columns)
            self.typed_known[table] = known
        names = [identifier(c) for c in values]
        self.execute(
            sql.SQL("INSERT INTO {} (body_id, {}) VALUES (%s{})").format(
                sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, names)),
                sql.SQL(", %s" * len(names))),
            [body_id, *values.values()],
        )

    def _extend_typed(self, table: str, columns: dict[str, str]) -> set[str]:
        # Concurrent writers of a new class would race on CREATE/ALTER: take turns.
        self.execute("SELECT pg_advisory_xact_lock(%s, %s)",
                     (self.store.lock_space, lock_key("typed", table)))
        qualified = sql.Identifier(self.store.schema, table).as_string(self.conn)
        existing = {row[0] for row in self.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) "
            "AND attnum > 0 AND NOT attisdropped", (qualified,))}
        if not existing:
            self.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (body_id BIGINT PRIMARY KEY)")
                         .format(sql.Identifier(table)))
            existing = {"body_id"}
        for column, sql_type in columns.items():
            if column not in existing:
                self.execute(sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}").format(
                    sql.Identifier(table), sql.Identifier(column),
                    sql.SQL(TYPED_SQL_TYPES.get(sql_type.upper(), "TEXT"))))
                existing.add(column)
        return existing

    # ------------------------------------------------------------ deliveries
    def complete_delivery(self, queue_id: int, owner: str, header_id: int, status: str | None,
                          error: str | None = None, answer: r.MessageDraft | None = None,
                          defer: bool = False) -> tuple[bool, bool]:
        """:meth:`finish_delivery`, then (``status`` given, and the lease still held)
        :meth:`set_status`: (finished, status set), in one round trip, which also stores
        ``answer`` (discarded when the status was not set: its caller gave up).

        ``defer``: nothing else written in this transaction depends on the outcome, so the
        completion is sent with the commit and (True, status given) is returned at once; a
        lease found lost then counts in :attr:`lost_at_commit`, and an answer that should
        not have been stored is kept as discarded."""
        if status is None or (answer is not None and answer.typed is not None):
            if status is None:
                finished, status_set = self.finish_delivery(queue_id, owner), False
            else:
                finished, status_set = self.complete_delivery(queue_id, owner, header_id,
                                                              status, error)
            if finished and answer is not None:
                if not status_set:
                    answer.status = r.DISCARDED
                self.insert_message(answer)
            return finished, status_set
        completion = _Completion(self, queue_id, owner, header_id, status, error, answer)
        if defer and self._owns_commit:
            self._deferred.append(completion)
            return True, True
        # The answer goes with the completion, stored only once the request's queue entry
        # is gone; whether that deletion was ours shows in the completion's own result.
        with self.conn.pipeline():
            self._begin()
            completion.send(self)
        finished, status_set, answer_id = completion.results()
        if answer is None or answer_id is None:
            return finished, status_set
        if not finished:  # another job finished it after our lease ran out: not ours
            self.execute("UPDATE headers SET corresponding_id = NULL WHERE id = %s AND "
                         "corresponding_id = %s", (header_id, answer_id))
            self.execute("DELETE FROM headers WHERE id = %s", (answer_id,))
            self.execute("DELETE FROM bodies WHERE id = %s", (answer_id,))
            answer.header_id = None
        elif not status_set:
            answer.status = r.DISCARDED
            self.execute("UPDATE headers SET status = %s WHERE id = %s",
                         (r.DISCARDED, answer_id))
        return finished, status_set

    def requeue(self, header_id: int) -> bool:
        """Put a suspended request back at the end of its target's queue."""
        row = self.execute("UPDATE headers SET status = 'queued', processed = NULL "
                           "WHERE id = %s AND status = 'suspended' RETURNING target",
                           (header_id,)).fetchone()
        if row is None:
            return False
        self.execute("INSERT INTO queue (item, header_id, context_id, enqueued) "
                     "VALUES (%s, %s, NULL, %s)", (row[0], header_id, self.now))
        self.items_to_wake.setdefault(row[0], False)
        return True

    def log(self, entries: list[r.LogEntry]) -> None:
        """Append event log entries (written at commit, so log ids follow commit order)."""
        self._logs.extend(entries)

    def wake_address(self, address: str | None, reply: r.MessageDraft | None = None) -> None:
        """Ring a waiting caller once the transaction commits, with ``reply`` (a response
        stored in this transaction) when given."""
        if not address:
            return
        if reply is not None and reply.corresponding_id is not None:
            self.answered[address] = reply.corresponding_id
        else:
            self.addresses_to_wake.add(address)

    # ------------------------------------------------------------ claims
    def claim(self, item: str, owner: str, limit: int, lease_seconds: float) -> list[r.Delivery]:
        """Lease up to ``limit`` of the oldest claimable entries of ``item``'s queue.

        Rows other claimers hold are skipped, never waited for; a business process instance
        gets at most one response at a time (its context's owner), as on SQLite.
        """
        found = plain_claim(self.execute(CLAIM_PLAIN, claim_params(item, owner, limit,
                                                                   lease_seconds)).fetchall())
        if found is not None:
            return found
        return self.claim_with_contexts(item, owner, limit, lease_seconds)

    def claim_at_commit(self, item: str, owner: str, limit: int,
                        lease_seconds: float) -> Callable[[], list[r.Delivery]]:
        """The next batch, claimed with this transaction's commit (in its round trip): the
        function returned gives the deliveries once the transaction committed."""
        params = self._claim_at_commit = claim_params(item, owner, limit, lease_seconds)

        def deliveries() -> list[r.Delivery]:
            args = params["item"], params["owner"], params["limit"], params["lease"]
            if self._claimed is None:  # nothing was written, so nothing was committed
                with self.store.transaction(durable=False) as tx:
                    return tx.claim(*args)
            found = plain_claim(self._claimed.fetchall())
            if found is not None:
                return found
            # Responses to business processes came first: claim the way that takes their
            # contexts into account.
            with self.store.transaction(durable=False) as tx:
                return tx.claim_with_contexts(*args)

        return deliveries

    def claim_with_contexts(self, item: str, owner: str, limit: int,
                            lease_seconds: float) -> list[r.Delivery]:
        """:meth:`claim` when responses to business processes are among the oldest entries."""
        rows = self.execute(_CLAIM_SELECT, (item, limit)).fetchall()
        if not rows:
            return []
        wanted = list(dict.fromkeys(row[3] for row in rows if row[3] is not None))
        ours: set[int] = set()
        orphans: set[int] = set()
        if wanted:
            ours = {row[0] for row in self.execute(
                f"SELECT id FROM contexts WHERE id = ANY(%s::bigint[]) AND (owner IS NULL OR "
                f"owner_until < {NOW}) ORDER BY id FOR UPDATE SKIP LOCKED", (wanted,))}
            others = [c for c in wanted if c not in ours]
            if others:
                # A response to a context that no longer exists is claimable (and discarded);
                # one whose context another job is busy with waits for it.
                present = {row[0] for row in self.execute(
                    "SELECT id FROM contexts WHERE id = ANY(%s::bigint[])", (others,))}
                orphans = set(others) - present
        taken: list[int] = []
        owned: list[int] = []
        seen: set[int] = set()
        for queue_id, _, _, context_id in rows:
            if context_id is not None:
                if context_id in seen or (context_id not in ours and context_id not in orphans):
                    continue
                seen.add(context_id)
                if context_id in ours:
                    owned.append(context_id)
            taken.append(queue_id)
        if not taken:
            return []
        if owned:
            self.execute(f"UPDATE contexts SET owner = %s, owner_until = {NOW} + %s::float8 "
                         "WHERE id = ANY(%s::bigint[])", (owner, lease_seconds, owned))
        found = self.execute(_CLAIM_UPDATE, {"owner": owner, "lease": lease_seconds,
                                             "ids": taken}).fetchall()
        return [r.Delivery(queue_id=row[0], header=header(row[2:-1]), body_text=row[-1],
                           attempts=row[1]) for row in found]

    # ------------------------------------------------------------ commit
    def _write_logs(self) -> None:
        """Queue the log lines; they are written with the commit."""
        if self._logs:
            # Log ids are handed out in commit order, so a reader tailing the log by id
            # (log_since) never sees a later id commit before an earlier one.
            self.conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", self.store.log_lock)
            with self.conn.cursor() as cur:
                cur.executemany(_INSERT_LOG, [
                    (e.time, e.type, e.item, e.job, e.stored_session(), e.message_id,
                     e.source_class, e.source_method, e.text) for e in self._logs])
            self._logs = []

    def _rings(self) -> list[tuple[str, str]]:
        """(channel, payload) for every wake-up but the answered callers'."""
        rings = self.store.notifier.item_rings(self.items_to_wake, self.conn)
        return rings + [(address, URGENT) for address in sorted(self.addresses_to_wake)]

    def _flush(self) -> None:
        """Queue the log lines and wake-ups inside the transaction (a nested one's)."""
        self._write_logs()
        notify(self.conn, self._rings())
        notify_answers(self.conn, self.answered, inside=True)

    def _commit_pipeline(self, write: Callable[[], None]) -> None:
        """``write`` (statements of this transaction), the log lines, ``COMMIT``, then the
        wake-ups, in one round trip. A wake-up that fails after the commit succeeded is
        lost (it costs latency, never a message) and does not fail the transaction."""
        committed: psycopg.Cursor[Any] | None = None
        try:
            with self.conn.pipeline():
                self._begin()
                _Completion.send_together(self,
                                          [c for c in self._deferred if c.answer is None])
                for completion in self._deferred:
                    if completion.answer is not None:
                        completion.send(self)
                write()
                self._write_logs()
                committed = self.conn.execute("COMMIT")
                notify_committed(self.conn, self._rings())
                notify_answers(self.conn, self.answered)
        except psycopg.Error:
            if committed is None or committed.statusmessage != "COMMIT":
                raise
        self._settle_deferred()

    def _settle_deferred(self) -> None:
        """Read what the deferred completions did; an answer stored for a request this job
        no longer held, or whose caller had given up, is kept as discarded (for the trace)."""
        if not self._deferred:
            return
        stray = []
        for completion in self._deferred:
            finished, status_set, answer_id = completion.results()
            if not finished:
                self.lost_at_commit += 1
            if answer_id is not None and not (finished and status_set):
                stray.append(answer_id)
        self._deferred = []
        if stray:
            self.conn.execute("UPDATE headers SET status = %s WHERE id = ANY(%s::bigint[])",
                              (r.DISCARDED, stray))

    def commit(self) -> None:
        """Write what waits for the commit, and commit, in one round trip."""
        if not self._begun and not self._logs and not self.items_to_wake \
                and not self.addresses_to_wake and not self._deferred:
            return  # nothing was written (a claim at commit then claims on its own)

        def claim() -> None:
            if self._claim_at_commit is not None:
                self._claimed = self.conn.execute(CLAIM_PLAIN, self._claim_at_commit)

        self._commit_pipeline(claim)

    def flush_nested(self) -> None:
        """End of a transaction nested in another: its writes commit with the outer one."""
        self._flush()

    def rollback(self) -> None:
        """Undo everything (after an error); a broken connection has undone it already."""
        if self.conn.info.transaction_status == TransactionStatus.IDLE:
            return
        try:
            self.conn.execute("ROLLBACK")
        except psycopg.Error:
            pass
