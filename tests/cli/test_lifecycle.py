"""The `iop` lifecycle commands of seed 000, run as a real subprocess on a private store."""

from __future__ import annotations

import re
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

import iop

MAIN = "Life.Production"
OTHER = "Life.Other"
TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$")
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \[[^\]]*\] [A-Z]+: ")

COMPONENTS = '''
@dataclass
class Ping(Message):
    n: int = 0
    text: str = ""


@dataclass
class Pong(Message):
    n: int = 0
    text: str = ""


class Front(BusinessService):
    """Driven from outside; its job idles."""


class Middle(BusinessProcess):
    def on_request(self, request):
        return self.send_request_sync("Back", request)


class Back(BusinessOperation):
    Greeting = setting("hello")

    @handler(Ping)
    def answer(self, request):
        return Pong(request.n, f"{self.Greeting} {request.text}")
'''


def settings(greeting: str = "hello") -> str:
    return f'''
prod = Production("{MAIN}", testing_enabled=True)
prod.service("Front", Front)
prod.process("Middle", Middle)
prod.operation("Back", Back).host_setting("Greeting", {greeting!r})
other = Production("{OTHER}", testing_enabled=True)
other.operation("Solo", Back)
PRODUCTIONS = [prod, other]
'''


@pytest.fixture
def project(make_project: Any) -> Any:
    """The lifecycle project, migrated (not started)."""
    project = make_project(COMPONENTS, settings())
    project.migrate()
    return project


@pytest.fixture
def started(project: Any, store: Any, job_pids: Any, wait_for: Any) -> Any:
    """The main production started detached; waits until every item has a running job."""
    project.start(MAIN)
    wait_for(lambda: set(job_pids(store)) == {"Front", "Middle", "Back"}, timeout=30,
             what="a running job for every item")
    return project


def _status(iop_json: Any) -> dict[str, str]:
    return iop_json("-x")


def test_migrate_prints_success_and_sets_the_default(make_project: Any, run_iop: Any) -> None:
    project = make_project(COMPONENTS, settings())
    out = project.migrate().stdout
    assert "Migration succeeded" in out.splitlines()[-1]
    assert MAIN in out and OTHER in out
    assert run_iop("-d").stdout.strip() == f"default production: {MAIN}"


def test_migrate_dry_run_writes_nothing(make_project: Any, run_iop: Any, iop_json: Any) -> None:
    project = make_project(COMPONENTS, settings())
    out = run_iop("-m", project.settings, "--dry-run").stdout
    assert "Migration succeeded" not in out
    assert iop_json("-l") == {}


def test_default_set_and_read(project: Any, run_iop: Any) -> None:
    assert run_iop("-d", OTHER).stdout.strip() == f"default production: {OTHER}"
    assert run_iop("-d").stdout.strip() == f"default production: {OTHER}"
    assert f"default production: {OTHER}" in run_iop("-h").stdout


def test_list_json_shape_through_start_and_stop(project: Any, run_iop: Any, iop_json: Any) -> None:
    listed = iop_json("-l")
    assert set(listed) == {MAIN, OTHER}
    for entry in listed.values():
        assert set(entry) == {"Status", "LastStartTime", "LastStopTime", "AutoStart"}
        assert entry["Status"] == "Stopped"
        assert entry["LastStartTime"] == "" and entry["LastStopTime"] == ""
        assert entry["AutoStart"] in (0, 1, False, True)

    project.start(MAIN)
    running = iop_json("-l")
    assert running[MAIN]["Status"] == "Running"
    assert TIME.match(running[MAIN]["LastStartTime"])
    assert running[OTHER]["Status"] == "Stopped"

    run_iop("-S")
    stopped = iop_json("-l")[MAIN]
    assert stopped["Status"] == "Stopped"
    assert TIME.match(stopped["LastStopTime"])
    assert stopped["LastStopTime"] >= stopped["LastStartTime"] == running[MAIN]["LastStartTime"]


def test_status_before_any_start(project: Any, iop_json: Any) -> None:
    status = _status(iop_json)
    assert status["Status"] == "stopped"
    assert set(status) == {"Production", "Status"}


def test_start_detached_then_status_running(project: Any, run_iop: Any, iop_json: Any,
                                            store: Any, job_pids: Any, pid_alive: Any,
                                            wait_for: Any) -> None:
    out = run_iop("-s", MAIN, "-D")
    assert out.stdout.strip() == f"Production {MAIN} started"
    assert _status(iop_json) == {"Production": MAIN, "Status": "running"}
    pids = wait_for(lambda: (p := job_pids(store)) and set(p) == {"Front", "Middle", "Back"}
                    and p, timeout=30, what="every item's job")
    assert all(pid_alive(pid) for pid_list in pids.values() for pid in pid_list)
    assert pid_alive(store.get_runtime().supervisor_pid)


def test_start_without_name_uses_the_default(project: Any, run_iop: Any, iop_json: Any) -> None:
    run_iop("-d", OTHER)
    run_iop("-s", "-D")
    assert _status(iop_json) == {"Production": OTHER, "Status": "running"}


