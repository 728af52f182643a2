"""Issue 25: a PostgreSQL restart mid-stream is an outage the engine rides through.

Two hosts (two supervisor process groups with their own IOP_HOST_NAME) run one production on
a PostgreSQL cluster the test starts for itself. Senders in this process stream requests,
synchronous and asynchronous, through a business process (which calls its operation
synchronously or asynchronously in turn) to an operation that writes each number to a file.
The cluster is restarted with ``pg_ctl restart -m fast`` twice while the stream flows. Then:
no engine process exited (same supervisors, same jobs), every acknowledged send reached the
operation, no message is in status ``error``, and the event log tells the outage and the
recovery (and, the alert limit being 0 s, raises an alert for each).
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pg_restart_support import PYTHON, PrivateCluster

from iop import Director
from iop.errors import StoreUnavailable
from iop.store import open_store

PRODUCTION = "Outage.Production"
HOSTS = ("host-a", "host-b")

COMPONENTS = '''
@dataclass
class Work(Message):
    sync: bool = False
    seq: int = 0


@dataclass
class Done(Message):
    seq: int = 0


class Gateway(BusinessService):
    def on_process_input(self, request):
        if not request.sync:
            return self.send_request_async("Router", request)
        return self.send_request_sync("Router", request, timeout=120)


class Router(BusinessProcess):
    """Even numbers call the operation synchronously, odd ones asynchronously."""

    def on_request(self, request):
        if request.seq % 2:
            self.send_request_async("Sink", request)
            return None
        return self.send_request_sync("Sink", request, timeout=120)

    def on_response(self, request, response, call_request, call_response, completion_key):
        return call_response


class Sink(BusinessOperation):
    def on_message(self, request):
        with open(os.environ["IOP_TEST_SINK_FILE"], "a") as out:
            out.write(f"{request.seq}\\n")
        return Done(request.seq)
'''

SETTINGS = f'''
prod = Production("{PRODUCTION}")
prod.production_setting("StoreOutageAlertSeconds", "0")
prod.service("Gateway", Gateway)
prod.process("Router", Router)
prod.operation("Sink", Sink).pool(2)
prod.operation("Ens.Alert", "EnsLib.EMail.AlertOperation")  # logs each alert it is sent
PRODUCTIONS = [prod]
'''


@pytest.fixture
def private_pg(iop_home: Path, run_iop: Any, tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[PrivateCluster]:
    """A PostgreSQL cluster of this test's own, named by IOP_DATABASE_URL; stopped after."""
    cluster = PrivateCluster()
    try:
        cluster.start()
        monkeypatch.setenv("IOP_DATABASE_URL", cluster.url)
        monkeypatch.setenv("IOP_NAMESPACE", "OUTAGE")
        monkeypatch.setenv("IOP_TEST_SINK_FILE", str(tmp_path / "sink.txt"))
        monkeypatch.delenv("IOP_HOST_NAME", raising=False)
        yield cluster
    finally:
        try:
            for host in HOSTS:  # before the cluster goes; iop_home checks for survivors
                iop_on(host, "-k", check=False)
        finally:
            cluster.stop()
        # iop_home's own `iop -k` comes next: pointed here it would find no server.
        monkeypatch.delenv("IOP_DATABASE_URL", raising=False)
        monkeypatch.delenv("IOP_NAMESPACE", raising=False)


