"""Acceptance (issue 7): two hosts run one production on PostgreSQL; one host dies mid-flow.

"Hosts" are two supervisor process groups on this machine, each with its own IOP_HOST_NAME,
sharing one IOP_DATABASE_URL and namespace. Host A is SIGKILLed - its supervisor and every
job, with messages leased - while a polling service, Director sync calls and async sends
flow. Host B must finish every message (none lost, each completed), the polling slot must
move to B (job listing and the host named in new polled messages), and `iop -S` from a
third process must stop every host once A has rejoined.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from backends_support import PG_URL, PYTHON, drop_schema, require_postgres

from iop import Director
from iop.engine.cluster import STALE_SECONDS
from iop.store import open_store

PRODUCTION = "Multi.Production"
ASYNC_COUNT = 240
SYNC_COUNT = 30

COMPONENTS = '''
@dataclass
class Tick(Message):
    n: int = 0
    host: str = ""


@dataclass
class Work(Message):
    n: int = 0
    sync: bool = False


@dataclass
class Done(Message):
    n: int = 0
    host: str = ""


class Ticker(PollingBusinessService):
    """Each poll sends a tick naming the host that polled."""

    def on_init(self):
        self._count = itertools.count()

    def on_poll(self):
        self.send_request_async("Recorder", Tick(next(self._count), os.environ["IOP_HOST_NAME"]))


class Gateway(BusinessService):
    def on_process_input(self, request):
        if request.sync:
            return self.send_request_sync("Worker", request, timeout=180)
        self.send_request_async("Worker", request)


class Worker(BusinessOperation):
    def on_message(self, request):
        time.sleep(0.03)  # keeps a backlog, so the killed host holds leased messages
        return Done(request.n, os.environ["IOP_HOST_NAME"])


class Recorder(BusinessOperation):
    def on_message(self, request):
        return None
'''

SETTINGS = f'''
prod = Production("{PRODUCTION}")
prod.service("Ticker", Ticker).adapter_setting("CallInterval", "1")
prod.service("Gateway", Gateway)
prod.operation("Worker", Worker).pool(2)
prod.operation("Recorder", Recorder)
PRODUCTIONS = [prod]
'''


@pytest.fixture
def shared_database(iop_home: Path, run_iop: Any,
                    monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh namespace on the PostgreSQL every host of the test shares."""
    require_postgres()
    namespace = f"M{uuid.uuid4().hex[:12].upper()}"
    monkeypatch.setenv("IOP_DATABASE_URL", PG_URL)
    monkeypatch.setenv("IOP_NAMESPACE", namespace)
    monkeypatch.delenv("IOP_HOST_NAME", raising=False)
    try:
        yield namespace
    finally:
        run_iop("-k", check=False)  # before the schema goes; iop_home checks for survivors
        drop_schema(namespace)
        # iop_home's own `iop -k` comes next: pointed here it would create the schema again.
        monkeypatch.delenv("IOP_DATABASE_URL")
        monkeypatch.delenv("IOP_NAMESPACE")


