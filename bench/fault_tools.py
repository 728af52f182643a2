"""Faults a benchmark or a fault test inflicts on the engine's dependencies: a private
PostgreSQL cluster it may restart, a small tmpfs it may fill to the last byte.

Test and bench utilities, not part of the engine: ``bench/soak.py --faults`` and
``tests/faults`` share them. The cluster is never the machine's shared server on 5432:
initdb into a temporary folder, pg_ctl on a free port, trust authentication. initdb and the
server refuse to run as root; as root they run as the ``postgres`` user, in a folder of their
own under the system's temporary directory.
"""

from __future__ import annotations

import errno
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

BIN = Path(os.environ.get("IOP_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


class FaultToolError(RuntimeError):
    """A fault tool could not do its part (no PostgreSQL binaries, not root, pg_ctl failed)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateCluster:
    """One PostgreSQL cluster of the caller's own: :meth:`start`, :meth:`restart`, :meth:`stop`."""

    def __init__(self) -> None:
        if not (BIN / "pg_ctl").exists():
            raise FaultToolError(f"PostgreSQL binaries not found in {BIN} (set IOP_TEST_PG_BIN)")
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
        # The server is no process of the caller's IOP_HOME (whose leftovers tests hunt).
        env = {k: v for k, v in os.environ.items() if not k.startswith("IOP_")}
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              cwd=self.root, stdin=subprocess.DEVNULL, env=env)
        if proc.returncode != 0:
            log = self.logfile.read_text(errors="replace")[-2000:] if self.logfile.exists() else ""
            raise FaultToolError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}"
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
            except FaultToolError:
                pass  # already stopped
        shutil.rmtree(self.root, ignore_errors=True)


def mount_tmpfs(folder: str | Path, size_mb: int) -> None:
    """Mount a tmpfs of ``size_mb`` MB on ``folder`` (root only): a small disk to fill."""
    if os.geteuid() != 0:
        raise FaultToolError(f"mounting a tmpfs on {folder} needs root")
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0700", "tmpfs",
                    str(folder)], check=True, capture_output=True)


def unmount(folder: str | Path) -> None:
    """Unmount ``folder``; lazily when something still holds it open."""
    subprocess.run(["umount", str(folder)], check=False, capture_output=True)
    if os.path.ismount(folder):
        subprocess.run(["umount", "-l", str(folder)], check=False, capture_output=True)


def fill(path: str | Path) -> int:
    """Write ``path`` until the disk refuses more (ENOSPC); the bytes written."""
    written = 0
    chunk = b"\0" * (256 * 1024)
    with open(path, "wb", buffering=0) as fh:
        while True:
            try:
                written += fh.write(chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                chunk = chunk[: len(chunk) // 2]
                if len(chunk) < 512:
                    return written