def test_second_production_is_refused_while_the_first_runs(
        started: Any, run_iop: Any, iop_json: Any, store: Any, job_pids: Any) -> None:
    before = job_pids(store)
    supervisor = store.get_runtime().supervisor_pid
    proc = run_iop("-s", OTHER, "-D", check=False)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error:") and MAIN in lines[0]
    assert _status(iop_json) == {"Production": MAIN, "Status": "running"}
    assert job_pids(store) == before
    assert store.get_runtime().supervisor_pid == supervisor


def test_update_restarts_only_the_changed_item(started: Any, run_iop: Any, store: Any,
                                               job_pids: Any, pid_alive: Any,
                                               wait_for: Any) -> None:
    ping = started.message_class("Ping")
    before = job_pids(store)
    assert "hello x" in run_iop("-t", "Back", "-C", ping, "-B", '{"n": 1, "text": "x"}').stdout

    started.write_settings(settings("bonjour"))
    started.migrate()
    assert run_iop("-u").stdout.strip() == "Production updated"

    after = wait_for(lambda: (p := job_pids(store)).get("Back") and p["Back"] != before["Back"]
                     and p, timeout=30, what="a new Back job")
    assert after["Front"] == before["Front"]
    assert after["Middle"] == before["Middle"]
    assert set(after["Back"]).isdisjoint(before["Back"])
    assert "bonjour x" in run_iop("-t", "Back", "-C", ping, "-B", '{"n": 1, "text": "x"}').stdout
    log = run_iop("-L", "5").stdout
    assert "Back" in log and "updated" in log


def test_update_returns_once_the_changed_item_is_restarted(
        started: Any, run_iop: Any, store: Any, job_pids: Any, pid_alive: Any) -> None:
    before = job_pids(store)
    started.write_settings(settings("hola"))
    started.migrate()
    run_iop("-u")
    assert not any(pid_alive(pid) for pid in before["Back"]), \
        "`iop -u` printed 'Production updated' while the changed item's old job still ran"
    assert job_pids(store).get("Back") not in (None, before["Back"]), \
        "`iop -u` returned before the changed item had a new job"


def test_update_with_nothing_changed_restarts_nothing(started: Any, run_iop: Any, store: Any,
                                                      job_pids: Any) -> None:
    before = job_pids(store)
    run_iop("-u")
    assert job_pids(store) == before


def test_update_without_a_running_production_is_an_error(project: Any, run_iop: Any) -> None:
    proc = run_iop("-u", check=False)
    assert proc.returncode != 0
    assert proc.stderr.startswith("error:") and len(proc.stderr.strip().splitlines()) == 1


def test_restart_starts_fresh_jobs(started: Any, run_iop: Any, iop_json: Any, store: Any,
                                   job_pids: Any, pid_alive: Any, wait_for: Any) -> None:
    before = job_pids(store)
    supervisor = store.get_runtime().supervisor_pid
    first_start = iop_json("-l")[MAIN]["LastStartTime"]
    run_iop("-r")
    assert _status(iop_json) == {"Production": MAIN, "Status": "running"}
    assert store.get_runtime().supervisor_pid != supervisor
    wait_for(lambda: not pid_alive(supervisor), timeout=10, what="the old supervisor to exit")
    after = wait_for(lambda: (p := job_pids(store)) and set(p) == set(before) and p,
                     timeout=30, what="jobs of every item after the restart")
    for item, pids in before.items():
        assert set(after[item]).isdisjoint(pids), f"{item} kept its job across the restart"
        assert not any(pid_alive(pid) for pid in pids)
    assert iop_json("-l")[MAIN]["LastStartTime"] > first_start


def test_stop_then_status_stopped(started: Any, run_iop: Any, iop_json: Any, store: Any,
                                  job_pids: Any, pid_alive: Any, wait_for: Any) -> None:
    pids = [pid for pid_list in job_pids(store).values() for pid in pid_list]
    supervisor = store.get_runtime().supervisor_pid
    out = run_iop("-S").stdout
    assert "stopped" in out
    assert _status(iop_json) == {"Production": MAIN, "Status": "stopped"}
    assert store.list_jobs() == []
    assert not any(pid_alive(pid) for pid in pids)  # the stop waited for the jobs
    wait_for(lambda: not pid_alive(supervisor), timeout=10, what="the supervisor to exit")
    wait_for(lambda: f"Production {MAIN} stopped" in run_iop("-L", "3").stdout, timeout=10,
             what="the stop in the event log")
    run_iop("-S")  # stopping again is harmless


def test_kill_kills_job_processes(started: Any, run_iop: Any, iop_json: Any, store: Any,
                                  job_pids: Any, pid_alive: Any, wait_for: Any) -> None:
    pids = [pid for pid_list in job_pids(store).values() for pid in pid_list]
    supervisor = store.get_runtime().supervisor_pid
    run_iop("-k")
    wait_for(lambda: not any(pid_alive(pid) for pid in [*pids, supervisor]), timeout=10,
             what="the killed processes to be gone")
    assert _status(iop_json)["Status"] == "stopped"
    assert store.list_jobs() == []


