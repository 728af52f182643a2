"""What both SQL backends share: the store's tables read and written the same way on each.

:class:`SQLStore` holds the methods whose SQL is the same on SQLite and PostgreSQL but for
the placeholder and a few words (productions, meta, bindings, classpaths, jobs, log reads,
the operator's searches, the purge loop); :class:`SQLTx` likewise for a transaction's
writes. Each is written once, with ``?`` for a parameter, and a :class:`Dialect` says what
differs in the SQL text. What differs in substance (claims, inserts, completions, schema,
connections, wake-ups, runtime rows, locks) stays in ``iop.store.sqlite`` and
``iop.store.postgres``.
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from iop.messages.persistent import table_name
from iop.store import queries as q
from iop.store import records as r
from iop.store.errors import StoreError
from iop.store.flush_group import FlushGroup
from iop.store.group_commit import GroupCommit, PendingSend
from iop.store.outage_record import OutageRecord

HEADER_FIELDS = (
    "id", "session_id", "corresponding_id", "source", "target", "body_class", "body_id", "type",
    "priority", "status", "error", "created", "processed", "attempts", "reply_to",
    "response_required", "context_id", "completion_key", "description",
)
HEADER_COLUMNS = ", ".join(HEADER_FIELDS)
HEADER_COLUMNS_H = ", ".join("h." + c for c in HEADER_FIELDS)
LOG_COLUMNS = ("type, text, item, job, session_id, message_id, source_class, source_method, "
               "time, id")
_CONTEXT_COLUMNS = ("id, item, request_id, state, response_class, response_text, pending, "
                    "replied, failed")
_BINDING_COLUMNS = "class_name, module, classname, classpath, kind, generated"
_JOB_FIELDS = ("id", "item", "slot", "pid", "host", "state", "started", "heartbeat", "processed")
_JOB_COLUMNS = ", ".join(_JOB_FIELDS)
_PURGE_BATCH = 2000  # sessions per purge transaction


# Declared types of typed-table columns that hold numbers (SQLite's, then PostgreSQL's).
_NUMBER_TYPES = ("integer", "real", "bigint", "double precision")


@dataclass(frozen=True)
class Dialect:
    """What differs between the backends in the text of the shared SQL."""

    mark: str  # the placeholder of a parameter: "?" or "%s"
    like: str  # the case-insensitive LIKE operator: "LIKE" (SQLite's is) or "ILIKE"
    # The column that keeps the classpaths in the order they were added.
    insertion_order: str
    # Whether headers have the ``trouble`` column the index of failed messages is on
    # (see iop.store.queries.message_search_sql).
    trouble_column: bool = False
    # Renders conditions on body fields with the backend's JSON functions
    # (iop.store.conditions).
    body_exists: q.BodyTest | None = None
    # The columns (name, declared type) of the typed table named by the one parameter.
    typed_columns_sql: str = "SELECT name, type FROM pragma_table_info(?)"
    _texts: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def sql(self, text: str) -> str:
        """``text`` (written with ``?`` placeholders) in this dialect."""
        if self.mark == "?":
            return text
        found = self._texts.get(text)
        if found is None:
            found = self._texts[text] = text.replace("?", self.mark)
        return found


def upsert(table: str, columns: Sequence[str], key: str) -> str:
    """INSERT of one row of ``columns`` that updates the row with the same ``key`` instead
    (the same words on SQLite and PostgreSQL)."""
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != key)
    return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT ({key}) DO UPDATE SET {updates}")


_UPSERT_META = upsert("meta", ("key", "value"), "key")
_UPSERT_BINDING = upsert("bindings", ("class_name", "module", "classname", "classpath", "kind",
                                      "generated", "created"), "class_name")
_UPSERT_JOB = upsert("jobs", _JOB_FIELDS, "id")
_UPSERT_CREDENTIAL = upsert("credentials", ("name", "username", "secret", "updated"), "name")
_UPSERT_ADAPTER_STATE = upsert("adapter_state", ("item", "scope", "key", "value", "updated"),
                               "item, scope, key")
_UPSERT_CONTEXT = upsert("contexts", (
    "id", "item", "request_id", "state", "response_class", "response_text", "pending",
    "replied", "failed", "owner", "owner_until", "updated"), "id")


class Cursor(Protocol):
    """What the shared code reads of a statement's cursor (sqlite3's and psycopg's)."""

    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...


def header(row: Sequence[Any]) -> r.Header:
    """A Header from a row of HEADER_FIELDS."""
    h = r.Header(*row)
    h.response_required = bool(h.response_required)
    return h