def iop_on(host: str | None, *args: str, check: bool = True,
           timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real CLI as host ``host`` (None: a machine that runs no supervisor)."""
    env = {**os.environ}
    if host:
        env["IOP_HOST_NAME"] = host
    proc = subprocess.run([PYTHON, "-m", "iop", *args], env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert not check or proc.returncode == 0, \
        f"iop {' '.join(args)} on {host}: {proc.stdout}{proc.stderr}"
    return proc


def processes() -> tuple[dict[str, int], dict[tuple[str, str, int], int]]:
    """(host → supervisor pid, (host, item, slot) → job pid) as `iop --jobs` lists them."""
    view = json.loads(iop_on(None, "--jobs").stdout)
    supervisors = {h["host"]: h["supervisor_pid"] for h in view["hosts"] if h["alive"]}
    jobs = {(j["host"], j["item"], j["slot"]): j["pid"] for j in view["jobs"]}
    return supervisors, jobs


def job_log(host: str, item: str, slot: int) -> str:
    """The end of a job's log file (stdout and stderr of its process)."""
    path = Path(os.environ["IOP_HOME"]) / os.environ["IOP_NAMESPACE"] / "jobs" / \
        f"{host}.{item}.{slot}.log"
    return path.read_text(errors="replace")[-3000:] if path.exists() else "(no log)"


class Senders:
    """A steady stream of requests to Gateway: one asynchronous sender, two synchronous
    ones; ``acked`` holds every number whose send returned (an answer checked for sync)."""

    def __init__(self, gateway: Any, work: type) -> None:
        self.gateway = gateway
        self.work = work
        self.numbers = itertools.count()
        self.lock = threading.Lock()
        self.acked: set[int] = set()
        self.failures: list[str] = []
        self.sync_calls: list[tuple[float, float]] = []  # (when it began, how long it took)
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self._send, args=(sync,), daemon=True)
                        for sync in (False, True, True)]

    def _send(self, sync: bool) -> None:
        while not self.done.is_set():
            with self.lock:
                n = next(self.numbers)
            began = time.monotonic()
            try:
                answer = self.gateway.on_process_input(self.work(sync, n))
            except Exception as exc:  # reported by the test, not lost in the thread
                self.failures.append(f"send {n}: {type(exc).__name__}: {exc}")
                return
            if sync and getattr(answer, "seq", None) != n:
                self.failures.append(f"send {n}: answered {answer!r}")
                return
            with self.lock:
                self.acked.add(n)
                if sync:
                    self.sync_calls.append((began, time.monotonic() - began))
            if not sync:
                time.sleep(0.01)

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def count(self) -> int:
        with self.lock:
            return len(self.acked)

    def stop(self) -> None:
        self.done.set()
        for thread in self.threads:
            thread.join(150)
        hung = [t for t in self.threads if t.is_alive()]
        frames = sys._current_frames()  # noqa: SLF001 - where a hung sender waits, for the report
        assert not hung, "a sender hangs:\n" + "\n".join(
            "".join(traceback.format_stack(frames[t.ident])) for t in hung
            if t.ident in frames)


