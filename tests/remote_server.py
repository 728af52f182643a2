"""A real `iop --serve` for the remote-mode tests (tests/api, tests/cli).

The server runs as a subprocess on a free loopback port with its own IOP_HOME; accounts are
added with the real `iop --user-add ... --password-stdin`. Each test module works in its own
namespace, so one server serves a whole directory of tests. At the end every production is
killed and the test fails if a process started under the server's IOP_HOME survives.
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[1]
_VENV_PYTHON = REPO / ".venv" / "bin" / "python"
PYTHON = str(_VENV_PYTHON) if _VENV_PYTHON.exists() else sys.executable
IOP_CLIENT = REPO / ".venv-iop-client" / "bin" / "iop"
MAX_BODY_MB = 2

ADMIN = ("admin", "admin-password-1")  # admin in every namespace
LIMITED = ("limited", "limited-password-1")  # developer, in its own namespace only
LIMITED_NAMESPACE = "LIMITEDNS"
VIEWER = ("viewer", "viewer-password-1")  # each role below in every namespace
OPERATOR = ("operator", "operator-password-1")
DEVELOPER = ("developer", "developer-password-1")
ACCOUNTS: dict[tuple[str, str], tuple[str, ...]] = {
    ADMIN: ("--user-role", "admin"),
    LIMITED: ("--user-namespace", LIMITED_NAMESPACE, "--user-role", "developer"),
    VIEWER: ("--user-role", "viewer"),
    OPERATOR: ("--user-role", "operator"),
    DEVELOPER: ("--user-role", "developer"),
}

_FOREIGN_ENV = ("IOP_URL", "IOP_SETTINGS", "IOP_NAMESPACE", "IOP_DATABASE_URL", "IOP_USERNAME",
                "IOP_PASSWORD", "IOP_VERIFY_SSL", "IOP_HOME")

# A production with a route (Router -> Echo) that both IoP 4.1.1 and iop-engine import.
SCENARIO_SETTINGS = '''\
from dataclasses import dataclass

from iop import BusinessOperation, BusinessProcess, Message, Production, target


@dataclass
class PingMessage(Message):
    text: str = ""


@dataclass
class PongMessage(Message):
    text: str = ""


class EchoOperation(BusinessOperation):
    def on_message(self, request: PingMessage) -> PongMessage:
        print("printed by EchoOperation")  # must not leak into the API's answers
        return PongMessage(text=request.text.upper())


class Router(BusinessProcess):
    Output = target()

    def on_request(self, request):
        return self.send_request_sync(self.Output, request)


prod = Production("Remote.Demo", testing_enabled=True)
router = prod.process("Router", Router)
echo = prod.operation("Echo", EchoOperation)
router.connect(Router.Output, echo)
PRODUCTIONS = [prod]
'''
SCENARIO_PRODUCTION = "Remote.Demo"


def clean_env(**extra: str) -> dict[str, str]:
    """os.environ without anything that selects a server, namespace, home or backend."""
    env = {k: v for k, v in os.environ.items() if k not in _FOREIGN_ENV}
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def processes_running(marker: str) -> dict[int, str]:
    """Live (not zombie) processes whose command line holds ``marker``: pid -> command line."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{entry}/stat", "rb") as fh:
                state = fh.read().rsplit(b") ", 1)[1][:1]
        except (OSError, IndexError):
            continue
        if marker in cmdline and state not in (b"Z", b"X"):
            found[int(entry)] = cmdline
    return found


def _processes_with_home(home: Path) -> dict[int, str]:
    marker = b"IOP_HOME=" + str(home).encode() + b"\0"
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                environ = fh.read()
            with open(f"/proc/{entry}/stat", "rb") as fh:
                state = fh.read().rsplit(b") ", 1)[1][:1]
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):
            continue
        if (marker in environ or environ.endswith(marker[:-1])) and state not in (b"Z", b"X"):
            found[int(entry)] = cmdline
    return found


