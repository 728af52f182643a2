"""A private PostgreSQL cluster a test may restart: initdb into a temporary folder, pg_ctl on
a free port, trust authentication. Never the machine's shared server on 5432.

initdb and the server refuse to run as root; as root they run as the ``postgres`` user,
in a folder of their own under the system's temporary directory (the test's tmp_path is
private to root).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

BIN = Path(os.environ.get("IOP_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
_VENV_PYTHON = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "python"
PYTHON = str(_VENV_PYTHON) if _VENV_PYTHON.exists() else sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateCluster:
    """One PostgreSQL cluster of the test's own: :meth:`start`, :meth:`restart`, :meth:`stop`."""

    def __init__(self) -> None:
        if not (BIN / "pg_ctl").exists():
            pytest.fail(f"PostgreSQL binaries not found in {BIN} (set IOP_TEST_PG_BIN)")
        self.root = Path(tempfile.mkdtemp(prefix="iop-pg-"))
        self.data = self.root / "data"
        self.logfile = self.root / "server.log"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._user: str | None = None
        if os.geteuid() == 0:
            self._user = "postgres"
            entry = pwd.getpwnam(self._user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.restarts: list[float] = []  # how long each restart took (s)

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        cmd = [str(BIN / args[0]), *args[1:]]
        if self._user is not None:
            cmd = ["runuser", "-u", self._user, "--", *cmd]
        # The server is no process of the test's IOP_HOME (whose leftovers the suite hunts).
        env = {k: v for k, v in os.environ.items() if not k.startswith("IOP_")}
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              cwd=self.root, stdin=subprocess.DEVNULL, env=env)
        if proc.returncode != 0:
            log = self.logfile.read_text(errors="replace")[-2000:] if self.logfile.exists() else ""
            raise AssertionError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}"
                                 f"{proc.stderr}\n{log}")
        return proc

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--no-sync")
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
                   "-c fsync=off -c max_connections=200")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.logfile), "-o", options,
                  "-w", "-t", "60", "start")

    def restart(self) -> float:
        """``pg_ctl restart -m fast`` (every session terminated); returns how long it took."""
        started = time.monotonic()
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.logfile), "-m", "fast", "-w",
                  "-t", "60", "restart")
        took = time.monotonic() - started
        self.restarts.append(took)
        return took

    def stop_server(self) -> None:
        """Stop the server (``-m fast``), keeping its data; :meth:`stop` removes it all."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            except AssertionError:
                pass  # already stopped
        shutil.rmtree(self.root, ignore_errors=True)
