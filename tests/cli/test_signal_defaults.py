"""Issue 25: the long-running commands (`iop -L`, a foreground `iop -s NAME`, `iop --serve`)
end on SIGINT and on SIGTERM even when started with both ignored, as a script's background
job inherits them (and as CI may run it); a foreground production stops cleanly on either."""

from __future__ import annotations

import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from remote_server import free_port

PRODUCTION = "Signals.Production"

COMPONENTS = '''
class Ticker(PollingBusinessService):
    def on_poll(self):
        self.send_request_async("Echo", Message())


class Echo(BusinessOperation):
    def on_message(self, request):
        return request
'''

SETTINGS = f'''
prod = Production("{PRODUCTION}")
prod.service("Ticker", Ticker).adapter_setting("CallInterval", "0.2")
prod.operation("Echo", Echo)
PRODUCTIONS = [prod]
'''

SIGNALS = [pytest.param(signal.SIGINT, id="SIGINT"), pytest.param(signal.SIGTERM, id="SIGTERM")]


def _ignore_both() -> None:
    # What a shell script's `cmd &` (or a CI runner) may hand down: both signals ignored.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


class Launched:
    """A long-running `iop` started with SIGINT and SIGTERM ignored, its stdout collected."""

    def __init__(self, python_exe: str, *args: str) -> None:
        self.proc = subprocess.Popen([python_exe, "-m", "iop", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True,
                                     preexec_fn=_ignore_both)
        self.lines: list[str] = []
        assert self.proc.stdout is not None
        stdout = self.proc.stdout
        self.reader = threading.Thread(target=lambda: self.lines.extend(stdout), daemon=True)
        self.reader.start()

    def printed(self, needle: str) -> bool:
        return any(needle in line for line in self.lines)

    def end(self, signum: int, timeout: float = 60) -> tuple[int, str]:
        """Send ``signum``; the exit code and standard error once the command ended."""
        self.proc.send_signal(signum)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"iop did not end within {timeout} s of {signum!r}") from None
        self.reader.join(10)
        assert self.proc.stderr is not None
        return code, self.proc.stderr.read()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def project(make_project: Any) -> Any:
    project = make_project(COMPONENTS, SETTINGS)
    project.migrate()
    return project


@pytest.mark.parametrize("signum", SIGNALS)
def test_foreground_start_stops_its_production_on_a_signal(
        project: Any, signum: int, python_exe: str, iop_json: Any, store: Any, job_pids: Any,
        pid_alive: Any, wait_for: Any) -> None:
    launched = Launched(python_exe, "-s", PRODUCTION)
    try:
        wait_for(lambda: launched.printed(f"Production {PRODUCTION} started")
                 or launched.proc.poll() is not None, timeout=60, what="the foreground start")
        assert launched.proc.poll() is None, "the foreground iop ended on its own"
        pids = wait_for(lambda: (p := job_pids(store)) and len(p) == 2 and p, timeout=30,
                        what="the jobs of the foreground production")
        # The production works: Echo answers Ticker's requests.
        wait_for(lambda: store.count_by_status(target="Echo").get("completed", 0) >= 2,
                 timeout=30, what="Echo to complete requests")
        code, err = launched.end(signum)
    finally:
        launched.kill()
    assert code == 0, err
    assert "Traceback" not in err, err
    assert launched.printed(f"Production {PRODUCTION} stopped"), launched.lines
    assert iop_json("-x") == {"Production": PRODUCTION, "Status": "stopped"}
    assert not any(pid_alive(pid) for pids_of in pids.values() for pid in pids_of)
    assert store.get_runtime().supervisor_pid in (None, 0)


@pytest.mark.parametrize("signum", SIGNALS)
def test_log_follow_ends_on_a_signal(project: Any, signum: int, python_exe: str, run_iop: Any,
                                     wait_for: Any) -> None:
    run_iop("-s", PRODUCTION, "-D")
    launched = Launched(python_exe, "-L")
    try:
        wait_for(lambda: launched.printed(f"Production {PRODUCTION} started"), timeout=30,
                 what="the recent entries")
        code, err = launched.end(signum)
    finally:
        launched.kill()
    # SIGINT ends the follow loop (0); SIGTERM's default action ends the process.
    assert code == (0 if signum == signal.SIGINT else -signal.SIGTERM), (code, err)
    assert "Traceback" not in err, err


@pytest.mark.parametrize("signum", SIGNALS)
def test_serve_ends_on_a_signal(iop_home: Path, signum: int, python_exe: str,
                                wait_for: Any) -> None:
    port = free_port()
    launched = Launched(python_exe, "--serve", "--port", str(port))
    url = f"http://127.0.0.1:{port}/api/iop/version"

    def answering() -> bool:
        assert launched.proc.poll() is None, "iop --serve ended on its own"
        try:
            return httpx.get(url, timeout=2).status_code in (200, 401)
        except httpx.HTTPError:
            return False

    try:
        wait_for(answering, timeout=60, what="iop --serve to listen")
        code, err = launched.end(signum, timeout=30)
    finally:
        launched.kill()
    assert code == 0, (code, err)
    assert "Traceback" not in err, err
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=2)
