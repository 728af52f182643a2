"""Helpers for the outage-state fault tests: a private PostgreSQL cluster that is stopped (not
restarted) and started again, the real CLI on it, and a small production whose operation
records each number it handled in a file outside the store."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pg_restart_support import PYTHON, PrivateCluster

PRODUCTION = "OutageState.Production"

COMPONENTS = '''
@dataclass
class Work(Message):
    seq: int = 0


class Gateway(BusinessService):
    def on_process_input(self, request):
        self.send_request_async("Sink", request)


class Sink(BusinessOperation):
    def on_message(self, request):
        time.sleep(0.02)  # slow enough that messages are still queued when the store goes
        with open(os.environ["IOP_TEST_SINK_FILE"], "a") as out:
            out.write(f"{request.seq}\\n")
'''


def settings(**production_settings: str) -> str:
    lines = "".join(f'prod.production_setting("{k}", "{v}")\n'
                    for k, v in production_settings.items())
    return (f'prod = Production("{PRODUCTION}")\n{lines}'
            'prod.service("Gateway", Gateway)\n'
            'prod.operation("Sink", Sink).pool(2)\n'
            'PRODUCTIONS = [prod]\n')


class StoppableCluster(PrivateCluster):
    """A private cluster that can also be started again after :meth:`stop_server`."""

    def start_server(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
                   "-c fsync=off -c max_connections=200")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.logfile), "-o", options,
                  "-w", "-t", "60", "start")


@pytest.fixture
def stoppable_pg(iop_home: Path, tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[StoppableCluster]:
    """A PostgreSQL cluster of the test's own, named by IOP_DATABASE_URL; removed after."""
    cluster = StoppableCluster()
    try:
        cluster.start()
        monkeypatch.setenv("IOP_DATABASE_URL", cluster.url)
        monkeypatch.setenv("IOP_NAMESPACE", "OUTSTATE")
        monkeypatch.setenv("IOP_TEST_SINK_FILE", str(tmp_path / "sink.txt"))
        monkeypatch.delenv("IOP_HOST_NAME", raising=False)
        yield cluster
    finally:
        try:
            if not (cluster.data / "postmaster.pid").exists():
                cluster.start_server()  # so that the kill below reaches the store
            iop("-k", check=False)
        finally:
            cluster.stop()
        monkeypatch.delenv("IOP_DATABASE_URL", raising=False)
        monkeypatch.delenv("IOP_NAMESPACE", raising=False)


def iop(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real CLI, in the test's environment."""
    proc = subprocess.run([PYTHON, "-m", "iop", *args], env={**os.environ},
                          capture_output=True, text=True, timeout=timeout)
    assert not check or proc.returncode == 0, f"iop {' '.join(args)}: {proc.stdout}{proc.stderr}"
    return proc


def status() -> dict[str, Any]:
    """``iop -x`` as JSON."""
    return json.loads(iop("-x").stdout)  # type: ignore[no-any-return]


def processes() -> tuple[int, list[int]]:
    """(supervisor pid, job pids) as `iop --jobs` lists them (the store must answer)."""
    view = json.loads(iop("--jobs").stdout)
    supervisor = next(h["supervisor_pid"] for h in view["hosts"] if h["alive"])
    return supervisor, [j["pid"] for j in view["jobs"]]


def delivered(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def event_log(store: Any) -> list[tuple[str, str]]:
    return [(kind, text) for kind, text in store._rows(  # noqa: SLF001 - a test's look inside
        "SELECT type, text FROM log ORDER BY id")]