@dataclass
class ServedEngine:
    """A running `iop --serve` and what tests need to talk to it."""

    home: Path
    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    namespaces: list[str] = field(default_factory=list)

    @property
    def server_env(self) -> dict[str, str]:
        return clean_env(IOP_HOME=str(self.home))

    def http(self, user: tuple[str, str] | None = ADMIN, **options: Any) -> httpx.Client:
        """An HTTP client on the server, authenticated as ``user`` (None: no header)."""
        headers = {"Authorization": basic(*user)} if user else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, **options)

    def new_namespace(self, prefix: str = "T") -> str:
        """A fresh namespace, created the way `iop -i` does it (Atelier compile)."""
        ns = f"{prefix}{uuid.uuid4().hex[:8].upper()}"
        with self.http() as http:
            answer = http.post(f"/api/atelier/v1/{ns}/action/compile", json=[])
        assert answer.status_code == 200, answer.text
        self.namespaces.append(ns)
        return ns

    def iop_local(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Our CLI on the server's own host and home (user management, cleanup)."""
        return subprocess.run([PYTHON, "-m", "iop", *args], env=self.server_env, input=stdin,
                              capture_output=True, text=True, timeout=90)

    def server_log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _wait_listening(engine: ServedEngine, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if engine.proc.poll() is not None:
            raise AssertionError(f"iop --serve exited with {engine.proc.returncode}:\n"
                                 f"{engine.server_log()}")
        try:
            httpx.get(engine.url + "/api/iop/version", timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"iop --serve did not listen within {timeout} s:\n{engine.server_log()}")


def start_engine(home: Path, **extra_env: str) -> ServedEngine:
    """``iop --serve`` on a free port with its own IOP_HOME (and ``extra_env``)."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)  # a looser one is tightened, noisily
    port = free_port()
    log_path = home.parent / f"serve-{port}.log"
    env = clean_env(IOP_HOME=str(home), **extra_env)
    for (name, password), extra in ACCOUNTS.items():
        added = subprocess.run([PYTHON, "-m", "iop", "--user-add", name, "--password-stdin",
                                *extra], env=env, input=password + "\n", capture_output=True,
                               text=True, timeout=60)
        assert added.returncode == 0, added.stderr
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([PYTHON, "-m", "iop", "--serve", "--port", str(port),
                                 "--max-body-mb", str(MAX_BODY_MB)], env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    engine = ServedEngine(home, f"http://127.0.0.1:{port}", proc, log_path)
    _wait_listening(engine)
    with engine.http() as http:  # LIMITED's own namespace exists from the start
        assert http.post(f"/api/atelier/v1/{LIMITED_NAMESPACE}/action/compile",
                         json=[]).status_code == 200
    return engine


def stop_engine(engine: ServedEngine) -> None:
    """Kill every production the tests started, stop the server, fail on survivors."""
    for ns in [*engine.namespaces, LIMITED_NAMESPACE, "USER"]:
        engine.iop_local("-k", "-n", ns)
    engine.proc.send_signal(signal.SIGTERM)
    try:
        engine.proc.wait(30)
    except subprocess.TimeoutExpired:
        engine.proc.kill()
        engine.proc.wait(10)
    survivors: dict[int, str] = {}
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        survivors = _processes_with_home(engine.home)
        if not survivors:
            break
        time.sleep(0.1)
    for pid in survivors:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if survivors:
        pytest.fail("processes started by the server survived its shutdown:\n"
                    + "\n".join(f"  {pid}: {cmd}" for pid, cmd in survivors.items()))


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedEngine]:
    """One real `iop --serve` (the ACCOUNTS above) for this test directory."""
    engine = start_engine(tmp_path_factory.mktemp("served") / "home")
    try:
        yield engine
    finally:
        stop_engine(engine)


@pytest.fixture(scope="module")
def scenario_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the scenario's settings.py (and a file that must not be uploaded)."""
    root = tmp_path_factory.mktemp("scenario")
    (root / "settings.py").write_text(SCENARIO_SETTINGS, encoding="utf-8")
    (root / "notes.txt").write_text("not a .py or .cls file: never uploaded\n")
    return root


@pytest.fixture
def admin_failures_forgotten(served: ServedEngine) -> Iterator[None]:
    """For tests that send admin wrong passwords on purpose: afterwards its failed logins are
    cleared (`iop --user-unlock`), so that ten of them across the suite do not lock the
    account every other test uses (tests/security/test_login_limits.py tests the lockout)."""
    yield
    cleared = served.iop_local("--user-unlock", ADMIN[0])
    assert cleared.returncode == 0, cleared.stderr
