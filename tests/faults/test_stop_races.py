"""Stops that race a start, and jobs whose waits must end: `iop -S`/`-k` issued while
`iop -s -D` is still starting, a supervisor killed while a job waits for an answer that
never comes, a stop during a ReplyCodeActions retry, and Ctrl+C on `iop -L` started with
SIGINT ignored. Real processes on a private IOP_HOME."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from stop_races_support import (
    COMPONENTS,
    PRODUCTION,
    SETTINGS,
    engine_processes,
    launch_iop,
    signal_ignored,
)

from iop import Director
from iop.engine.job import LEASE_SECONDS

STARTED = f"Production {PRODUCTION} started"
GAVE_UP = f"error: production {PRODUCTION} was stopped (iop -S or -k) before it finished starting"


def _project(make_project: Any) -> Any:
    project = make_project(COMPONENTS, SETTINGS)
    project.migrate()
    return project


def _race(python_exe: str, home: Path, second: str) -> tuple[subprocess.Popen[str], str, str]:
    """`iop -s -D`, then ``second`` (-S or -k) 0.05 s later; both outputs once both ended."""
    start = launch_iop(python_exe, home, "-s", PRODUCTION, "-D")
    time.sleep(0.05)  # the race itself: the second command is launched while the first starts
    other = launch_iop(python_exe, home, second)
    other_out, other_err = other.communicate(timeout=90)
    start_out, start_err = start.communicate(timeout=90)
    assert other.returncode == 0, other_err
    return start, (start_out + start_err).strip(), other_out.strip()


def _assert_stopped(iop_json: Any, home_processes: Any, wait_for: Any) -> None:
    wait_for(lambda: not engine_processes(home_processes), timeout=10,
             what="no supervisor or job left")
    assert iop_json("-x") == {"Production": PRODUCTION, "Status": "stopped"}


def test_a_stop_just_after_a_detached_start_leaves_the_production_stopped(
        make_project: Any, iop_home: Path, python_exe: str, iop_json: Any,
        home_processes: Any, wait_for: Any) -> None:
    _project(make_project)
    outcomes = []
    for _ in range(5):
        start, start_said, stop_said = _race(python_exe, iop_home, "-S")
        # Each command says what it did; none claims a state that did not hold.
        assert stop_said in (f"Production {PRODUCTION} stopped",
                             "No production is running in namespace USER; nothing to stop")
        assert (start.returncode, start_said) in ((0, STARTED), (1, GAVE_UP)), start_said
        outcomes.append((start_said.split()[-1], stop_said.split()[-1]))
        _assert_stopped(iop_json, home_processes, wait_for)
    print("start/stop outcomes:", outcomes)


def test_a_kill_just_after_a_detached_start_leaves_the_production_stopped(
        make_project: Any, iop_home: Path, python_exe: str, iop_json: Any,
        home_processes: Any, wait_for: Any) -> None:
    _project(make_project)
    for _ in range(2):
        start, start_said, kill_said = _race(python_exe, iop_home, "-k")
        assert kill_said in (f"Production {PRODUCTION} killed",
                             "No production is running in namespace USER; nothing to kill")
        assert (start.returncode, start_said) in ((0, STARTED), (1, GAVE_UP)), start_said
        _assert_stopped(iop_json, home_processes, wait_for)


def test_a_restart_during_a_start_leaves_one_running_production(
        make_project: Any, iop_home: Path, python_exe: str, iop_json: Any, store: Any,
        home_processes: Any, wait_for: Any, pid_alive: Any) -> None:
    _project(make_project)
    start = launch_iop(python_exe, iop_home, "-s", PRODUCTION, "-D")
    wait_for(lambda: store.get_runtime().status == "starting", timeout=30,
             what="the start to be recorded")
    restart = launch_iop(python_exe, iop_home, "-r")
    restart_out, restart_err = restart.communicate(timeout=90)
    start_out, start_err = start.communicate(timeout=90)
    assert restart.returncode == 0, restart_err
    assert restart_out.strip() == f"Production {PRODUCTION} restarted"
    assert start.returncode == 0 and start_out.strip() == STARTED, start_err
    assert iop_json("-x") == {"Production": PRODUCTION, "Status": "running"}
    supervisors = [pid for pid, cmd in engine_processes(home_processes).items()
                   if " supervisor " in cmd]
    assert supervisors == [store.get_runtime().supervisor_pid]


def test_a_job_waiting_for_an_answer_ends_within_its_lease_when_its_supervisor_is_killed(
        make_project: Any, store: Any, iop_json: Any, home_processes: Any,
        wait_for: Any, pid_alive: Any) -> None:
    project = _project(make_project)
    project.start(PRODUCTION)
    module = project.import_module()
    Director().get_business_service("Gateway").on_process_input(("Waiter", module.Job(1)))
    # The Waiter's job is inside send_request_sync once its request to Silent is queued.
    wait_for(lambda: store.count_by_status(target="Silent").get("queued"), timeout=30,
             what="Waiter's request to Silent")
    waiter = next(j.pid for j in store.list_jobs() if j.item == "Waiter")
    os.kill(store.get_runtime().supervisor_pid, signal.SIGKILL)
    killed = time.monotonic()
    wait_for(lambda: not pid_alive(waiter), timeout=LEASE_SECONDS, what="the Waiter job to end")
    gone_after = time.monotonic() - killed
    print(f"waiting job gone {gone_after:.2f} s after its supervisor was killed "
          f"(lease {LEASE_SECONDS:g} s)")
    assert gone_after < LEASE_SECONDS
    wait_for(lambda: not engine_processes(home_processes), timeout=LEASE_SECONDS,
             what="every job to end")
    assert iop_json("-x") == {"Production": PRODUCTION, "Status": "troubled"}
    # Nothing was answered, nothing lost: Waiter's request is delivered again after recovery.
    assert store.count_by_status(target="Waiter").get("completed", 0) == 0
    assert iop_json("--recover")["status"] in ("stopped", "suspended")


def test_a_stop_during_a_retry_loop_ends_the_job_promptly(
        make_project: Any, store: Any, run_iop: Any, iop_json: Any, home_processes: Any,
        wait_for: Any) -> None:
    project = _project(make_project)
    project.start(PRODUCTION)
    module = project.import_module()
    Director().get_business_service("Gateway").on_process_input(("Flaky", module.Job(2)))
    wait_for(lambda: any("retrying every 30 s, forever" in e.text for e in store.log_top(50)),
             timeout=30, what="Flaky to be retrying")
    began = time.monotonic()
    run_iop("-S")
    took = time.monotonic() - began
    print(f"stop during a 30 s retry interval took {took:.2f} s")
    assert took < 10, "the stop waited for the retry interval or ShutdownTimeout"
    assert not engine_processes(home_processes)
    assert iop_json("-x")["Status"] in ("stopped", "suspended")
    # The message was not given up on: it waits in Flaky's queue for the next start.
    assert store.count_by_status(target="Flaky") == {"delivered": 1}


def test_iop_log_started_with_sigint_ignored_still_ends_on_sigint(
        iop_home: Path, python_exe: str, run_iop: Any, wait_for: Any) -> None:
    run_iop("-i")  # a namespace to follow
    script = f"trap '' INT; {python_exe} -m iop -L & echo $!; wait $!; echo rc=$?"
    shell = subprocess.Popen(["bash", "-c", script], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "IOP_HOME": str(iop_home)})
    assert shell.stdout is not None
    pid = int(shell.stdout.readline())
    # Started ignoring SIGINT (as a script's background job does); iop restores the default.
    wait_for(lambda: not signal_ignored(pid, signal.SIGINT), timeout=30,
             what="iop -L to take SIGINT back")
    os.kill(pid, signal.SIGINT)
    out, _ = shell.communicate(timeout=30)
    # 0 when Ctrl+C lands in the follow loop (its normal end), 130 when it lands before.
    assert out.strip().splitlines()[-1] in ("rc=0", "rc=130"), out
