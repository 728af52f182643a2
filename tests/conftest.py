"""Shared fixtures: a private IOP_HOME per test, the real `iop` CLI, project files, polling.

Everything here builds real things: the store is the SQLite file under a temporary IOP_HOME,
the CLI runs as a subprocess of the venv's python, productions run real OS processes. The
``iop_home`` fixture stops whatever a test started (``iop -k``) and fails the test if any
process that carries its IOP_HOME survives.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from compat_tally import TALLY, WORKER_OUTPUT_KEY

REPO = Path(__file__).resolve().parents[1]
_VENV_PYTHON = REPO / ".venv" / "bin" / "python"
PYTHON = str(_VENV_PYTHON) if _VENV_PYTHON.exists() else sys.executable

# Variables that would make the CLI leave local mode or another namespace/backend.
_FOREIGN_ENV = ("IOP_URL", "IOP_SETTINGS", "IOP_NAMESPACE", "IOP_DATABASE_URL", "IOP_USERNAME",
                "IOP_PASSWORD", "IOP_VERIFY_SSL")

COMPONENT_HEADER = """\
import itertools
import json
import os
import time
from dataclasses import dataclass, field
from typing import Optional

from iop import (BusinessOperation, BusinessProcess, BusinessService, InboundAdapter, Message,
                 OutboundAdapter, PollingBusinessService, handler, setting)
"""

SETTINGS_HEADER = """\
from iop import Production
from {module} import *
"""


# ---------------------------------------------------------------------------- polling


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05,
             what: str | None = None) -> Any:
    """Poll ``predicate`` until it returns something truthy (returned) or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for "
                                 f"{what or getattr(predicate, '__name__', 'a condition')}; "
                                 f"last value {value!r}")
        time.sleep(interval)


# ---------------------------------------------------------------------------- processes


def pid_alive(pid: int) -> bool:
    """True while ``pid`` is a running (not zombie) process."""
    if pid <= 0:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as fh:
            state = fh.read().rsplit(") ", 1)[1][:1]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def processes_with_home(home: Path) -> dict[int, str]:
    """Live processes (other than this one) whose environment carries IOP_HOME=home."""
    marker = b"IOP_HOME=" + str(home).encode() + b"\0"
    found: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                environ = fh.read()
            if marker not in environ and not environ.endswith(marker[:-1]):
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if pid_alive(int(entry)):
            found[int(entry)] = cmdline
    return found


def _run_cli(args: tuple[Any, ...], env: dict[str, str], timeout: float,
             cwd: str | Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-m", "iop", *[str(a) for a in args]], env=env,
                          capture_output=True, text=True, timeout=timeout, cwd=cwd)


# ------------------------------------------------------------------ order: slow files first


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files holding a ``slow`` test run first (in their own order otherwise): the parallel
    workers (scripts/test.sh) take a file at a time in this order, so a long file started
    last cannot keep one worker busy after the others are done."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)  # stable: False sorts first


# ------------------------------------------------------------- the compat tally (tests/compat)


def pytest_sessionfinish(session: pytest.Session) -> None:
    worker_output = getattr(session.config, "workeroutput", None)
    if worker_output is not None:  # a pytest-xdist worker: hand its tally to the controller
        worker_output[WORKER_OUTPUT_KEY] = dict(TALLY.counts)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist controller: a worker finished; add its tally to ours."""
    TALLY.counts.update(getattr(node, "workeroutput", {}).get(WORKER_OUTPUT_KEY, {}))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if sum(TALLY.counts.values()):
        terminalreporter.write_line(TALLY.line())


# ---------------------------------------------------------------------------- fixtures


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def iop_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
             request: pytest.FixtureRequest) -> Any:
    """A fresh IOP_HOME for this test, in os.environ and so in every subprocess."""
    home = tmp_path / "iop_home"
    home.mkdir(mode=0o700)  # as iop makes it: a looser home is tightened with a notice
    for name in _FOREIGN_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IOP_HOME", str(home))
    saved_path = list(sys.path)
    saved_modules = set(sys.modules)
    yield home

    env = {**os.environ, "IOP_HOME": str(home)}
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        _show_diagnostics(home, env)
    try:
        _run_cli(("-k",), env, 60)
    except subprocess.TimeoutExpired:
        pass
    survivors: dict[int, str] = {}
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        survivors = processes_with_home(home)
        if not survivors:
            break
        time.sleep(0.1)
    for pid in survivors:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    sys.path[:] = saved_path
    for name in set(sys.modules) - saved_modules:
        module_file = getattr(sys.modules[name], "__file__", None) or ""
        if module_file.startswith(str(tmp_path)):
            del sys.modules[name]
    if survivors:
        listing = "\n".join(f"  {pid}: {cmd}" for pid, cmd in survivors.items())
        pytest.fail(f"processes started by the test survived `iop -k`:\n{listing}")


def _show_diagnostics(home: Path, env: dict[str, str]) -> None:
    """Print the event log and job stderr files; shown by pytest for a failed test."""
    try:
        log = _run_cli(("-L", "60"), env, 30)
        print("==== iop -L 60\n" + log.stdout + log.stderr)
    except subprocess.TimeoutExpired:
        print("==== iop -L 60 timed out")
    for path in sorted(home.rglob("*.log")) + sorted(home.rglob("*.err")):
        text = path.read_text(errors="replace")
        if text.strip():
            print(f"==== {path}\n{text[-3000:]}")


@pytest.fixture(name="wait_for")
def wait_for_fixture() -> Callable[..., Any]:
    """``wait_for(predicate, timeout=30)``: poll with a deadline, never a fixed sleep."""
    return wait_for


@pytest.fixture
def python_exe() -> str:
    """The venv's python, for scripts and ``python -m iop`` run with Popen."""
    return PYTHON


