"""Helpers of the bad-input edge tests (tests/cli/test_bad_input_edges.py and
tests/api/test_bad_body_edges.py): the real CLI with byte arguments, and the check of a
one-line refusal."""

from __future__ import annotations

import subprocess
from pathlib import Path

from remote_server import PYTHON, clean_env

DEEP = "[" * 100_000 + "]" * 100_000
DEEP_ARG = "[" * 30_000 + "]" * 30_000  # one argument is at most 128 KiB (Linux)

# The messages and the echoing operation both files test with (dataclass and iop imported).
MESSAGES = '''
from iop import PydanticMessage


class Quote(PydanticMessage):
    symbol: str
    price: float


@dataclass
class Ping(Message):
    uid: str = ""
    count: int = 0


@dataclass
class Boom(Message):
    n: int = 0

    def __post_init__(self):
        raise RuntimeError("constructor refused n")


class Echo(BusinessOperation):
    def on_message(self, request):
        return request
'''


def run_raw(home: Path, *args: str | bytes, cwd: Path | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real CLI with arguments that may be bytes (invalid UTF-8 on the command line)."""
    proc = subprocess.run([PYTHON, "-m", "iop", *args], capture_output=True, timeout=120,
                          env=env or clean_env(IOP_HOME=str(home)), cwd=cwd)
    return subprocess.CompletedProcess(proc.args, proc.returncode,
                                       proc.stdout.decode("utf-8", "replace"),
                                       proc.stderr.decode("utf-8", "replace"))


def one_line(proc: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    """The single stderr line of a refused command, checked: exit code, no traceback."""
    where = f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr + proc.stdout, where
    assert proc.returncode == code, where
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, where
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    return lines[0]
