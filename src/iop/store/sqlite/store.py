"""The embedded store: one SQLite database per namespace, WAL mode, fair cross-process writes.

Writers queue on an ``flock`` held for the length of each transaction, so the kernel puts
them to sleep and wakes them in turn; SQLite's own busy handler (sleep and retry) is known
to starve a writer when another process commits in a tight loop.
"""

from __future__ import annotations

import errno
import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from iop.errors import StoreUnavailable
from iop.store import host_name
from iop.store import records as r
from iop.store.disk import LastResort, SpaceGuard, is_disk_full, mb
from iop.store.errors import StoreDamaged, StoreError
from iop.store.fork_reset import reset_in_forked_child
from iop.store.group_commit import PendingSend
from iop.store.private import make_private_folder
from iop.store.sql import SQLStore
from iop.store.sqlite import integrity, purge
from iop.store.sqlite.duty import FileDuty
from iop.store.sqlite.schema import MIGRATIONS, SCHEMA_VERSION
from iop.store.sqlite.tx import SQLITE, SQLiteTx
from iop.store.wakeups.sockets import SocketNotifier

# Pages (of 2 KB: 16 MB) the WAL may hold before a committing process checkpoints it; while
# a production runs its supervisor checkpoints long before (SQLiteStore.checkpoint).
WAL_AUTOCHECKPOINT_PAGES = 8192
# The WAL bound (docs/operations.md, "Disk space"): past WAL_TRUNCATE_BYTES the supervisor's
# checkpoint waits for readers and truncates the file to zero; a WAL reset by a writer is cut
# back to JOURNAL_SIZE_LIMIT. Between two checkpoints (CHECKPOINT_SECONDS of the supervisor)
# it grows by what the production writes meanwhile: WAL_BOUND_BYTES holds at the engine's
# peak write rate.
WAL_TRUNCATE_BYTES = 4 * 1024 * 1024
JOURNAL_SIZE_LIMIT = 4 * 1024 * 1024
WAL_BOUND_BYTES = 32 * 1024 * 1024
CHECKPOINT_BUSY_MS = 2000  # how long a truncating checkpoint waits for readers
# An outage is written to the last-resort file once per process, again after this long; its
# end too, when it lasted OUTAGE_SETTLED_SECONDS (a write that slips through a full disk, as
# the WAL reuses its pages, does not end it).
OUTAGE_REPEAT_SECONDS = 30.0
OUTAGE_SETTLED_SECONDS = 2.0

# SQLite's primary result codes that mean "wait and try again" rather than a broken store.
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_IOERR, _SQLITE_FULL = 5, 6, 10, 13
_TRANSIENT = {_SQLITE_BUSY: "busy", _SQLITE_LOCKED: "locked", _SQLITE_IOERR: "I/O error",
              _SQLITE_FULL: "disk full"}

_RUNTIME_COLUMNS = "production, status, supervisor_pid, host, heartbeat, requested"


def _state(row: tuple[Any, ...]) -> r.RuntimeState:
    state = r.RuntimeState(*row)
    state.age = time.time() - state.heartbeat
    return state


