"""An idle production does not sync the disk (issue 25, the fsync cost of durability).

On SQLite an idle production still writes: its supervisor's heartbeat every second, each
job's every two. Checkpointing those rows (as the supervisor did every 0.5 s) fsynced the WAL
and the database each time, and the next writer synced the WAL's new header: about three
fdatasync calls a second, forever, for rows no one needs durable. The supervisor now
checkpoints when a message or an event log line was written since its last checkpoint
(tests/backends/test_store_sqlite_wal.py); a busy production still checkpoints as often.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

COMPONENTS = '''
class Front(BusinessService):
    def on_process_input(self, request):
        return self.send_request_sync("Back", request)


class Back(BusinessOperation):
    def on_message(self, request):
        return request
'''

SETTINGS = '''
prod = Production("Idle.Production")
prod.service("Front", Front)
prod.operation("Back", Back).pool(2)
PRODUCTIONS = [prod]
'''

WATCH_SECONDS = 6.0


def test_an_idle_production_does_not_sync(iop_home: Path, make_project: Any, run_iop: Any,
                                          tmp_path: Path, wait_for: Any) -> None:
    if os.geteuid() != 0:
        pytest.fail("the test attaches strace to the supervisor and must run as root")
    project = make_project(COMPONENTS, SETTINGS)
    project.migrate()
    project.start("Idle.Production")
    supervisor = json.loads(run_iop("--jobs").stdout)["hosts"][0]["supervisor_pid"]
    # The start's event log lines reach the database file (the supervisor's checkpoint):
    # from then on the production is idle.
    store_file = iop_home / "USER" / "store.sqlite3"
    wait_for(lambda: _started_in_database_file(store_file, tmp_path), timeout=30,
             what="the start's log lines checkpointed")
    trace = tmp_path / "supervisor.trace"
    # Every thread of the supervisor and of its jobs: fsync, fdatasync and the WAL's writes.
    subprocess.run(["timeout", "-s", "INT", str(WATCH_SECONDS), "strace", "-f", "-y", "-o",
                    str(trace), "-e", "trace=fsync,fdatasync,pwrite64", "-p", str(supervisor),
                    *[arg for pid in _job_pids(supervisor) for arg in ("-p", str(pid))]],
                   capture_output=True, check=False)
    calls = trace.read_text().splitlines()
    writes = [c for c in calls if "pwrite64(" in c and "-wal>" in c]
    syncs = [c for c in calls if re.search(r"\b(fsync|fdatasync)\(", c)]
    assert writes, "the heartbeats wrote nothing: the trace saw nothing"  # the trace works
    # At most one: the next writer after that checkpoint syncs the WAL's new header (before
    # the fix: 20 to 25 in 6 s). When that writer's connection never synced its WAL before,
    # SQLite also syncs the folder once (the first sync of a WAL it opened with O_CREAT).
    folder = f"{store_file.parent}>"
    file_syncs = [c for c in syncs if folder not in c]
    folder_syncs = [c for c in syncs if folder in c]
    assert len(file_syncs) <= 1 and len(folder_syncs) <= len(file_syncs), \
        f"{len(syncs)} syncs in {WATCH_SECONDS:g} s of idling: {syncs[:6]}"


def _started_in_database_file(store_file: Path, tmp_path: Path) -> bool:
    """Whether the database file alone (as if its WAL were lost) has the start's log line."""
    copy = tmp_path / "copy.db"
    copy.write_bytes(store_file.read_bytes())
    try:
        with sqlite3.connect(copy) as conn:
            return bool(conn.execute("SELECT count(*) FROM log WHERE text LIKE "
                                     "'Production % started'").fetchone()[0])
    except sqlite3.DatabaseError:
        return False  # copied while a checkpoint wrote it (or the table is not there yet)


def _job_pids(supervisor: int) -> list[int]:
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    return [int(pid) for pid in children]