def iop_on(host: str | None, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real CLI as host ``host`` (None: an operator's machine that runs no supervisor)."""
    env = {**os.environ}
    if host:
        env["IOP_HOST_NAME"] = host
    proc = subprocess.run([PYTHON, "-m", "iop", *args], env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, f"iop {' '.join(args)} on {host}: {proc.stdout}{proc.stderr}"
    return proc


def listing() -> dict[str, Any]:
    return json.loads(iop_on(None, "--jobs").stdout)  # type: ignore[no-any-return]


def poller(view: dict[str, Any]) -> tuple[str, str] | None:
    """(host, state) of the Ticker job that polls, if exactly one does."""
    polling = [(j["host"], j["state"]) for j in view["jobs"]
               if j["item"] == "Ticker" and j["state"] == "running"]
    return polling[0] if len(polling) == 1 else None


@pytest.mark.slow  # over 20 s
def test_a_surviving_host_finishes_every_message_and_takes_over_polling(
        shared_database: str, make_project: Any, wait_for: Any, pid_alive: Any) -> None:
    project = make_project(COMPONENTS, SETTINGS)
    project.migrate()
    iop_on("host-a", "-s", PRODUCTION, "-D")
    wait_for(lambda: poller(listing()) == ("host-a", "running"), timeout=60,
             what="host-a to poll")
    iop_on("host-b", "-s", PRODUCTION, "-D")  # joins the production host-a runs

    view = listing()
    assert (view["production"], view["status"]) == (PRODUCTION, "running")
    assert {(h["host"], h["status"], h["alive"]) for h in view["hosts"]} == \
        {("host-a", "running", True), ("host-b", "running", True)}
    assert sorted((j["item"], j["host"]) for j in view["jobs"] if j["item"] == "Worker") == \
        [("Worker", "host-a"), ("Worker", "host-a"), ("Worker", "host-b"), ("Worker", "host-b")]
    assert sorted((j["host"], j["state"]) for j in view["jobs"] if j["item"] == "Ticker") == \
        [("host-a", "running"), ("host-b", "standby")]  # one poller in the whole production
    a_pids = [j["pid"] for j in view["jobs"] if j["host"] == "host-a"]
    a_supervisor = next(h["supervisor_pid"] for h in view["hosts"] if h["host"] == "host-a")

    store = open_store()
    module = project.import_module()
    gateway = Director(store=store).get_business_service("Gateway")
    for n in range(ASYNC_COUNT):
        gateway.on_process_input(module.Work(n))

    answers: dict[int, Any] = {}
    failures: list[BaseException] = []

    def call_sync() -> None:
        try:
            for n in range(ASYNC_COUNT, ASYNC_COUNT + SYNC_COUNT):
                answers[n] = gateway.on_process_input(module.Work(n, sync=True))
        except BaseException as exc:  # reported by the test, not lost in the thread
            failures.append(exc)

    caller = threading.Thread(target=call_sync)
    caller.start()

    def leased_by_a() -> int:
        rows = store.conn.execute(  # type: ignore[attr-defined]
            "SELECT count(*) FROM queue WHERE item = 'Worker' AND lease_owner LIKE 'host-a:%'")
        return int(rows.fetchone()[0])

    def answered_by_a() -> bool:
        return any(json.loads(store.get_body(h) or "{}").get("host") == "host-a"
                   for h in store.query_headers(source="Worker", type="response", limit=0))

    # Both of host-a's Worker jobs work through claimed batches while sync calls wait;
    # host-a has answered some of them already when it dies.
    wait_for(lambda: answered_by_a() and leased_by_a() >= 4, timeout=60,
             what="host-a to have answered Worker messages and to hold more")
    os.killpg(a_supervisor, signal.SIGKILL)  # host-a dies: supervisor and every job
    wait_for(lambda: not any(pid_alive(p) for p in [a_supervisor, *a_pids]), timeout=30,
             what="host-a's processes to be gone")

    def ticks() -> list[tuple[int, str]]:
        bodies = [json.loads(store.get_body(h) or "{}")
                  for h in store.query_headers(source="Ticker", type="request", limit=0)]
        return [(body["n"], body["host"]) for body in bodies]

    before = ticks()
    assert before and {host for _, host in before} == {"host-a"}  # host-b stood by

    # host-b takes the polling slot over and polls on.
    wait_for(lambda: poller(listing()) == ("host-b", "running"), timeout=60,
             what="host-b to take the polling over")
    wait_for(lambda: len([t for t in ticks() if t[1] == "host-b"]) >= 5, timeout=60,
             what="five ticks polled by host-b")

    # Every message is finished by host-b: none lost, each completed once.
    caller.join(STALE_SECONDS + 180)
    assert not caller.is_alive() and not failures, failures
    assert sorted(answers) == list(range(ASYNC_COUNT, ASYNC_COUNT + SYNC_COUNT))
    assert all(answer.n == n for n, answer in answers.items())

    def work_settled() -> bool:
        requests = store.query_headers(target="Worker", type="request", limit=0)
        return len(requests) == ASYNC_COUNT + SYNC_COUNT and \
            all(h.status == "completed" for h in requests)

    wait_for(work_settled, timeout=STALE_SECONDS + 120, what="every Worker request to complete")
    requests = store.query_headers(target="Worker", type="request", limit=0)
    numbers = sorted(json.loads(store.get_body(h) or "{}")["n"] for h in requests)
    assert numbers == list(range(ASYNC_COUNT + SYNC_COUNT))  # each once: none lost or doubled
    redelivered = [h for h in requests if h.attempts > 1]
    assert redelivered, "host-a held leased messages when it died; they must be redelivered"
    responses = store.query_headers(source="Worker", type="response", limit=0)
    by_host = {json.loads(store.get_body(h) or "{}")["host"] for h in responses}
    assert by_host == {"host-a", "host-b"}
    wait_for(lambda: all(h.status == "completed" for h in
                         store.query_headers(source="Ticker", type="request", limit=0)),
             timeout=60, what="every tick to complete")
    wait_for(lambda: not store.queue_counts().get("Worker"), timeout=60,
             what="the Worker queue to drain")

    view = listing()
    assert view["status"] == "running"
    assert {h["host"]: (h["status"], h["alive"]) for h in view["hosts"]} == \
        {"host-a": ("troubled", False), "host-b": ("running", True)}
    assert {j["host"] for j in view["jobs"]} == {"host-b"}  # host-a's jobs are forgotten
    log = iop_on(None, "-L", "200").stdout
    assert "host host-a has not beaten" in log and "takes over polling" in log

    # host-a comes back and joins; `iop -S` from a third machine stops both hosts.
    iop_on("host-a", "-s", PRODUCTION, "-D")
    view = listing()
    assert {h["host"]: h["status"] for h in view["hosts"]} == \
        {"host-a": "running", "host-b": "running"}
    assert poller(view) == ("host-b", "running")  # the poller stays where it is
    pids = [j["pid"] for j in view["jobs"]] + [h["supervisor_pid"] for h in view["hosts"]]
    iop_on(None, "-S")
    view = listing()
    assert view["status"] == "stopped" and view["jobs"] == []
    assert {h["host"]: h["status"] for h in view["hosts"]} == \
        {"host-a": "stopped", "host-b": "stopped"}
    wait_for(lambda: not any(pid_alive(p) for p in pids), timeout=30,
             what="every process of both hosts to end")
    store.close()


def test_status_and_start_checks_over_several_hosts(shared_database: str,
                                                    make_project: Any) -> None:
    """What `iop -x`, `iop -s` and `iop --jobs` conclude from the hosts' runtime rows."""
    from iop.engine import control
    from iop.engine.cluster import describe_hosts
    from iop.engine.errors import AlreadyRunning
    from iop.store.postgres import PostgresStore

    project = make_project(COMPONENTS, SETTINGS)
    project.migrate()
    here = open_store()  # an operator's machine: no supervisor of its own
    a = PostgresStore(PG_URL, shared_database, host="host-a")
    b = PostgresStore(PG_URL, shared_database, host="host-b")
    try:
        assert control.current_status(here) == ("", "stopped")
        assert a.claim_runtime(PRODUCTION, 1, "host-a", lambda s: True) is None
        a.update_runtime(status="running")
        assert control.current_status(here) == (PRODUCTION, "running")
        control.ensure_startable(b, PRODUCTION)  # host-b may join the same production
        with pytest.raises(AlreadyRunning, match="on this host"):
            control.ensure_startable(a, PRODUCTION)
        project.write_settings(SETTINGS + '\nprod2 = Production("Other.Production")\n'
                               'prod2.operation("Recorder", Recorder)\n'
                               'PRODUCTIONS = [prod, prod2]\n')
        project.migrate()
        with pytest.raises(AlreadyRunning, match=f"{PRODUCTION} is already running.*host-a"):
            control.ensure_startable(b, "Other.Production")

        # host-b joins; then host-a stops beating: host-b alone keeps it running.
        assert b.claim_runtime(PRODUCTION, 2, "host-b", lambda s: True) is None
        b.update_runtime(status="running")
        a.update_runtime(heartbeat=1000.0)
        view = describe_hosts(here)
        assert (view["production"], view["status"]) == (PRODUCTION, "running")
        assert {h["host"]: (h["status"], h["alive"]) for h in view["hosts"]} == \
            {"host-a": ("troubled", False), "host-b": ("running", True)}
        b.update_runtime(heartbeat=1000.0)
        assert control.current_status(here) == (PRODUCTION, "troubled")  # every host died

        # A stop from anywhere cleans up hosts whose supervisor is gone.
        control.stop(here, timeout=5)
        assert control.current_status(here) == (PRODUCTION, "stopped")
        assert {s.host: s.status for s in here.list_runtimes()} == \
            {"host-a": "stopped", "host-b": "stopped"}
    finally:
        for store in (here, a, b):
            store.close()
