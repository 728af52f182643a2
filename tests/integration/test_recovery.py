"""Production states and recovery: a killed supervisor, a stop with callers still waiting,
a full disk and a locked database. Every message is accounted for at the end."""

from __future__ import annotations

import os
import resource
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from iop import Director
from iop.engine.errors import EngineError

PRODUCTION = "Recovery.Production"

COMPONENTS = '''
@dataclass
class Work(Message):
    n: int = 0
    delay: float = 0.0
    stall_once: str = ""  # a file: the first attempt creates it and hangs for a minute


class Gateway(BusinessService):
    def on_process_input(self, spec):
        target, request, sync = spec
        if sync:
            return self.send_request_sync(target, request, timeout=120)
        self.send_request_async(target, request)


class Worker(BusinessOperation):
    Delay = setting(0.0)

    def on_message(self, request):
        if request.stall_once and not os.path.exists(request.stall_once):
            open(request.stall_once, "w").close()
            time.sleep(60)
        time.sleep(request.delay or self.Delay)
        return Work(request.n)
'''

SETTINGS = f'''
prod = Production("{PRODUCTION}")
prod.service("Gateway", Gateway)
prod.operation("Worker", Worker).host_setting("Delay", 0.01)
PRODUCTIONS = [prod]
'''


def _counts(store: Any) -> dict[str, int]:
    return store.count_by_status(type="request")


def _running(make_project: Any) -> tuple[Any, Any]:
    project = make_project(COMPONENTS, SETTINGS)
    project.migrate()
    project.start(PRODUCTION)
    return project.import_module(), Director().get_business_service("Gateway")


def test_a_killed_supervisor_is_troubled_then_recovered_and_nothing_is_lost(
        make_project: Any, store: Any, wait_for: Any, iop_json: Any, run_iop: Any,
        home_processes: Any) -> None:
    module, gateway = _running(make_project)
    for n in range(300):
        gateway.on_process_input(("Worker", module.Work(n), False))
    wait_for(lambda: _counts(store).get("completed", 0) >= 20, timeout=60,
             what="some messages to complete")
    supervisor = store.get_runtime().supervisor_pid
    os.killpg(supervisor, signal.SIGKILL)  # the supervisor and its jobs, mid-flow
    wait_for(lambda: not home_processes(), timeout=30, what="every engine process to be gone")
    assert iop_json("-x") == {"Production": PRODUCTION, "Status": "troubled"}
    assert _counts(store).get("completed", 0) < 300, "everything finished before the kill"

    assert iop_json("--recover") == {"production": PRODUCTION, "status": "stopped"}
    assert iop_json("-x")["Status"] == "stopped"
    assert store.list_jobs() == []
    assert any("recovered after its supervisor died" in e.text for e in store.log_since(0))

    run_iop("-s", PRODUCTION, "-D")
    wait_for(lambda: _counts(store) == {"completed": 300}, timeout=120,
             what="all 300 requests to complete after the restart")
    assert store.queue_counts().get("Worker", 0) == 0


def test_a_restart_without_recover_frees_what_dead_jobs_held(
        make_project: Any, store: Any, wait_for: Any, run_iop: Any,
        home_processes: Any) -> None:
    module, gateway = _running(make_project)
    gateway.on_process_input(("Worker", module.Work(1, delay=5.0), False))

    def taken() -> bool:
        requests = store.query_headers(target="Worker", type="request", limit=1)
        return bool(requests) and requests[0].status == "delivered"

    wait_for(taken, timeout=30, what="the slow message to be taken")
    os.killpg(store.get_runtime().supervisor_pid, signal.SIGKILL)
    wait_for(lambda: not home_processes(), timeout=30, what="every engine process to be gone")
    started = time.monotonic()
    run_iop("-s", PRODUCTION, "-D")
    # Its lease (60 s) has not expired: the new supervisor frees it at once (claim_runtime).
    wait_for(lambda: _counts(store) == {"completed": 1}, timeout=90,
             what="the message held by the dead job to complete")
    assert time.monotonic() - started < 40