def delivered(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def test_a_postgres_restart_mid_stream_loses_nothing_and_kills_no_process(
        private_pg: PrivateCluster, make_project: Any, wait_for: Any, pid_alive: Any) -> None:
    project = make_project(COMPONENTS, SETTINGS)
    project.migrate()
    for host in HOSTS:
        iop_on(host, "-s", PRODUCTION, "-D")
    supervisors, jobs = processes()
    assert set(supervisors) == set(HOSTS)
    assert sorted(item for _, item, _ in jobs) == \
        sorted(["Ens.Alert", "Gateway", "Router", "Sink", "Sink"] * 2)

    store = open_store()
    module = project.import_module()
    senders = Senders(Director(store=store).get_business_service("Gateway"), module.Work)
    sink = Path(os.environ["IOP_TEST_SINK_FILE"])
    senders.start()
    try:
        for _ in range(2):
            before = len(delivered(sink))
            wait_for(lambda before=before: len(delivered(sink)) >= before + 60, timeout=30,
                     what="the stream to flow")
            private_pg.restart()  # every session of every host is terminated
            acked = senders.count()
            wait_for(lambda acked=acked: senders.count() >= acked + 60, timeout=40,
                     what="sends to be acknowledged again after the restart")
        # Wake-ups came back too (this process's LISTEN connection reconnected by itself):
        # the responses to synchronous calls made after the restarts reach their callers with
        # a ring, not through the slow polls that back lost rings up.
        settled = time.monotonic() + 1.0
        wait_for(lambda: time.monotonic() >= settled, timeout=5, what="the restart to settle")
        rung_before = store.notifier.replies_by_ring()

        def late_calls() -> list[float]:
            with senders.lock:
                return [took for began, took in senders.sync_calls if began >= settled]

        wait_for(lambda: len(late_calls()) >= 20, timeout=30, what="20 more synchronous calls")
        rung = store.notifier.replies_by_ring() - rung_before
        answered = len(late_calls())  # at most as many as were answered by then
    finally:
        senders.stop()
    assert not senders.failures, senders.failures[:5]
    late = sorted(late_calls())
    print(f"after the restarts: {answered} synchronous calls, {rung} answered with a ring, "
          f"median {late[len(late) // 2] * 1000:.0f} ms")
    assert rung >= answered - 2, f"only {rung} of {answered} responses came with a ring"

    acked = sorted(senders.acked)
    try:
        wait_for(lambda: set(acked) <= set(delivered(sink)), timeout=60,
                 what="every acknowledged send to reach the operation")
    except AssertionError:
        missing = sorted(set(acked) - set(delivered(sink)))
        print(f"missing: {missing[:20]}; {_where_messages_are(store)}")
        for n in missing[:3]:  # the messages carrying it, in every session they passed
            print(n, store._rows(  # noqa: SLF001 - a test's look inside
                "SELECT h.id, h.session_id, h.source, h.target, h.type, h.status, h.error, "
                "h.attempts, h.corresponding_id FROM headers h JOIN bodies b ON b.id = h.body_id "
                "WHERE b.data LIKE %s ORDER BY h.id", (f'%"seq":{n}}}%',)))
        raise
    counts = [len(set(delivered(sink)) & set(acked)), len(delivered(sink)), len(acked)]
    print(f"restarts took {[round(s, 2) for s in private_pg.restarts]} s; "
          f"acknowledged {counts[2]}, delivered {counts[1]} lines "
          f"({counts[1] - counts[0]} beyond the acknowledged set or repeated)")

    # No engine process exited: the same supervisors and jobs, all alive. (When one was
    # replaced, its job log says why: the supervisor restarted it after it exited.)
    now = processes()
    replaced = sorted(key for key, pid in now[1].items() if jobs.get(key) != pid)
    logs = {f"{host}.{item}.{slot}": job_log(host, item, slot) for host, item, slot in replaced}
    assert now == (supervisors, jobs), f"jobs replaced: {replaced}; their logs: {logs}"
    assert all(pid_alive(pid) for pid in [*supervisors.values(), *jobs.values()])

    def rows(query: str) -> list[tuple[Any, ...]]:
        return store._rows(query)  # type: ignore[attr-defined,no-any-return]

    # This thread's connection died in the restarts: the first use says so, the next one
    # connects again.
    with pytest.raises(StoreUnavailable, match="administrator command"):
        rows("SELECT 1")

    def errors() -> list[tuple[Any, ...]]:
        return rows("SELECT id, source, target, error FROM headers WHERE status = 'error'")

    assert errors() == []
    wait_for(lambda: rows("SELECT count(*) FROM queue")[0][0] == 0, timeout=60,
             what="every queue to drain")
    assert errors() == []

    # The event log tells each host's outages and recoveries, and raises the alert.
    log = rows("SELECT type, job, text FROM log ORDER BY id")
    for host in HOSTS:
        mine = [(kind, text) for kind, job, text in log
                if job == f"{host}:{supervisors[host]}"]
        # (The cause is whatever the supervisor met first: its session terminated, the
        # server closing the connection, or a connection refused while it shut down.)
        unavailable = [t for k, t in mine if k == "warning" and
                       t.startswith("store unavailable since ")]
        back = [t for k, t in mine if t.startswith("store available again after")]
        alerts = [t for k, t in mine if k == "alert" and f"unavailable on host {host}" in t]
        assert len(unavailable) >= 2 and len(back) >= 2 and len(alerts) >= 2, mine
    assert not [t for _, _, t in log if " ended (" in t]  # no job was restarted
    # Each alert went to the production's Ens.Alert item too, and was handled there.
    sent = rows("SELECT status FROM headers WHERE target = 'Ens.Alert'")
    assert len(sent) >= 4 and {status for (status,) in sent} == {"completed"}
    store.close()


def _where_messages_are(store: Any) -> str:
    """For a failure's report: headers by target and status, queue entries and their leases,
    and the jobs the store knows."""
    rows = store._rows  # noqa: SLF001 - a test's look inside
    try:
        rows("SELECT 1")
    except StoreUnavailable:
        pass  # this thread's connection died in the restarts; the next use reconnects
    headers = rows("SELECT target, status, count(*) FROM headers GROUP BY 1, 2")
    queue = rows("SELECT item, header_id, lease_owner, lease_until, attempts FROM queue")
    return (f"headers {headers}; queue ({len(queue)}) {queue[:20]}; "
            f"jobs {[(j.id, j.state) for j in store.list_jobs()]}; now {time.time():.1f}")


def test_lost_and_refused_connections_are_outages_and_the_next_use_reconnects(
        tmp_path: Path) -> None:
    """The classification the engine relies on, against a real server: a terminated session
    and a server that is down are StoreUnavailable; a database that does not exist is a
    plain StoreError (a mistake to fix, not to wait out); the next use after the outage
    works again on a fresh connection."""
    from iop.errors import StoreError
    from iop.store.postgres import PostgresStore

    cluster = PrivateCluster()
    try:
        cluster.start()
        store = PostgresStore(cluster.url, "CLASSIFY")
        store.initialize()
        store.set_meta("probe", "1")
        first = store.conn.info.backend_pid
        with psycopg_connect(cluster.url) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (first,))
        with pytest.raises(StoreUnavailable, match="administrator command"):
            store.get_meta("probe")
        assert store.get_meta("probe") == "1"  # reconnected by itself
        assert store.conn.info.backend_pid != first

        cluster.restart()
        with pytest.raises(StoreUnavailable):
            with store.transaction() as tx:  # a write transaction cut by the restart
                tx.log([])
                store.set_meta("probe", "2")
        store.set_meta("probe", "3")
        assert store.get_meta("probe") == "3"

        missing = PostgresStore(cluster.url.rsplit("/", 1)[0] + "/no_such_db", "CLASSIFY")
        with pytest.raises(StoreError, match="no_such_db") as refused:
            missing.get_meta("probe")
        assert not isinstance(refused.value, StoreUnavailable)

        cluster.stop_server()
        with pytest.raises(StoreUnavailable, match="administrator command"):
            store.get_meta("probe")  # the session ended with the server
        with pytest.raises(StoreUnavailable, match="cannot connect.*refused"):
            store.get_meta("probe")  # and no new one is accepted: still an outage
        store.close()
    finally:
        cluster.stop()