@pytest.fixture
def home_processes(iop_home: Path) -> Callable[[], dict[int, str]]:
    """``home_processes()``: pid → command line of live processes started under this IOP_HOME."""
    return lambda: processes_with_home(iop_home)


@pytest.fixture(name="pid_alive")
def pid_alive_fixture() -> Callable[[int], bool]:
    """``pid_alive(pid)``: whether a process runs (zombies count as gone)."""
    return pid_alive


@pytest.fixture
def run_iop(iop_home: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``run_iop(*args, check=True)``: the real CLI (``python -m iop``) as a subprocess."""

    def run(*args: Any, check: bool = True, timeout: float = 90,
            cwd: str | Path | None = None) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "IOP_HOME": str(iop_home)}
        proc = _run_cli(args, env, timeout, cwd)
        if check and proc.returncode != 0:
            raise AssertionError(
                f"iop {' '.join(map(str, args))} exited with {proc.returncode}\n"
                f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
            )
        return proc

    return run


@pytest.fixture
def iop_json(run_iop: Callable[..., subprocess.CompletedProcess[str]]) -> Callable[..., Any]:
    """``iop_json(*args)``: run the CLI and parse its standard output as JSON."""

    def run(*args: Any) -> Any:
        proc = run_iop(*args)
        try:
            return json.loads(proc.stdout)
        except json.JSONDecodeError as exc:
            raise AssertionError(f"iop {' '.join(map(str, args))} did not print JSON: "
                                 f"{exc}\n{proc.stdout}") from exc

    return run


@pytest.fixture
def store(iop_home: Path) -> Any:
    """The test's namespace store, opened in this process (as a Director would)."""
    from iop.store import open_store

    opened = open_store()
    yield opened
    opened.close()


@dataclass
class Project:
    """A settings (migration) file and its component module, written into a folder."""

    root: Path
    module: str
    settings: Path
    run_iop: Callable[..., subprocess.CompletedProcess[str]]

    @property
    def components(self) -> Path:
        return self.root / f"{self.module}.py"

    def write_settings(self, production_source: str) -> Path:
        """(Re)write the settings file: imports the component module, then the source."""
        text = SETTINGS_HEADER.format(module=self.module) + textwrap.dedent(production_source)
        self.settings.write_text(text, encoding="utf-8")
        return self.settings

    def migrate(self) -> subprocess.CompletedProcess[str]:
        """``iop -m settings.py``; fails the test unless it succeeds."""
        return self.run_iop("-m", self.settings)

    def start(self, production: str) -> subprocess.CompletedProcess[str]:
        """``iop -s PRODUCTION -D``; fails the test unless it succeeds."""
        return self.run_iop("-s", production, "-D")

    def import_module(self) -> Any:
        """Import the component module in this process (for its message classes)."""
        import importlib

        if str(self.root) not in sys.path:
            sys.path.insert(0, str(self.root))
        return importlib.import_module(self.module)

    def message_class(self, name: str) -> str:
        """The class name a message class of the component module is stored under."""
        return f"{self.module}.{name}"


@pytest.fixture
def make_project(tmp_path: Path, run_iop: Callable[..., subprocess.CompletedProcess[str]]
                 ) -> Callable[..., Project]:
    """``make_project(components, production)``: write a component module and a settings file.

    The module gets a unique name, so the test process can import several projects without
    one shadowing another in ``sys.modules``. ``production`` is the body of the settings file;
    the component module's names are already imported into it.
    """
    counter = iter(range(1000))

    def make(components: str, production: str, *, folder: str | None = None) -> Project:
        root = tmp_path / (folder or f"project{next(counter)}")
        root.mkdir(parents=True, exist_ok=True)
        module = f"comp_{uuid.uuid4().hex[:10]}"
        (root / f"{module}.py").write_text(COMPONENT_HEADER + textwrap.dedent(components),
                                           encoding="utf-8")
        project = Project(root, module, root / "settings.py", run_iop)
        project.write_settings(production)
        return project

    return make


def job_pids(store: Any) -> dict[str, list[int]]:
    """Item name → pids of its running jobs, as the store records them."""
    pids: dict[str, list[int]] = {}
    for job in store.list_jobs():
        if job.state == "running":
            pids.setdefault(job.item, []).append(job.pid)
    return pids


@pytest.fixture(name="job_pids")
def job_pids_fixture() -> Callable[[Any], dict[str, list[int]]]:
    """``job_pids(store)``: item name → pids of its running jobs."""
    return job_pids
