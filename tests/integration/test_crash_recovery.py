"""Acceptance: a job killed with SIGKILL mid-flow loses nothing once the supervisor restarts it."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from iop import Director

PRODUCTION = "Crash.Production"
TOTAL = 500

COMPONENTS = '''
@dataclass
class Work(Message):
    n: int = 0


class Feeder(BusinessService):
    def on_process_input(self, request):
        self.send_request_async("Recorder", request)


class Recorder(BusinessOperation):
    """Takes a little time per message and records every id it processed."""

    OutFile = setting("")
    Delay = setting(0.01)

    def on_message(self, request):
        time.sleep(self.Delay)
        with open(self.OutFile, "a", encoding="utf-8") as fh:
            fh.write(f"{request.n}\\n")
'''


def _processed(path: Path) -> list[int]:
    if not path.exists():
        return []
    return [int(line) for line in path.read_text().splitlines() if line.strip()]


def test_sigkilled_job_is_restarted_and_no_request_is_lost(
        make_project: Any, store: Any, tmp_path: Path, wait_for: Any, pid_alive: Any,
        run_iop: Any, iop_json: Any) -> None:
    record = tmp_path / "processed.txt"
    project = make_project(COMPONENTS, f'''
        prod = Production("{PRODUCTION}")
        prod.service("Feeder", Feeder)
        prod.operation("Recorder", Recorder).host_setting("OutFile", {str(record)!r})
        PRODUCTIONS = [prod]
        ''')
    project.migrate()
    project.start(PRODUCTION)
    module = project.import_module()

    def recorder_job() -> Any:
        jobs = [j for j in store.list_jobs() if j.item == "Recorder" and j.state == "running"]
        return jobs[0] if len(jobs) == 1 else None

    first = wait_for(recorder_job, timeout=30, what="the Recorder job")
    feeder = Director().get_business_service("Feeder")
    for n in range(TOTAL):
        feeder.on_process_input(module.Work(n))
    assert len(store.query_headers(target="Recorder", type="request", limit=0)) == TOTAL

    wait_for(lambda: len(_processed(record)) >= 50, timeout=60,
             what="the Recorder to process 50 messages")
    os.kill(first.pid, signal.SIGKILL)
    done_at_kill = len(set(_processed(record)))
    assert done_at_kill < TOTAL, "the job finished before it could be killed mid-flow"

    second = wait_for(lambda: (job := recorder_job()) is not None and job.pid != first.pid and job,
                      timeout=30, what="a new Recorder job")
    assert pid_alive(second.pid)
    assert not pid_alive(first.pid)

    def all_completed() -> dict[str, int] | None:
        counts = store.count_by_status(type="request")
        return counts if counts == {"completed": TOTAL} else None

    try:
        wait_for(all_completed, timeout=120, what="every request to complete")
    except AssertionError as exc:
        counts = store.count_by_status(type="request")
        raise AssertionError(f"{exc}; requests by status: {counts}") from None

    assert set(_processed(record)) == set(range(TOTAL))  # at least once, none lost
    assert store.queue_counts().get("Recorder", 0) == 0
    requests = store.query_headers(target="Recorder", type="request", limit=0)
    assert len(requests) == TOTAL and {h.status for h in requests} == {"completed"}
    assert all(h.processed is not None and h.processed >= h.created for h in requests)

    restarts = [e.text for e in store.log_since(0)
                if "Recorder" in e.text and "restart" in e.text.lower()]
    assert restarts, "the event log must mention the restart of the killed job"
    assert any("Recorder" in line and "restart" in line
               for line in run_iop("-L", "500").stdout.splitlines())
    assert iop_json("-x") == {"Production": PRODUCTION, "Status": "running"}


def test_jobs_do_not_outlive_a_killed_supervisor(make_project: Any, store: Any,
                                                 home_processes: Any, tmp_path: Path,
                                                 wait_for: Any, iop_json: Any) -> None:
    project = make_project(COMPONENTS, f'''
        prod = Production("{PRODUCTION}")
        prod.service("Feeder", Feeder)
        prod.operation("Recorder", Recorder).host_setting("OutFile", {str(tmp_path / "r.txt")!r})
        PRODUCTIONS = [prod]
        ''')
    project.migrate()
    project.start(PRODUCTION)
    supervisor = store.get_runtime().supervisor_pid
    first = wait_for(lambda: [j for j in store.list_jobs() if j.item == "Recorder"],
                     timeout=30, what="the Recorder job")[0]

    # Kill a job, and kill the supervisor the moment it has spawned the replacement, while
    # the replacement is still starting up.
    os.kill(first.pid, signal.SIGKILL)

    def replacement() -> int | None:
        for pid, cmd in home_processes().items():
            if "iop.engine.processes job" in cmd and " Recorder " in cmd and pid != first.pid:
                return pid
        return None

    starting = wait_for(replacement, timeout=30, interval=0.002, what="the replacement job")
    os.kill(supervisor, signal.SIGKILL)

    assert iop_json("-x")["Status"] == "troubled"
    try:
        wait_for(lambda: not home_processes(), timeout=10,
                 what="every job to exit after its supervisor died")
    except AssertionError:
        survivors = home_processes()
        raise AssertionError(f"jobs outlived their supervisor: {survivors} "
                             f"(the replacement that was starting: {starting})") from None
