"""Durable before acknowledged (issue 25): no acknowledgement precedes the flush of its commit.

A real production runs under ``strace -f`` on SQLite; the trace must show, before each input
file the file service deletes and each marker line a Director-calling script writes after a
call returned, an fsync of the store's WAL made after that process's last WAL write. The same
check must fail with ``FlushBeforeAcknowledge`` 0, which proves it can catch the old
behaviour. On PostgreSQL the caller's wire traffic must show, before each call returns, the
barrier's durable commit after an input whose only commit did not wait for the WAL flush.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from durable_acks_support import (
    COMPONENTS,
    DIRECTOR_SCRIPT,
    PG_URL,
    PRODUCTION,
    TRACED_WIRE,
    drop_pg_schema,
    read_trace,
    settings,
    strace,
    unflushed_on_the_wire,
)

FILES = 30
CALLS = 30


def _run_traced(tmp_path: Path, iop_home: Path, run_iop: Any, make_project: Any,
                wait_for: Any, python_exe: str, speed: bool) -> tuple[Any, Path]:
    """Start the production under strace, feed it FILES files and CALLS Director calls;
    returns the parsed trace and the inbox."""
    if os.geteuid() != 0:
        pytest.fail("the durability trace attaches strace to the engine and must run as root")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    project = make_project(COMPONENTS, settings(inbox, speed))
    project.migrate()
    trace = tmp_path / "engine.trace"
    engine = strace(trace, python_exe, "-m", "iop", "-s", PRODUCTION, "-D")
    try:
        wait_for(lambda: '"running"' in run_iop("-x", check=False).stdout, timeout=60,
                 what="the traced production running")
        for n in range(FILES):
            staged = tmp_path / f"order{n}.tmp"
            staged.write_text(f"order {n}\n" * 20, encoding="utf-8")
            os.rename(staged, inbox / f"order{n}.txt")
            time.sleep(0.02)
        wait_for(lambda: not list(inbox.iterdir()), timeout=60, what="every file picked up")
        script = tmp_path / "caller.py"
        script.write_text(DIRECTOR_SCRIPT.format(root=str(project.root), calls=CALLS,
                                                 marker="ACKED-", service="Caller"),
                          encoding="utf-8")
        caller_trace = tmp_path / "caller.trace"
        caller = strace(caller_trace, python_exe, str(script))
        assert caller.wait(120) == 0
    finally:
        run_iop("-k", check=False)
        try:
            engine.wait(60)
        except subprocess.TimeoutExpired:
            engine.kill()
    wal = str(iop_home / "USER" / "store.sqlite3-wal")
    return (read_trace(trace, wal), read_trace(caller_trace, wal)), inbox


def test_every_acknowledgement_follows_a_flush_of_its_wal(
        tmp_path: Path, iop_home: Path, run_iop: Any, make_project: Any, wait_for: Any,
        python_exe: str) -> None:
    (engine, caller), inbox = _run_traced(tmp_path, iop_home, run_iop, make_project,
                                          wait_for, python_exe, speed=False)
    files = engine.acks(inbox=inbox)
    calls = caller.acks(marker=True)
    assert len(files) == FILES, [e.text for e in engine.events][-20:]
    assert len(calls) == CALLS
    assert engine.wal_writes() and caller.wal_writes()  # the trace saw the commits
    assert engine.unflushed(files) == []
    assert caller.unflushed(calls) == []


def test_the_check_catches_acknowledgements_made_before_the_flush(
        tmp_path: Path, iop_home: Path, run_iop: Any, make_project: Any, wait_for: Any,
        python_exe: str) -> None:
    """With FlushBeforeAcknowledge 0 (the engine's behaviour before issue 25) the same trace
    check finds acknowledgements of commits still in the page cache."""
    (engine, caller), inbox = _run_traced(tmp_path, iop_home, run_iop, make_project,
                                          wait_for, python_exe, speed=True)
    files = engine.acks(inbox=inbox)
    calls = caller.acks(marker=True)
    assert len(files) == FILES and len(calls) == CALLS
    assert len(engine.unflushed(files)) > FILES // 2
    assert len(caller.unflushed(calls)) > CALLS // 2


@pytest.mark.parametrize("speed", [False, True], ids=["durable", "speed"])
def test_on_postgresql_each_director_call_returns_after_a_durable_commit(
        tmp_path: Path, iop_home: Path, run_iop: Any, make_project: Any,
        monkeypatch: pytest.MonkeyPatch, python_exe: str, speed: bool) -> None:
    """Each Director call's input makes only a commit that does not wait for the WAL flush
    (its synchronous request); the caller's wire traffic must show the barrier's durable commit
    before every call returns, and must not with FlushBeforeAcknowledge 0."""
    namespace = f"DUR{uuid.uuid4().hex[:10].upper()}"
    monkeypatch.setenv("IOP_DATABASE_URL", PG_URL)
    monkeypatch.setenv("IOP_NAMESPACE", namespace)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    project = make_project(COMPONENTS, settings(inbox, speed))
    try:
        project.migrate()
        project.start(PRODUCTION)
        script = tmp_path / "caller.py"
        script.write_text(DIRECTOR_SCRIPT.format(root=str(project.root), calls=CALLS,
                                                 marker="ACKED-", service="SyncOnly"),
                          encoding="utf-8")
        trace = tmp_path / "caller.trace"
        caller = strace(trace, python_exe, str(script), traced=TRACED_WIRE, size=200)
        assert caller.wait(120) == 0
    finally:
        run_iop("-k", check=False)
        drop_pg_schema(namespace)
    reading = read_trace(trace, "")
    acks = reading.acks(marker=True)
    assert len(acks) == CALLS
    problems = unflushed_on_the_wire(reading)
    if speed:
        assert len(problems) == CALLS
    else:
        assert problems == []