_QUEUE_ENTRY_COLUMNS = ("q.id, q.enqueued, q.lease_owner, q.lease_until, q.context_id, "
                        + HEADER_COLUMNS_H)


def _queue_entry(row: Sequence[Any]) -> r.QueueEntry:
    """A QueueEntry from a row of _QUEUE_ENTRY_COLUMNS."""
    return r.QueueEntry(int(row[0]), header(row[5:]), float(row[1]), row[2],
                        None if row[3] is None else float(row[3]), row[4])


_ALERT_COLUMNS = ("id, log_id, time, production, item, session_id, text, state, owner, "
                  "updated")


def _alert(row: Sequence[Any]) -> r.ManagedAlert:
    """A ManagedAlert (without its notes) from a row of _ALERT_COLUMNS."""
    return r.ManagedAlert(int(row[0]), row[1], float(row[2]), row[3], row[4], row[5], row[6],
                          row[7], row[8], float(row[9]))


def _binding(row: Sequence[Any]) -> r.Binding:
    return r.Binding(row[0], row[1], row[2], row[3], row[4], bool(row[5]))


class SQLTx(ABC):
    """The writes of one transaction that are alike on both backends."""

    dialect: Dialect
    now: float
    items_to_wake: dict[str, bool]  # item -> urgent (a caller waits)

    @abstractmethod
    def execute(self, query: Any, params: Any = ()) -> Cursor:
        """Run one statement of this transaction (in the backend's own placeholders)."""

    @abstractmethod
    def log(self, entries: list[r.LogEntry]) -> None:
        """Append event log entries."""

    def run(self, text: str, params: Sequence[Any] = ()) -> Cursor:
        """Run ``text``, written with ``?`` placeholders, in this transaction."""
        return self.execute(self.dialect.sql(text), params)

    def finish_delivery(self, queue_id: int, owner: str) -> bool:
        """Remove a claimed queue entry; False when the lease was lost to another job."""
        return self.run("DELETE FROM queue WHERE id = ? AND lease_owner = ?",
                        (queue_id, owner)).rowcount == 1

    def change_status(self, header_id: int, expected: str, status: str,
                      error: str | None = None) -> bool:
        """Move a header from ``expected`` to ``status``; False when it is not ``expected``."""
        return self.run("UPDATE headers SET status = ?, error = COALESCE(?, error), "
                        "processed = ? WHERE id = ? AND status = ?",
                        (status, error, self.now, header_id, expected)).rowcount == 1

    def release_delivery(self, queue_id: int, header_id: int, owner: str) -> bool:
        """Put a claimed entry back at its place in the queue, claimable again."""
        if self.run("UPDATE queue SET lease_owner = NULL, lease_until = NULL "
                    "WHERE id = ? AND lease_owner = ?", (queue_id, owner)).rowcount != 1:
            return False
        self.run("UPDATE headers SET status = 'queued' WHERE id = ? AND status = 'delivered'",
                 (header_id,))
        return True

    def set_status(self, header_id: int, status: str, error: str | None = None) -> bool:
        """Record a header's new status; False when its caller had timed out (status kept)."""
        return self.run(
            "UPDATE headers SET status = ?, error = COALESCE(?, error), processed = ? "
            "WHERE id = ? AND NOT (status = 'error' AND error LIKE ?)",
            (status, error, self.now, header_id, r.TIMED_OUT + "%")).rowcount == 1

    def withdraw_queued(self, item: str, header_id: int, status: str,
                        error: str | None) -> bool:
        """Take a waiting (not leased) message out of ``item``'s queue and give its header
        ``status``; False when it is not waiting there (gone, or a job holds it)."""
        if self.run("DELETE FROM queue WHERE item = ? AND header_id = ? "
                    "AND lease_owner IS NULL", (item, header_id)).rowcount < 1:
            return False
        self.run("UPDATE headers SET status = ?, error = COALESCE(?, error), processed = ? "
                 "WHERE id = ?", (status, error, self.now, header_id))
        return True

    def save_context(self, ctx: r.Context) -> None:
        """Insert or replace a business process context, releasing its owner."""
        self.run(_UPSERT_CONTEXT, (
            ctx.id, ctx.item, ctx.request_id, ctx.state, ctx.response_class, ctx.response_text,
            ctx.pending, bool(ctx.replied), ctx.failed, None, None, self.now))

    def delete_context(self, context_id: int) -> None:
        """Forget a finished business process instance."""
        self.run("DELETE FROM contexts WHERE id = ?", (context_id,))

    def forget_caller(self, header_id: int) -> None:
        """Nobody waits for this request's response any more (its caller was answered): the
        response, when it comes, is kept for the trace only."""
        self.run("UPDATE headers SET reply_to = NULL, response_required = ? WHERE id = ?",
                 (False, header_id))

    def update_alert(self, alert_id: int, expected: str, state: str, owner: str, author: str,
                     action: str, text: str = "") -> bool:
        """Move a managed alert from ``expected`` to ``state`` with ``owner`` and record the
        action taken; False when no alert has that id and state."""
        if self.run("UPDATE managed_alerts SET state = ?, owner = ?, updated = ? "
                    "WHERE id = ? AND state = ?",
                    (state, owner, self.now, alert_id, expected)).rowcount != 1:
            return False
        self.run("INSERT INTO alert_notes (alert_id, time, author, action, text) "
                 "VALUES (?, ?, ?, ?, ?)", (alert_id, self.now, author, action, text))
        return True