def test_a_stop_with_synchronous_callers_waiting_leaves_the_production_suspended(
        make_project: Any, store: Any, wait_for: Any, iop_json: Any, run_iop: Any) -> None:
    module, gateway = _running(make_project)
    answers: list[Any] = []

    def call(n: int) -> None:
        # The first call keeps the only Worker job busy past the stop request.
        delay = 6.0 if n == 1 else 0.1
        try:
            answers.append(gateway.on_process_input(("Worker", module.Work(n, delay=delay), True)))
        except EngineError as exc:
            answers.append(exc)

    callers = [threading.Thread(target=call, args=(n,)) for n in (1, 2)]
    callers[0].start()
    wait_for(lambda: [h.status for h in store.query_headers(target="Worker", limit=0)
                      if h.type == "request"] == ["delivered"], timeout=30,
             what="the first call to be taken")
    callers[1].start()
    wait_for(lambda: len(store.query_headers(target="Worker", type="request", limit=0)) == 2,
             timeout=30, what="the second call to be queued")
    run_iop("-S")
    status = iop_json("-x")
    assert status == {"Production": PRODUCTION, "Status": "suspended"}
    assert iop_json("-l")[PRODUCTION]["Status"] == "Suspended"
    assert any("synchronous request(s) still queued" in e.text for e in store.log_since(0))

    run_iop("-s", PRODUCTION, "-D")  # a suspended production starts again
    for caller in callers:
        caller.join(60)
    assert sorted(a.n for a in answers) == [1, 2]
    run_iop("-S")
    assert iop_json("-x")["Status"] == "stopped"


def test_a_job_that_hits_a_full_disk_waits_and_resumes_when_it_can_write_again(
        make_project: Any, store: Any, wait_for: Any) -> None:
    module, gateway = _running(make_project)
    job = wait_for(lambda: [j for j in store.list_jobs() if j.item == "Worker"],
                   timeout=30, what="the Worker job")[0]
    # The job may not grow any file any more: its next commit to the store fails as on a
    # full disk (Python ignores SIGXFSZ, so the write fails with EFBIG). An outage: the job
    # waits it out (issue 25), it does not exit.
    resource.prlimit(job.pid, resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))
    for n in range(100):
        gateway.on_process_input(("Worker", module.Work(n), False))
    # It cannot write its heartbeat either (nor any file: the limit is the process's).
    wait_for(lambda: [j for j in store.list_jobs() if j.pid == job.pid
                      and time.time() - j.heartbeat > 6], timeout=60,
             what="the job's heartbeat to stop while it cannot write")
    assert _counts(store) != {"completed": 100}
    assert os.path.exists(f"/proc/{job.pid}")
    # Space comes back: the same job goes on and delivers everything.
    resource.prlimit(job.pid, resource.RLIMIT_FSIZE,
                     (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    wait_for(lambda: _counts(store) == {"completed": 100}, timeout=120,
             what="every message to complete")
    assert [j.pid for j in store.list_jobs() if j.item == "Worker"] == [job.pid]
    assert not [e for e in store.log_since(0) if "ended (" in e.text]


def test_a_locked_database_makes_writers_wait_not_fail(
        make_project: Any, store: Any, wait_for: Any, iop_home: Path) -> None:
    module, gateway = _running(make_project)
    blocker = sqlite3.connect(store.location, isolation_level=None, timeout=30)
    blocker.execute("BEGIN EXCLUSIVE")  # another program holds the database
    sent: list[float] = []

    def send() -> None:
        started = time.monotonic()
        for n in range(50):
            gateway.on_process_input(("Worker", module.Work(n), False))
        sent.append(time.monotonic() - started)

    sender = threading.Thread(target=send)
    sender.start()
    time.sleep(2.0)  # the lock is held for this long on purpose
    assert not sent, "sends went through while the database was locked"
    blocker.execute("ROLLBACK")
    blocker.close()
    sender.join(60)
    assert sent and sent[0] >= 2.0
    wait_for(lambda: _counts(store) == {"completed": 50}, timeout=120,
             what="every message sent under the lock to complete")
    assert not [e for e in store.log_since(0) if e.type == "error"]


def test_a_stop_waits_for_shutdown_timeout_then_ends_a_stuck_job(
        make_project: Any, store: Any, wait_for: Any, iop_json: Any, run_iop: Any,
        tmp_path: Path) -> None:
    project = make_project(COMPONENTS, SETTINGS.replace(
        'prod = Production("Recovery.Production")',
        'prod = Production("Recovery.Production").timeouts(shutdown=2, update=2)'))
    project.migrate()
    project.start(PRODUCTION)
    module = project.import_module()
    gateway = Director().get_business_service("Gateway")
    marker = tmp_path / "stalled"
    gateway.on_process_input(("Worker", module.Work(1, stall_once=str(marker)), False))
    wait_for(marker.exists, timeout=30, what="the handler to hang")
    started = time.monotonic()
    run_iop("-S")
    assert time.monotonic() - started < 20  # ShutdownTimeout 2 s, not the handler's minute
    assert iop_json("-x")["Status"] == "stopped"
    assert any("did not stop within the production's ShutdownTimeout (2 s); killing it" in e.text
               for e in store.log_since(0))
    run_iop("-s", PRODUCTION, "-D")
    wait_for(lambda: _counts(store) == {"completed": 1}, timeout=60,
             what="the interrupted message to be delivered again and complete")
