"""Helpers of test_durable_acks: a production run under ``strace -f``, and a reading of its
trace that finds every acknowledgement not preceded by a flush of the WAL it depends on.

No power-cut simulation runs here (no device-mapper, no FUSE), so the proof is by trace: an
acknowledgement (the file adapter deleting its input, a Director caller writing its marker
line) must come after an ``fdatasync``/``fsync`` of the store's ``-wal`` file that itself came
after the last write the acknowledging *process* (any of its threads) made to that WAL.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

PRODUCTION = "Durable.Production"
PG_URL = os.environ.get("IOP_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
MARKER = "ACKED-"  # what a Director-calling script writes to stdout after each call returns

COMPONENTS = '''
class Keeper(BusinessOperation):
    def on_message(self, request):
        return None


class Caller(BusinessService):
    """One input: an asynchronous send, then a synchronous one (answered by Keeper)."""

    def on_process_input(self, request):
        self.send_request_async("Keeper", request)
        self.send_request_sync("Keeper", request)


class SyncOnly(BusinessService):
    """One input: a synchronous send alone (on PostgreSQL a commit not waiting for the flush)."""

    def on_process_input(self, request):
        self.send_request_sync("Keeper", request)
'''


def settings(inbox: Path, speed: bool) -> str:
    setting = 'prod.production_setting("FlushBeforeAcknowledge", "0")\n' if speed else ""
    return f'''
prod = Production("{PRODUCTION}")
prod.service("FileIn", class_name="EnsLib.File.PassthroughService") \\
    .adapter_setting("FilePath", {str(inbox)!r}).adapter_setting("CallInterval", "0.2") \\
    .host_setting("TargetConfigNames", "Keeper")
prod.service("Caller", Caller)
prod.service("SyncOnly", SyncOnly)
prod.operation("Keeper", Keeper)
{setting}PRODUCTIONS = [prod]
'''


DIRECTOR_SCRIPT = '''
import sys
sys.path.insert(0, {root!r})
from iop import Director
from iop.messages.builtin import StreamContainer
service = Director().get_business_service({service!r})
for n in range({calls}):
    service.on_process_input(StreamContainer(OriginalFilename=f"call{{n}}", Stream="x" * 300))
    sys.stdout.write("{marker}%d\\n" % n)
    sys.stdout.flush()
'''

TRACED = "trace=write,pwrite64,pwritev,pwritev2,fsync,fdatasync,unlink,unlinkat,rename," \
         "renameat,renameat2,clone,clone3,fork,vfork"


# On PostgreSQL: what the process sends to the server (libpq's send is sendto) and writes.
TRACED_WIRE = "trace=sendto,write"


def strace(output: Path, *command: str, traced: str = TRACED,
           size: int = 24) -> subprocess.Popen[bytes]:
    """``command`` run under strace, following every process and thread it starts."""
    return subprocess.Popen(["strace", "-f", "-tt", "-y", "-s", str(size), "-o", str(output),
                             "-e", traced, "--", *command],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def unflushed_on_the_wire(reading: Reading) -> list[str]:
    """On PostgreSQL, from the caller's trace: the acknowledgements (marker lines) not
    preceded, since the previous one, by the barrier's durable commit (``txid_current``
    sent, and answered, as the call waits for it)."""
    problems, barrier = [], False
    for event in reading.events:
        if event.call == "sendto" and "txid_current" in event.text:
            barrier = True
        elif event.call == "write" and MARKER in event.text:
            if not barrier:
                problems.append(event.text.strip()[:80])
            barrier = False
    return problems


_LINE = re.compile(r"^(\d+)\s+(\d\d:\d\d:\d\d\.\d+)\s+(.*)$")
_CALL = re.compile(r"^(?:<\.\.\. )?(\w+)(?:\(| resumed>)(.*)$")
_FD_PATH = re.compile(r"^\d+<([^>]*)>")
_RESULT = re.compile(r"=\s+(-?\d+)")


@dataclass
class Event:
    """One system call of interest, in trace order."""

    index: int
    tid: int
    process: int  # the thread group (process) the thread belongs to
    call: str
    path: str  # the file it acted on ("" when none)
    text: str


@dataclass
class Reading:
    """What a trace shows: WAL writes, WAL flushes and acknowledgements, by process."""

    wal: str
    events: list[Event] = field(default_factory=list)

    def wal_writes(self) -> list[Event]:
        return [e for e in self.events if e.call.startswith(("write", "pwrite"))
                and e.path == self.wal]

    def wal_flushes(self) -> list[Event]:
        return [e for e in self.events if e.call in ("fsync", "fdatasync") and e.path == self.wal]

    def acks(self, inbox: Path | None = None, marker: bool = False) -> list[Event]:
        """Input files removed or moved from ``inbox``; marker lines written to stdout."""
        found = []
        for e in self.events:
            if inbox is not None and e.call in ("unlink", "unlinkat", "rename", "renameat",
                                                "renameat2") and str(inbox) in e.text:
                found.append(e)
            elif marker and e.call == "write" and e.path.startswith(("pipe:", "/dev/pts",
                                                                      "/dev/null", "/tmp")) \
                    and MARKER in e.text:
                found.append(e)
        return found

    def unflushed(self, acks: list[Event]) -> list[str]:
        """The acknowledgements that no WAL flush separates from their process's last WAL
        write before them (empty: every one was durable when it was made)."""
        problems = []
        for ack in acks:
            before = [e for e in self.events[:ack.index] if e.path == self.wal]
            last_write = max((e.index for e in before if e.call.startswith(("write", "pwrite"))
                              and e.process == ack.process), default=-1)
            flushed = any(e.call in ("fsync", "fdatasync") and e.index > last_write
                          for e in before)
            if last_write >= 0 and not flushed:
                problems.append(f"{ack.text.strip()[:120]} (process {ack.process}) follows WAL "
                                f"write #{last_write} with no flush of {self.wal} between")
        return problems


def read_trace(path: Path, wal: str) -> Reading:
    """Parse an ``strace -f -tt -y`` output: unfinished calls are completed by their
    ``resumed`` line, and each thread is mapped to its process through clone flags."""
    leader: dict[int, int] = {}  # thread -> the thread that cloned it into its process
    pending: dict[int, str] = {}
    reading = Reading(wal)
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        matched = _LINE.match(raw)
        if not matched:
            continue
        tid, rest = int(matched.group(1)), matched.group(3)
        if rest.endswith("<unfinished ...>"):
            pending[tid] = rest[: -len("<unfinished ...>")]
            continue
        if rest.startswith("<..."):
            head = pending.pop(tid, "")
            rest = head + rest.split("resumed>", 1)[-1]
        call = _CALL.match(rest)
        if not call or rest.startswith(("+++", "---")):
            continue
        name, args = call.group(1), call.group(2)
        result = _RESULT.search(rest.rsplit(")", 1)[-1]) if ")" in rest else None
        if name in ("clone", "clone3", "fork", "vfork"):
            if result is not None and int(result.group(1)) > 0 and "CLONE_THREAD" in args:
                leader[int(result.group(1))] = tid
            continue
        fd_path = _FD_PATH.match(args)
        reading.events.append(Event(len(reading.events), tid, tid, name,
                                    fd_path.group(1) if fd_path else "", rest))
    for event in reading.events:  # (a thread may run before its clone call returns)
        while event.process in leader:
            event.process = leader[event.process]
    return reading


def drop_pg_schema(namespace: str) -> None:
    """Drop a test namespace's schema from the shared test database."""
    import psycopg
    from psycopg import sql

    from iop.store.postgres.schema import schema_for

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE")
                     .format(sql.Identifier(schema_for(namespace))))