def psycopg_connect(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True)


@pytest.mark.parametrize("use", ["heartbeat_job", "send", "get_meta"])
def test_a_session_ended_just_after_it_connected_is_an_outage(use: str) -> None:
    """A restart that begins just after a connection was opened ends that session before its
    first statement (the search path): the store call that opened it meets "terminating
    connection due to administrator command" there, and that is an outage like any other
    (StoreUnavailable, which a job rides out), never a raw driver error that ends the job.
    The relay has the real server end the session at that moment every time."""
    from pg_session_cut import SessionCutter

    from iop.store import records as r
    from iop.store.postgres import PostgresStore

    cluster = PrivateCluster()
    try:
        cluster.start()
        PostgresStore(cluster.url, "CUT").initialize()
        with SessionCutter(cluster.url, cluster.port) as cutter:
            store = PostgresStore(cutter.url, "CUT", host="h")
            now = time.time()
            calls = {
                "heartbeat_job": lambda: store.heartbeat_job("h:1:Gateway:0:a", 0),
                "send": lambda: store.send([r.MessageDraft("Director", "Gateway", "Work",
                                                           '{"seq": 1}')], []),
                "get_meta": lambda: store.get_meta("schema_version"),
            }
            with pytest.raises(StoreUnavailable, match="administrator command"):
                calls[use]()
            assert cutter.cut == 1
            store.put_job(r.JobRecord("h:1:Gateway:0:a", "Gateway", 0, 1, "h", "running",
                                      now, now))
            calls[use]()  # a fresh session, which the relay passes on
            assert [j.id for j in store.list_jobs(host="h")] == ["h:1:Gateway:0:a"]
            store.close()
    finally:
        cluster.stop()