def test_queue_json_shape_per_item(started: Any, iop_json: Any) -> None:
    queues = iop_json("-q")
    assert queues["production"] == MAIN
    assert [entry["item"] for entry in queues["items"]] == ["Front", "Middle", "Back"]
    for entry in queues["items"]:
        assert entry["queue_name"] == entry["item"]
        assert isinstance(entry["count"], int) and entry["count"] == 0
        assert entry["exists"] in (True, 1)
    assert iop_json("-q", OTHER)["production"] == OTHER


def test_export_json_shape(project: Any, iop_json: Any) -> None:
    exported = iop_json("-e")
    assert list(exported) == ["Production"]
    body = exported["Production"]
    assert body["@Name"] == MAIN
    assert body["@TestingEnabled"] == "true"
    items = body["Item"] if isinstance(body["Item"], list) else [body["Item"]]
    assert [item["@Name"] for item in items] == ["Front", "Middle", "Back"]
    for item in items:
        for key in ("@ClassName", "@PoolSize", "@Enabled", "@Foreground", "@Comment",
                    "@Category", "@LogTraceEvents", "@Schedule"):
            assert isinstance(item[key], str), (item["@Name"], key)
        # IoP's proxy class names drop the module's underscores.
        assert item["@ClassName"] == f"Python.{project.module.replace('_', '')}.{item['@Name']}"
    back = next(item for item in items if item["@Name"] == "Back")
    assert {"@Target": "Host", "@Name": "Greeting", "#text": "hello"} in back["Setting"]
    assert iop_json("-e", OTHER)["Production"]["@Name"] == OTHER


def test_version(run_iop: Any) -> None:
    out = run_iop("-v").stdout.strip()
    assert re.fullmatch(r"\d+\.\d+(\.\d+)?\S*", out)
    assert out == iop.__version__


def test_help_shows_mode_store_and_default(project: Any, run_iop: Any, iop_home: Path) -> None:
    out = run_iop("-h").stdout
    assert "usage:" in out
    mode = next(line for line in out.splitlines() if line.startswith("Mode:"))
    assert "LOCAL" in mode
    assert str(iop_home) in mode
    assert f"default production: {MAIN}" in out
    for flag in ("-s", "-S", "-k", "-r", "-x", "-u", "-L", "-q", "-t", "-D", "-C", "-B"):
        assert flag in out


def test_log_top_n_prints_n_lines(started: Any, run_iop: Any) -> None:
    three = run_iop("-L", "3").stdout.splitlines()
    five = run_iop("-L", "5").stdout.splitlines()
    assert len(three) == 3 and len(five) == 5
    assert all(LOG_LINE.match(line) for line in five), five
    assert five[-3:] == three  # the newest entries, oldest first
    assert f"Production {MAIN} started" in three[-1]


def test_foreground_start_stops_on_sigint(project: Any, iop_json: Any, python_exe: str,
                                          store: Any, job_pids: Any, pid_alive: Any,
                                          wait_for: Any) -> None:
    proc = subprocess.Popen([python_exe, "-m", "iop", "-s", MAIN], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        wait_for(lambda: any(f"Production {MAIN} started" in line for line in lines)
                 or proc.poll() is not None, timeout=60, what="the foreground start")
        assert proc.poll() is None, f"foreground iop exited early: {proc.stderr.read()}"
        assert _status(iop_json) == {"Production": MAIN, "Status": "running"}
        pids = wait_for(lambda: (p := job_pids(store)) and len(p) == 3 and p, timeout=30,
                        what="jobs of the foreground production")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(10)
    assert any(f"Production {MAIN} stopped" in line for line in lines), lines
    assert _status(iop_json) == {"Production": MAIN, "Status": "stopped"}
    assert not any(pid_alive(pid) for pid_list in pids.values() for pid in pid_list)
    assert "Traceback" not in proc.stderr.read()


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# A script that starts `iop -L` in the background hands it SIGINT ignored (as CI may): the
# command restores Ctrl+C itself, so both starts must end on SIGINT.
@pytest.mark.parametrize("inherited", ["default", "ignored"])
def test_log_follow_streams_new_entries_until_sigint(started: Any, run_iop: Any, python_exe: str,
                                                     wait_for: Any, inherited: str) -> None:
    proc = subprocess.Popen([python_exe, "-m", "iop", "-L"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=_ignore_sigint if inherited == "ignored" else None)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        wait_for(lambda: any(f"Production {MAIN} started" in line for line in lines),
                 timeout=30, what="the recent entries")
        run_iop("-S")
        wait_for(lambda: any(f"Production {MAIN} stopped" in line for line in lines),
                 timeout=30, what="the stop to be streamed")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(10)
    assert "Traceback" not in proc.stderr.read()
