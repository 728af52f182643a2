"""The project the stop-race tests run, and helpers to watch its processes.

Items: ``Gateway`` (a service driven from the test process), ``Waiter`` (a process that
calls ``Silent`` synchronously, without a timeout), ``Silent`` (an operation left disabled:
nobody ever answers it) and ``Flaky`` (an operation that always fails, retried by its
ReplyCodeActions every 30 s, forever).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

PRODUCTION = "Races.Production"

COMPONENTS = '''
@dataclass
class Job(Message):
    n: int = 0


class Gateway(BusinessService):
    def on_process_input(self, spec):
        target, request = spec
        self.send_request_async(target, request)


class Waiter(BusinessProcess):
    def on_request(self, request):
        return self.send_request_sync("Silent", request)


class Silent(BusinessOperation):
    def on_message(self, request):
        return request


class Flaky(BusinessOperation):
    def on_message(self, request):
        raise RuntimeError("the far end refuses")
'''

SETTINGS = f'''
prod = Production("{PRODUCTION}")
prod.service("Gateway", Gateway)
prod.process("Waiter", Waiter)
prod.operation("Silent", Silent).disable()
prod.operation("Flaky", Flaky).host_setting("ReplyCodeActions", "E=R") \\
    .host_setting("RetryInterval", 30).host_setting("FailureTimeout", -1)
PRODUCTIONS = [prod]
'''


def engine_processes(home_processes: Any) -> dict[int, str]:
    """The supervisor and job processes among those started under the test's IOP_HOME."""
    return {pid: cmd for pid, cmd in home_processes().items() if "iop.engine.processes" in cmd}


def launch_iop(python_exe: str, home: Path, *args: str) -> subprocess.Popen[str]:
    """``iop ARGS`` started now, not waited for (its output captured)."""
    return subprocess.Popen([python_exe, "-m", "iop", *args],
                            env={**os.environ, "IOP_HOME": str(home)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def signal_ignored(pid: int, signum: int) -> bool:
    """Whether process ``pid`` ignores signal ``signum`` (its SigIgn mask in /proc)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("SigIgn:"):
                return bool(int(line.split()[1], 16) & (1 << (signum - 1)))
    return False
