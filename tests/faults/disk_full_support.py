"""Fixtures and helpers for the disk-full fault tests: an IOP_HOME on a small tmpfs, a steady
stream of Director sends counted as acknowledged or refused, a filler that fills the disk."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # bench/ is a folder of the repository, not an installed package
    sys.path.insert(0, str(REPO))

from bench.fault_tools import fill, mount_tmpfs, unmount  # noqa: E402, F401 (fill: for the tests)

TMPFS_MB = 24

COMPONENTS = '''
@dataclass
class Work(Message):
    n: int = 0
    pad: str = ""


class Feeder(BusinessService):
    def on_process_input(self, request):
        self.send_request_async("Recorder", request)


class Ticker(PollingBusinessService):
    """Counts its polls: while inputs pause the count stands still."""

    OutFile = setting("")

    def on_poll(self):
        with open(self.OutFile, "a", encoding="utf-8") as fh:
            fh.write("tick\\n")


class Recorder(BusinessOperation):
    """Records every n it delivered (in a file outside the small disk)."""

    OutFile = setting("")

    def on_message(self, request):
        with open(self.OutFile, "a", encoding="utf-8") as fh:
            fh.write(f"{request.n}\\n")
'''


def settings(production: str, delivered: Path, ticks: Path) -> str:
    return f'''
        prod = Production("{production}")
        prod.service("Feeder", Feeder)
        prod.service("Ticker", Ticker).host_setting("OutFile", {str(ticks)!r}) \\
            .adapter_setting("CallInterval", "1")
        prod.operation("Recorder", Recorder).host_setting("OutFile", {str(delivered)!r})
        PRODUCTIONS = [prod]
        '''


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def _kill_all(home: Path, python: str, processes: Callable[[], dict[int, str]]) -> None:
    env = {**os.environ, "IOP_HOME": str(home)}
    try:
        subprocess.run([python, "-m", "iop", "-k"], env=env, capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        pass
    deadline = time.monotonic() + 15
    while processes() and time.monotonic() < deadline:
        time.sleep(0.1)


@pytest.fixture
def small_home(iop_home: Path, monkeypatch: pytest.MonkeyPatch, python_exe: str,
               home_processes: Callable[[], dict[int, str]]) -> Iterator[Path]:
    """IOP_HOME on a tmpfs of TMPFS_MB MB, inputs pausing below 4 MB free; unmounted after
    the production is killed."""
    if os.geteuid() != 0:
        pytest.fail("the disk-full tests mount a tmpfs and must run as root")
    mount_tmpfs(iop_home, TMPFS_MB)
    monkeypatch.setenv("IOP_MIN_FREE_MB", "4")
    try:
        yield iop_home
    finally:
        _kill_all(iop_home, python_exe, home_processes)
        unmount(iop_home)


@dataclass
class Stream:
    """A thread sending Work(n) through the Director's Feeder as fast as it is let."""

    module: Any
    pad: int = 600
    acked: list[int] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)  # anything else raised: a failure
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from iop import Director
        from iop.errors import StoreUnavailable

        feeder = Director().get_business_service("Feeder")
        n = 0
        while not self._stop.is_set():
            n += 1
            try:
                feeder.on_process_input(self.module.Work(n, "x" * self.pad))
                self.acked.append(n)
            except StoreUnavailable as exc:
                self.refused.append(str(exc))
                time.sleep(0.05)
            except Exception as exc:  # noqa: BLE001 - recorded and asserted empty
                self.other.append(f"{type(exc).__name__}: {exc}")
                time.sleep(0.05)
            time.sleep(0.002)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
