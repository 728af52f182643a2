"""SQLite's write-ahead log: committing processes never checkpoint it on their own (that would
stall a waiting caller for its fsyncs); a running production's supervisor does, often."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from iop.store import open_store
from iop.store import records as r
from iop.store.sqlite import SQLiteStore


@pytest.fixture
def sqlite_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SQLiteStore:
    for name in ("IOP_URL", "IOP_SETTINGS", "IOP_NAMESPACE", "IOP_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IOP_HOME", str(tmp_path / "home"))
    store = open_store("WAL")
    assert isinstance(store, SQLiteStore)
    return store


def _requests_in_database_file(store: SQLiteStore, tmp_path: Path) -> int:
    """Requests found in the main database file alone, as if its WAL were lost."""
    copy = tmp_path / "copy.db"
    shutil.copyfile(store.path, copy)
    with sqlite3.connect(copy) as conn:
        return int(conn.execute("SELECT count(*) FROM headers WHERE target = 'Op'").fetchone()[0])


def test_commits_stay_in_the_wal_until_a_checkpoint(sqlite_store: SQLiteStore,
                                                    tmp_path: Path) -> None:
    sqlite_store.checkpoint()
    # Enough commits for SQLite's own default (1,000 pages) to have checkpointed meanwhile.
    for n in range(300):
        sqlite_store.send([r.MessageDraft("Svc", "Op", "demo.Msg", f'{{"n":{n}}}')])
    assert _requests_in_database_file(sqlite_store, tmp_path) == 0  # all in the WAL
    sqlite_store.checkpoint()
    assert _requests_in_database_file(sqlite_store, tmp_path) == 300
    # Nothing was lost or doubled on the way, and the store still reads and writes.
    assert len(sqlite_store.query_headers(target="Op", limit=0)) == 300
    sqlite_store.send([r.MessageDraft("Svc", "Op", "demo.Msg", '{"n":300}')])
    assert len(sqlite_store.query_headers(target="Op", limit=0)) == 301


def test_a_checkpoint_does_not_wait_for_an_open_writer(sqlite_store: SQLiteStore,
                                                      tmp_path: Path) -> None:
    sqlite_store.send([r.MessageDraft("Svc", "Op", "demo.Msg", '{"n":1}')])
    other = sqlite3.connect(sqlite_store.path, isolation_level=None, timeout=0.1)
    other.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
    try:
        sqlite_store.checkpoint()  # returns instead of waiting for the writer
        assert _requests_in_database_file(sqlite_store, tmp_path) == 1
    finally:
        other.execute("ROLLBACK")
        other.close()


def _in_database_file(store: SQLiteStore, tmp_path: Path, table: str) -> int:
    """Rows of ``table`` found in the database file alone, as if its WAL were lost."""
    copy = tmp_path / f"copy{time.monotonic_ns()}.db"
    copy.write_bytes(Path(store.path).read_bytes())
    with sqlite3.connect(copy) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_the_routine_checkpoint_leaves_heartbeats_alone_until_something_else_is_written(
        sqlite_store: SQLiteStore, tmp_path: Path) -> None:
    """An idle production's only writes are heartbeats: the supervisor's routine checkpoint
    (which would fsync the WAL and the database) leaves them in the WAL; a message written
    since brings it back, with the heartbeats."""
    now = time.time()
    sqlite_store.put_job(r.JobRecord("h:1:Back:0:a", "Back", 0, 1, "h", "running", now, now))
    sqlite_store.checkpoint(routine=True)  # a new store: everything copied
    assert _in_database_file(sqlite_store, tmp_path, "jobs") == 1
    sqlite_store.put_job(r.JobRecord("h:1:Back:1:a", "Back", 1, 1, "h", "running", now, now))
    for _ in range(20):
        sqlite_store.heartbeat_job("h:1:Back:0:a", 0)
        sqlite_store.heartbeat_runtime()
    sqlite_store.checkpoint(routine=True)
    assert _in_database_file(sqlite_store, tmp_path, "jobs") == 1  # left in the WAL
    sqlite_store.send([r.MessageDraft("Svc", "Op", "demo.Msg", '{"n":1}')])
    sqlite_store.checkpoint(routine=True)
    assert _in_database_file(sqlite_store, tmp_path, "jobs") == 2
    assert _in_database_file(sqlite_store, tmp_path, "headers") == 1
    sqlite_store.put_job(r.JobRecord("h:1:Back:2:a", "Back", 2, 1, "h", "running", now, now))
    sqlite_store.checkpoint()  # asked for outright: always made
    assert _in_database_file(sqlite_store, tmp_path, "jobs") == 3