TxT = TypeVar("TxT", bound=SQLTx)


class SQLStore(ABC, Generic[TxT]):
    """A store on an SQL database: what SQLiteStore and PostgresStore do alike.

    A backend provides its connections (:meth:`_rows` for reads, :meth:`transaction` for
    writes), commits a group of sends (:meth:`_commit_sends`) and deletes a purge's batch
    (:meth:`_purge_sessions`); everything else here is written once.
    """

    _runtime_fields: frozenset[str]  # the runtime row's fields update_runtime may change
    # What the monitor's counters are read from (a backend may keep deltas beside them).
    _counts_source = "item_counts"
    _rate_source = "message_rate"

    def __init__(self, dialect: Dialect, namespace: str, location: str, host: str) -> None:
        self.dialect = dialect
        self.namespace = namespace
        self.location = location
        self.host = host  # whose runtime row this store reads and writes
        self.db_seconds = 0.0  # time spent inside write transactions, for bench/
        self.outage_record = OutageRecord()
        self._local = threading.local()
        self._group = GroupCommit(self._commit_sends)
        # FlushBeforeAcknowledge (iop.engine.durability): False trades the barrier below
        # for speed, at the risk of losing acknowledged messages in an OS crash or power cut.
        self.flush_before_ack = True
        self._flushes = FlushGroup(self._flush)

    # ------------------------------------------------------------ what a backend provides
    @abstractmethod
    def _rows(self, query: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """The rows of one read with this thread's connection."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[TxT]:
        """One write transaction."""

    @abstractmethod
    def _commit_sends(self, batch: list[PendingSend]) -> list[int]:
        """Write a group commit's batch in one transaction; the header ids of its drafts."""

    @abstractmethod
    def _purge_sessions(self, tx: TxT, sessions: list[int], before: float, bodies: bool,
                        include_incomplete: bool, counts: dict[str, int]) -> None:
        """Inside ``tx``: delete what a purge may of the candidate ``sessions``."""

    @abstractmethod
    def _runtime_row(self, tx: TxT, of_host: str | None) -> tuple[str, list[Any]]:
        """Inside ``tx``: the WHERE condition (and its args) of the runtime row that
        :meth:`update_runtime` changes for ``of_host``."""

    def _flush(self) -> None:
        """Make every commit this process made (or read) so far durable: the backend's part
        of :meth:`flush_acknowledged`."""
        raise NotImplementedError

    @property
    def flush_count(self) -> int:
        """Flushes the barrier made in this process (for tests and bench/)."""
        return self._flushes.flushes

    def flush_acknowledged(self) -> None:
        """The durability barrier: called before anything is acknowledged outside, it returns
        once the commits this process made are flushed to stable storage (one grouped flush
        for all its threads; nothing to do when none was made since the last one)."""
        if self.flush_before_ack:
            self._flushes.barrier()

    def _housekeeping(self) -> AbstractContextManager[TxT]:
        """A transaction whose loss in a server crash only means work done again
        (heartbeats, leases); as durable as any other unless the backend can spare that."""
        return self.transaction()

    def _compact_counters(self, tx: TxT) -> None:
        """Inside a purge's last transaction: fold the counters' deltas a backend keeps
        (nothing by default: the counters are updated in place)."""

    def inputs_paused(self) -> str | None:
        """Why new input must wait now; a server database's disk is not this host's to
        watch, so by default never."""
        return None

    def _read(self, text: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        return self._rows(self.dialect.sql(text), params)

    def verify_integrity(self) -> None:
        """Nothing to check by default: a database server checks its own pages."""

    # ------------------------------------------------------------ messages and log
    def send(self, drafts: list[r.MessageDraft], logs: list[r.LogEntry] | None = None) -> list[int]:
        """Store messages (and log lines) durably; returns their header ids.

        Concurrent callers in this process share commits (group commit): one caller at a time
        leads, committing every send queued so far; the others sleep until theirs is in, so
        a caller whose send was committed returns without waiting for the next commit.
        """
        return self._group.send(drafts, logs or [])

    def log(self, entries: list[r.LogEntry]) -> None:
        """Append event log entries in their own transaction."""
        if entries:
            with self.transaction() as tx:
                tx.log(entries)

    def get_header(self, header_id: int) -> r.Header | None:
        rows = self._read(f"SELECT {HEADER_COLUMNS} FROM headers WHERE id = ?", (header_id,))
        return header(rows[0]) if rows else None

    def get_body(self, header: r.Header) -> str | None:
        """The JSON text of a header's body."""
        if header.body_id is None:
            return None
        rows = self._read("SELECT data FROM bodies WHERE id = ?", (header.body_id,))
        return rows[0][0] if rows else None

    def find_response(self, request_id: int) -> tuple[r.Header, str | None] | None:
        """The response header written for ``request_id`` and its body text, if any."""
        rows = self._read(
            f"SELECT {HEADER_COLUMNS_H}, b.data FROM headers q JOIN headers h "
            "ON h.id = q.corresponding_id LEFT JOIN bodies b ON b.id = h.body_id "
            "WHERE q.id = ? AND h.type = 'response'", (request_id,))
        return (header(rows[0][:-1]), rows[0][-1]) if rows else None

    def query_headers(self, *, session_id: int | None = None, status: str | None = None,
                      target: str | None = None, source: str | None = None,
                      type: str | None = None, before_id: int | None = None,
                      limit: int = 100, oldest_first: bool = False) -> list[r.Header]:
        """Headers matching every given filter, newest first unless ``oldest_first``."""
        query, args = q.header_list_sql(
            self.dialect.mark, HEADER_COLUMNS, session_id=session_id, status=status,
            target=target, source=source, type=type, before_id=before_id, limit=limit,
            oldest_first=oldest_first)
        return [header(row) for row in self._rows(query, args)]

    def count_by_status(self, *, session_id: int | None = None, status: str | None = None,
                        target: str | None = None, source: str | None = None,
                        type: str | None = None) -> dict[str, int]:
        """Messages by status among those matching every given filter."""
        query, args = q.header_count_sql(self.dialect.mark, session_id=session_id,
                                         status=status, target=target, source=source, type=type)
        return {found: int(n) for found, n in self._rows(query, args)}

    def load_context(self, context_id: int) -> r.Context | None:
        rows = self._read(f"SELECT {_CONTEXT_COLUMNS} FROM contexts WHERE id = ?", (context_id,))
        if not rows:
            return None
        ctx = r.Context(*rows[0])
        ctx.replied = bool(ctx.replied)
        return ctx

    def log_since(self, last_id: int, limit: int | None = None) -> list[r.LogEntry]:
        """Entries with id greater than ``last_id``, oldest first."""
        query = f"SELECT {LOG_COLUMNS} FROM log WHERE id > ? ORDER BY id"
        args: list[Any] = [last_id]
        if limit:
            query += " LIMIT ?"
            args.append(limit)
        return [r.LogEntry(*row) for row in self._read(query, args)]

    def log_top(self, count: int) -> list[r.LogEntry]:
        """The newest ``count`` entries, newest first."""
        return [r.LogEntry(*row) for row in self._read(
            f"SELECT {LOG_COLUMNS} FROM log ORDER BY id DESC LIMIT ?", (count,))]

    # ------------------------------------------------------------ queues
    def queue_counts(self) -> dict[str, int]:
        """Entries waiting (or in progress) per item."""
        return {item: int(n) for item, n in self._read(
            "SELECT item, COUNT(*) FROM queue GROUP BY item")}

    def queue_stats(self) -> dict[str, tuple[int, float]]:
        """Per item: entries in its queue and when the oldest of them was queued."""
        return {item: (int(n), float(oldest)) for item, n, oldest in self._read(
            "SELECT item, COUNT(*), MIN(enqueued) FROM queue GROUP BY item")}

    def queue_entries(self, item: str, *, after_id: int | None = None,
                      limit: int = 50) -> list[r.QueueEntry]:
        """One page of ``item``'s queue in the order its jobs take it (oldest first), each
        entry after queue entry ``after_id``; in-progress entries carry their lease owner."""
        return [_queue_entry(row) for row in self._read(
            f"SELECT {_QUEUE_ENTRY_COLUMNS} FROM queue q JOIN headers h ON h.id = q.header_id "
            "WHERE q.item = ? AND q.id > ? ORDER BY q.id LIMIT ?", (item, after_id or 0, limit))]

    def queued_entry(self, item: str, header_id: int) -> r.QueueEntry | None:
        """Message ``header_id``'s entry in ``item``'s queue, if it is there."""
        rows = self._read(
            f"SELECT {_QUEUE_ENTRY_COLUMNS} FROM queue q JOIN headers h ON h.id = q.header_id "
            "WHERE q.item = ? AND q.header_id = ? ORDER BY q.id LIMIT 1", (item, header_id))
        return _queue_entry(rows[0]) if rows else None

    def pending_sync_requests(self) -> int:
        """Synchronous requests still queued, whose callers wait for an answer."""
        return int(self._read(
            "SELECT COUNT(*) FROM queue q JOIN headers h ON h.id = q.header_id "
            "WHERE h.priority = 'sync' AND h.type = 'request'")[0][0])

    # ------------------------------------------------------------ the production monitor
    def item_counts(self) -> dict[str, r.ItemCounts]:
        """Per item, what the schema's counters hold (kept by triggers as headers are
        written): messages it received by status, messages it sent, its last activity."""
        found: dict[str, r.ItemCounts] = {}
        for item, side, status, n, last in self._read(
                f"SELECT item, side, status, SUM(n), MAX(last) FROM {self._counts_source} "
                "GROUP BY item, side, status"):
            counts = found.setdefault(item, r.ItemCounts())
            if side == "in":
                if int(n):
                    counts.received[status] = int(n)
            else:
                counts.sent = int(n)
            counts.last = max(counts.last, float(last or 0.0))
        return found

    def message_rate(self, since: float) -> list[tuple[int, int, int]]:
        """(minute, messages created, errors) per minute from ``since`` (epoch seconds) on;
        a minute is epoch seconds // 60."""
        return [(int(m), int(n), int(e)) for m, n, e in self._read(
            f"SELECT minute, SUM(n), SUM(errors) FROM {self._rate_source} WHERE minute >= ? "
            "GROUP BY minute ORDER BY minute", (int(since // 60),))]

    def newest_log(self, item: str, type: str, after_id: int = 0,
                   limit: int = 1) -> list[r.LogEntry]:
        """An item's newest event log entries of one type after ``after_id``, newest first
        (an index on item, type and id finds them without a scan)."""
        return [r.LogEntry(*row) for row in self._read(
            f"SELECT {LOG_COLUMNS} FROM log WHERE item = ? AND type = ? AND id > ? "
            "ORDER BY id DESC LIMIT ?", (item, type, after_id, limit))]

    def queue_activity(self) -> dict[str, tuple[int, float, int]]:
        """Per item: entries in its queue, when the oldest was queued, and how many of
        them a job holds now (being worked on, or retried)."""
        return {item: (int(n), float(oldest), int(held or 0)) for item, n, oldest, held in
                self._read("SELECT item, COUNT(*), MIN(enqueued), "
                           "SUM(CASE WHEN lease_owner IS NULL THEN 0 ELSE 1 END) "
                           "FROM queue GROUP BY item")}

    # ------------------------------------------------------------ managed alerts
    def list_alerts(self, *, states: Sequence[str] = r.ALERT_STATES, item: str | None = None,
                    before_id: int | None = None, limit: int = 50) -> list[r.ManagedAlert]:
        """One page of managed alerts in ``states``, newest first (without their notes);
        the index on state and id finds them without a scan."""
        where = [f"state IN ({', '.join('?' * len(states))})"]
        args: list[Any] = list(states)
        if item is not None:
            where.append("item = ?")
            args.append(item)
        if before_id is not None:
            where.append("id < ?")
            args.append(before_id)
        rows = self._read(f"SELECT {_ALERT_COLUMNS} FROM managed_alerts WHERE "
                          f"{' AND '.join(where)} ORDER BY id DESC LIMIT ?", (*args, limit))
        return [_alert(row) for row in rows]

    def get_alert(self, alert_id: int) -> r.ManagedAlert | None:
        """One managed alert with the actions taken on it, oldest first."""
        rows = self._read(f"SELECT {_ALERT_COLUMNS} FROM managed_alerts WHERE id = ?",
                          (alert_id,))
        if not rows:
            return None
        found = _alert(rows[0])
        found.notes = [r.AlertNote(float(t), a, act, text) for t, a, act, text in self._read(
            "SELECT time, author, action, text FROM alert_notes WHERE alert_id = ? ORDER BY id",
            (alert_id,))]
        return found

    def alert_counts(self, states: Sequence[str] = r.ALERT_STATES) -> dict[str, int]:
        """Managed alerts by state, of ``states`` only (a state with none is left out); the
        index on state counts only those, however many others the store keeps."""
        return {state: int(n) for state, n in self._read(
            f"SELECT state, COUNT(*) FROM managed_alerts WHERE state IN "
            f"({', '.join('?' * len(states))}) GROUP BY state", tuple(states))}

    def newest_log_id(self) -> int:
        """The id of the newest event log entry (0 for none)."""
        rows = self._read("SELECT MAX(id) FROM log")
        return int(rows[0][0] or 0)

    # ------------------------------------------------------------ the operator's searches
    def search_messages(self, f: q.MessageFilter, *, before_id: int | None = None,
                        after_id: int | None = None, limit: int = 50) -> list[r.Header]:
        """One page of headers matching ``f``, in its order (see iop.store.queries)."""
        query, args, turn = q.message_search_sql(
            f, self.dialect.mark, self.dialect.like, HEADER_COLUMNS_H, before_id, after_id,
            limit, trouble_column=self.dialect.trouble_column,
            body_exists=self.dialect.body_exists, known_items=self._named_items(f),
            typed=self._typed_table(f))
        rows = [header(row) for row in self._rows(query, args)]
        return rows[::-1] if turn else rows

    def count_messages(self, f: q.MessageFilter, cap: int = 10_000) -> int:
        """How many headers match ``f``, counted up to ``cap`` (reaching it means "at
        least")."""
        query, args = q.message_count_sql(
            f, self.dialect.mark, self.dialect.like, max(1, cap),
            trouble_column=self.dialect.trouble_column, body_exists=self.dialect.body_exists,
            known_items=self._named_items(f), typed=self._typed_table(f))
        return int(self._rows(query, args)[0][0])

    def _typed_table(self, f: q.MessageFilter) -> q.TypedTable | None:
        """The typed table of the PersistentMessage class ``f`` names in full, when it has
        conditions: its declared fields are then tested on the table's columns."""
        if not f.conditions or not f.body_class or "." not in f.body_class:
            return None
        table = self._typed_table_name(f.body_class)
        columns = {str(name): "number" if str(kind).lower() in _NUMBER_TYPES else "string"
                   for name, kind in self._rows(self.dialect.typed_columns_sql, (table,))
                   if name != "body_id"}
        return q.TypedTable(table, columns) if columns else None

    def _typed_table_name(self, class_name: str) -> str:
        """The name of a PersistentMessage class's typed table in this database."""
        return table_name(class_name)

    def _named_items(self, f: q.MessageFilter) -> list[str] | None:
        """The names partial source and target names are looked up in: every item that
        ever sent or received a message, from the monitor's counters (a few dozen rows)."""
        if not f.source and not f.target:
            return None
        found = {row[0] for row in self._read(f"SELECT DISTINCT item FROM {self._counts_source}")}
        return sorted(found.union(f.item_names))

    def search_log(self, f: q.LogFilter, *, before_id: int | None = None,
                   after_id: int | None = None, limit: int = 100) -> list[r.LogEntry]:
        """One page of event log entries matching ``f``, newest first."""
        query, args, turn = q.log_search_sql(f, self.dialect.mark, self.dialect.like,
                                             LOG_COLUMNS, before_id, after_id, limit)
        rows = [r.LogEntry(*row) for row in self._rows(query, args)]
        return rows[::-1] if turn else rows

    def recent_body_classes(self, scan: int = 5000) -> list[str]:
        """Body classes among the newest ``scan`` messages (choices for a filter)."""
        return [row[0] for row in self._read(
            "SELECT DISTINCT body_class FROM (SELECT body_class FROM headers ORDER BY id DESC "
            "LIMIT ?) recent WHERE body_class IS NOT NULL ORDER BY 1", (scan,))]

    def get_applied(self, name: str) -> dict[str, Any] | None:
        """The definition the production's running supervisor last applied, if any."""
        rows = self._read("SELECT applied FROM productions WHERE name = ?", (name,))
        return json.loads(rows[0][0]) if rows and rows[0][0] else None

    # ------------------------------------------------------------ maintenance
    def purge(self, before: float, *, bodies: bool = False,
              include_incomplete: bool = False) -> dict[str, int]:
        """Delete complete sessions, log lines and closed managed alerts older than
        ``before`` (epoch seconds).

        Work goes in batches of sessions, one short transaction each, so a running production
        keeps committing in between. The newest header and log line are always kept, so ids
        never repeat after a purge.
        """
        counts = {"sessions": 0, "headers": 0, "bodies": 0, "log": 0, "alerts": 0}
        candidates = q.purge_candidates_sql(self.dialect.mark, include_incomplete)
        last = 0
        while True:
            sessions = [row[0] for row in self._rows(candidates, (last, before, _PURGE_BATCH))]
            if not sessions:
                break
            last = sessions[-1]
            with self.transaction() as tx:
                self._purge_sessions(tx, sessions, before, bodies, include_incomplete, counts)
        with self.transaction() as tx:
            counts["log"] = tx.run("DELETE FROM log WHERE time < ? AND id < "
                                   "(SELECT MAX(id) FROM log)", (before,)).rowcount
            # Managed alerts outlive their log lines; closed ones go once closed long enough.
            tx.run("DELETE FROM alert_notes WHERE alert_id IN (SELECT id FROM managed_alerts "
                   "WHERE state = 'closed' AND updated < ?)", (before,))
            counts["alerts"] = tx.run("DELETE FROM managed_alerts WHERE state = 'closed' "
                                      "AND updated < ?", (before,)).rowcount
            self._compact_counters(tx)
            # The rate chart shows the last hour: older minutes go with the purge.
            tx.run("DELETE FROM message_rate WHERE minute < ?",
                   (int(min(before, tx.now - 7200) // 60),))
        return counts

    def purge_preview(self, before: float, *,
                      include_incomplete: bool = False) -> dict[str, int]:
        """What ``purge(before, ...)`` would delete if it ran now: sessions, messages and
        event log lines (nothing is changed). One read over the headers: for a review page,
        not for a loop."""
        sessions, headers = self._rows(q.purge_preview_sql(self.dialect.mark,
                                                           include_incomplete), (before,))[0]
        log = self._rows(f"SELECT COUNT(*) FROM log WHERE time < {self.dialect.mark} AND id < "
                         "(SELECT MAX(id) FROM log)", (before,))[0][0]
        return {"sessions": int(sessions), "headers": int(headers), "log": int(log)}

    # ------------------------------------------------------------ productions
    def save_production(self, name: str, definition: dict[str, Any]) -> None:
        text = json.dumps(definition)  # text, not jsonb: the export keeps its key order
        with self.transaction() as tx:
            tx.run("INSERT INTO productions (name, definition, updated) VALUES (?, ?, ?) "
                   "ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, "
                   "updated = excluded.updated", (name, text, tx.now))

    def get_production(self, name: str) -> dict[str, Any] | None:
        rows = self._read("SELECT definition FROM productions WHERE name = ?", (name,))
        return json.loads(rows[0][0]) if rows else None

    def list_productions(self) -> list[dict[str, Any]]:
        rows = self._read(
            "SELECT name, last_start, last_stop, auto_start FROM productions ORDER BY name")
        return [{"name": n, "last_start": s, "last_stop": e, "auto_start": int(a)}
                for n, s, e, a in rows]

    def delete_production(self, name: str) -> bool:
        with self.transaction() as tx:
            return tx.run("DELETE FROM productions WHERE name = ?", (name,)).rowcount == 1

    def mark_production(self, name: str, *, started: bool = False, stopped: bool = False,
                        applied: dict[str, Any] | None = None) -> None:
        """Record start/stop times and the definition the running supervisor applied."""
        with self.transaction() as tx:
            if started:
                tx.run("UPDATE productions SET last_start = ? WHERE name = ?", (tx.now, name))
            if stopped:
                tx.run("UPDATE productions SET last_stop = ? WHERE name = ?", (tx.now, name))
            if applied is not None:
                tx.run("UPDATE productions SET applied = ? WHERE name = ?",
                       (json.dumps(applied), name))

    def get_meta(self, key: str, default: str = "") -> str:
        rows = self._read("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else default

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as tx:
            tx.run(_UPSERT_META, (key, value))

    # ------------------------------------------------------------ class registry
    def put_binding(self, b: r.Binding) -> None:
        with self.transaction() as tx:
            tx.run(_UPSERT_BINDING, (b.class_name, b.module, b.classname, b.classpath, b.kind,
                                      bool(b.generated), tx.now))

    def get_binding(self, class_name: str) -> r.Binding | None:
        rows = self._read(f"SELECT {_BINDING_COLUMNS} FROM bindings WHERE class_name = ?",
                          (class_name,))
        return _binding(rows[0]) if rows else None

    def list_bindings(self) -> list[r.Binding]:
        return [_binding(row) for row in self._read(
            f"SELECT {_BINDING_COLUMNS} FROM bindings ORDER BY class_name")]

    def delete_binding(self, class_name: str) -> bool:
        with self.transaction() as tx:
            return tx.run("DELETE FROM bindings WHERE class_name = ?",
                          (class_name,)).rowcount == 1

    def add_classpath(self, path: str) -> None:
        with self.transaction() as tx:
            tx.run("INSERT INTO classpaths (path) VALUES (?) ON CONFLICT (path) DO NOTHING",
                   (path,))

    def list_classpaths(self) -> list[str]:
        return [row[0] for row in self._read(
            f"SELECT path FROM classpaths ORDER BY {self.dialect.insertion_order}")]

    # ------------------------------------------------------------ connectors' state
    def put_credential(self, name: str, username: str, secret: bytes) -> None:
        with self.transaction() as tx:
            tx.run(_UPSERT_CREDENTIAL, (name, username, bytes(secret), tx.now))

    def get_credential(self, name: str) -> tuple[str, bytes] | None:
        rows = self._read("SELECT username, secret FROM credentials WHERE name = ?", (name,))
        return (rows[0][0], bytes(rows[0][1])) if rows else None

    def list_credentials(self) -> list[tuple[str, str, float]]:
        return [(n, u, float(t)) for n, u, t in self._read(
            "SELECT name, username, updated FROM credentials ORDER BY name")]

    def delete_credential(self, name: str) -> bool:
        with self.transaction() as tx:
            return tx.run("DELETE FROM credentials WHERE name = ?", (name,)).rowcount == 1

    def get_adapter_state(self, item: str, scope: str, key: str) -> str | None:
        rows = self._read("SELECT value FROM adapter_state WHERE item = ? AND scope = ? "
                          "AND key = ?", (item, scope, key))
        return rows[0][0] if rows else None

    def put_adapter_state(self, item: str, scope: str, key: str, value: str = "") -> None:
        with self.transaction() as tx:
            tx.run(_UPSERT_ADAPTER_STATE, (item, scope, key, value, tx.now))

    def delete_adapter_state(self, item: str, scope: str, key: str | None = None) -> int:
        with self.transaction() as tx:
            if key is None:
                return tx.run("DELETE FROM adapter_state WHERE item = ? AND scope = ?",
                              (item, scope)).rowcount
            return tx.run("DELETE FROM adapter_state WHERE item = ? AND scope = ? AND key = ?",
                          (item, scope, key)).rowcount

    def list_adapter_state(self, item: str, scope: str, *, after: str = "",
                           limit: int = 1000) -> list[tuple[str, str]]:
        return [(k, v) for k, v in self._read(
            "SELECT key, value FROM adapter_state WHERE item = ? AND scope = ? AND key > ? "
            "ORDER BY key LIMIT ?", (item, scope, after, int(limit)))]

    # ------------------------------------------------------------ runtime state and jobs
    def update_runtime(self, of_host: str | None = None, **fields: Any) -> None:
        """Change fields of a supervisor's runtime row (which one: :meth:`_runtime_row`)."""
        if not fields:
            return
        unknown = set(fields) - self._runtime_fields
        if unknown:
            raise StoreError(f"unknown runtime field(s): {', '.join(sorted(unknown))}")
        with self.transaction() as tx:
            where, args = self._runtime_row(tx, of_host)
            sets = ", ".join(f"{k} = ?" for k in fields)
            tx.run(f"UPDATE runtime SET {sets} WHERE {where}", [*fields.values(), *args])

    def put_job(self, job: r.JobRecord) -> None:
        with self.transaction() as tx:
            tx.run(_UPSERT_JOB, (job.id, job.item, job.slot, job.pid, job.host, job.state,
                                  job.started, job.heartbeat, job.processed))

    def heartbeat_job(self, job_id: str, processed: int, state: str = "running") -> None:
        with self._housekeeping() as tx:
            tx.run("UPDATE jobs SET heartbeat = ?, processed = ?, state = ? WHERE id = ?",
                   (tx.now, processed, state, job_id))

    def delete_job(self, job_id: str) -> None:
        with self.transaction() as tx:
            tx.run("DELETE FROM jobs WHERE id = ?", (job_id,))

    def list_jobs(self, host: str | None = None) -> list[r.JobRecord]:
        """Every host's jobs, or only ``host``'s."""
        if host is None:
            return [r.JobRecord(*row) for row in self._read(
                f"SELECT {_JOB_COLUMNS} FROM jobs ORDER BY item, slot, host")]
        return [r.JobRecord(*row) for row in self._read(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE host = ? ORDER BY item, slot", (host,))]