class SQLiteStore(SQLStore[SQLiteTx]):
    """Store backend on one SQLite file per namespace (DESIGN.md, "The store").

    One host shares the file, so there is one supervisor row: ``list_runtimes`` shows it,
    ``fence_stale_hosts`` never finds another host, and duties are ``flock``s.
    """

    backend = "sqlite"
    claims_after_commit = False
    _runtime_fields = frozenset({"production", "status", "supervisor_pid", "host", "heartbeat",
                                 "requested"})

    def __init__(self, path: str, namespace: str = "USER") -> None:
        self.path = os.path.abspath(path)
        super().__init__(SQLITE, namespace, self.path, host_name())
        self._write_lock = threading.RLock()
        self._lock_path = self.path + ".lock"
        self.notifier = SocketNotifier(self.path, os.path.join(os.path.dirname(self.path), "wake"))
        self.space = SpaceGuard(os.path.dirname(self.path))
        self.last_resort = LastResort(os.path.dirname(self.path))
        # (When an outage began and ended is self.outage_record, shared with the engine.)
        self._noted_at = 0.0  # when the current outage was last written to the last resort
        reset_in_forked_child(self._forget_connections)
        self._wal: tuple[int, int, int] | None = None  # (pid, fd, inode) of the WAL file
        # The newest rows (_newest_rows) when a checkpoint last copied the whole WAL.
        self._checkpointed_upto: tuple[Any, ...] | None = None

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
        # An existing empty file is damage to name, never a fresh namespace (a new store
        # appears whole, header first); a foreign one SQLite names (NOTADB) below.
        problem = integrity.file_problem(self.path)
        if problem:
            raise StoreDamaged(self.path, problem)
        try:
            make_private_folder(os.path.dirname(self.path))
            integrity.create_store_file(self.path)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                   timeout=30)
            # Smaller pages mean fewer bytes of WAL per small message (applies to new files).
            conn.execute("PRAGMA page_size=2048")
            conn.execute("PRAGMA journal_mode=WAL")
            # Commits are not fsynced: before anything is acknowledged outside,
            # flush_acknowledged fsyncs the WAL once for all recent commits (_flush).
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=OFF")
            conn.execute("PRAGMA cache_size=-16000")
            conn.execute("PRAGMA mmap_size=268435456")
            # Writers leave the WAL to a running production's supervisor (checkpoint()):
            # a checkpoint in a committing process stalls its caller for its fsyncs. This
            # larger limit only keeps the WAL bounded when no production runs.
            conn.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
            conn.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
        except sqlite3.DatabaseError as exc:
            integrity.raise_if_damaged(self.path, exc)
            raise self._failure(exc, "cannot open the store") from exc
        except OSError as exc:
            self._raise_if_outage(exc, "cannot open the store")
            raise
        return conn

    # ------------------------------------------------------------ outages
    def _failure(self, exc: Exception, doing: str = "store") -> StoreError:
        """The store error for ``exc``: StoreUnavailable for a condition that passes (disk
        full, busy beyond the timeout, an I/O error), naming the store, the cause and the
        free space. The outage begins on the store's outage record; its first failure is also
        written to the last-resort file (again every OUTAGE_REPEAT_SECONDS while it lasts)."""
        code = getattr(exc, "sqlite_errorcode", None)
        what = _TRANSIENT.get(code & 0xFF) if isinstance(code, int) else None
        if isinstance(exc, OSError):
            what = "disk full" if is_disk_full(exc) else "I/O error" \
                if exc.errno == errno.EIO else None
        if what is None:
            return StoreError(f"{doing} {self.path}: {exc}")
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        if what in ("disk full", "I/O error"):
            try:
                free, _, total = self.space.free_line()
                detail += f"; {mb(free)} free of {mb(total)} on {self.space.folder}"
            except OSError:
                pass
        text = f"{doing} {self.path}: {what} ({detail}); waiting until it can be written again"
        now = time.monotonic()
        self.outage_record.begin(text)
        # Once per outage, at most every OUTAGE_REPEAT_SECONDS: a full disk lets reads (and
        # writes the WAL has room for) through, which may end an outage for a moment.
        if now - self._noted_at >= OUTAGE_REPEAT_SECONDS:
            self._noted_at = now
            self.last_resort.write(text)
        return StoreUnavailable(text)

    def _raise_if_outage(self, exc: OSError, doing: str = "store") -> None:
        """A side file's OSError: StoreUnavailable when the disk is full or failed an I/O."""
        failure = self._failure(exc, doing)
        if isinstance(failure, StoreUnavailable):
            raise failure from exc

    def _healed(self) -> None:
        """A write went through: the outage is over (said in the last-resort file when it
        lasted; the engine's event log lines come from the same record)."""
        spell = self.outage_record.end()
        if spell is not None and spell.seconds >= OUTAGE_SETTLED_SECONDS:
            self.last_resort.write(f"store {self.path} written again after "
                                   f"{spell.seconds:.1f} s ({spell.cause})")

    def inputs_paused(self) -> str | None:
        """Why new input must wait (free space below the threshold), or None."""
        return self.space.paused()

    def _lock_fd(self) -> int:
        try:
            return self._local.lock_fd  # type: ignore[no-any-return]
        except AttributeError:
            try:
                fd = self._local.lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                self._raise_if_outage(exc)
                raise
            return fd

    def _forget_connections(self) -> None:
        # In a forked child the parent's connections must not be used: start afresh.
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._group.reset()
        self._flushes.reset()

    # ------------------------------------------------------------ durability
    def _flush(self) -> None:
        """fdatasync the WAL file: every commit in it, this process's and any other's, is
        then on stable storage. A WAL that is gone was checkpointed first (SQLite fsyncs
        the WAL before a checkpoint and the database after it), so nothing is left to do."""
        path = self.path + "-wal"
        try:
            fd = self._wal_fd(path)
            if fd is not None:
                os.fdatasync(fd)
        except OSError as exc:
            self._raise_if_outage(exc, "cannot flush the store")
            raise

    def _wal_fd(self, path: str) -> int | None:
        """A descriptor of the WAL file now at ``path`` (None when there is none), reopened
        when the file was replaced since."""
        try:
            inode = os.stat(path).st_ino
        except FileNotFoundError:
            return None
        pid = os.getpid()
        if self._wal is not None and self._wal[0] == pid and self._wal[2] == inode:
            return self._wal[1]
        if self._wal is not None and self._wal[0] == pid:
            os.close(self._wal[1])
        self._wal = None
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        # A new WAL file: its directory entry must survive a power cut too.
        folder = os.open(os.path.dirname(path), os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
        self._wal = (pid, fd, os.fstat(fd).st_ino)
        return fd

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
        # A store already at this version (every open but the first) is only read: no write
        # transaction, which would wait for the write lock behind a busy production's jobs.
        if self.schema_version() == SCHEMA_VERSION:
            self.last_resort.reserve()
            return SCHEMA_VERSION
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
                step = MIGRATIONS[version]
                for statement in step.split(";") if isinstance(step, str) else step:
                    if statement.strip():
                        tx.conn.execute(statement)
            tx.conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
        self.last_resort.reserve()  # room for the lines of a full disk, while there is room
        return SCHEMA_VERSION

    def schema_version(self) -> int:
        try:
            row = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.OperationalError:
            return 0
        except sqlite3.DatabaseError as exc:
            integrity.raise_if_damaged(self.path, exc)
            raise
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
                    conn.execute("COMMIT")
                    self._flushes.note_commit()
                except BaseException:
                    # A failed COMMIT (disk full) may leave the transaction open: end it, or
                    # every later BEGIN of this connection fails.
                    if conn.in_transaction:
                        try:
                            conn.execute("ROLLBACK")
                        except sqlite3.DatabaseError:
                            pass
                    raise
            except sqlite3.DatabaseError as exc:
                integrity.raise_if_damaged(self.path, exc)
                raise self._failure(exc) from exc
            finally:
                self.db_seconds += time.perf_counter() - started
                fcntl.flock(fd, fcntl.LOCK_UN)
        if self.outage_record.since is not None:
            self._healed()
        if ring:
            self._ring(tx)

    def log(self, entries: list[r.LogEntry]) -> None:
        """Append event log entries; when the store cannot take them (disk full) they go to
        the last-resort file next to it instead, and the caller carries on."""
        try:
            super().log(entries)
        except StoreUnavailable:
            for entry in entries:
                where = f" [{entry.item}]" if entry.item else ""
                self.last_resort.write(f"event log not written: {entry.type}{where}: {entry.text}")

    def _ring(self, tx: SQLiteTx) -> None:
        for slot, owner, delivery in tx.handoffs:
            if not self.notifier.hand_over(delivery.header.target, slot, delivery):
                self._take_back(delivery, owner)
        for item, urgent in tx.items_to_wake.items():
            self.notifier.ring_item(item, urgent)
        for address in tx.addresses_to_wake:
            self.notifier.ring(address, tx.replies.get(address))

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

    # ------------------------------------------------------------ queues
    def has_work(self, item: str, owner: str | None = None) -> bool:
        """Cheap read: is anything claimable in ``item``'s queue (or handed to ``owner``)?"""
        return bool(self._rows(
            "SELECT 1 FROM queue WHERE item = ? AND (lease_until IS NULL OR lease_until < ? "
            "OR lease_owner = ?) LIMIT 1",
            (item, time.time(), owner),
        ))

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

    # ------------------------------------------------------------ maintenance
    def _purge_sessions(self, tx: SQLiteTx, sessions: list[int], before: float, bodies: bool,
                        include_incomplete: bool, counts: dict[str, int]) -> None:
        purge.purge_sessions(tx.conn, sessions, before, bodies, include_incomplete, counts)

    def checkpoint(self, routine: bool = False) -> None:
        """Copy committed WAL pages into the database file, without waiting for (or holding
        off) any writer or reader; the next writer then starts the WAL afresh. Readers that
        keep the WAL in use stop that restart: once the file passes WAL_TRUNCATE_BYTES the
        checkpoint holds writers off (on their lock, in turn), waits for readers and
        truncates it, which bounds the WAL (WAL_BOUND_BYTES).

        ``routine`` (the supervisor's tick): the passive checkpoint is made only when a
        message or an event log line was written since the last complete one. An idle
        production writes nothing but heartbeats (its supervisor's every second, each job's
        every two); checkpointing them fsynced the WAL and the database, and the next writer
        then synced the WAL's new header, a few times a second for rows nobody needs
        durable. They stay in the WAL until something else is written, or until the WAL
        passes WAL_TRUNCATE_BYTES (the truncating checkpoint below), after many minutes."""
        try:
            size = os.path.getsize(self.path + "-wal")
        except OSError:
            size = 0
        try:
            if size < WAL_TRUNCATE_BYTES:
                newest = self._newest_rows() if routine else None
                if newest is not None and newest == self._checkpointed_upto:
                    return
                busy, frames, copied = self.conn.execute(
                    "PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                if newest is not None and not busy and frames == copied:
                    self._checkpointed_upto = newest  # all of it is in the database file
                return
            with self.exclusive():
                self.conn.execute(f"PRAGMA busy_timeout={CHECKPOINT_BUSY_MS}")
                try:
                    self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                finally:
                    self.conn.execute("PRAGMA busy_timeout=30000")
        except (sqlite3.DatabaseError, StoreError):
            pass  # busy (a reader stayed) or disk full: the next tick tries again

    def _newest_rows(self) -> tuple[Any, ...]:
        """The newest message and event log line (their ids): what changes when anything
        besides heartbeats, leases and statuses is written."""
        row = self.conn.execute(
            "SELECT (SELECT max(id) FROM headers), (SELECT max(id) FROM log)").fetchone()
        return tuple(row) if row else ()

    def compact(self) -> bool:
        """Give free pages back to the file system when many are free; True when it did."""
        return purge.compact(self)

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

    # ------------------------------------------------------------ reads
    def _rows(self, query: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        try:
            return self.conn.execute(query, params or ()).fetchall()
        except sqlite3.DatabaseError as exc:
            integrity.raise_if_damaged(self.path, exc)
            raise self._failure(exc) from exc

    def verify_integrity(self) -> None:
        """Raise StoreDamaged when SQLite's quick check finds the file damaged."""
        problems = integrity.quick_check(self.path, conn=self.conn)
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise StoreDamaged(self.path, f"{problems[0]}{more}")

    # ------------------------------------------------------------ runtime state
    def get_runtime(self) -> r.RuntimeState:
        rows = self._rows(f"SELECT {_RUNTIME_COLUMNS} FROM runtime WHERE id = 1")
        return _state(rows[0]) if rows else r.RuntimeState()

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

    def _runtime_row(self, tx: SQLiteTx, of_host: str | None) -> tuple[str, list[Any]]:
        """The one supervisor row, whichever host is named."""
        return "id = 1", []

    def heartbeat_runtime(self) -> None:
        with self.transaction() as tx:
            tx.conn.execute("UPDATE runtime SET heartbeat = ? WHERE id = 1", (tx.now,))

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
