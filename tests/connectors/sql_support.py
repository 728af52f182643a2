"""What the SQL connector tests share: the three databases (the machine's PostgreSQL and
MariaDB, a SQLite file), a uuid-named table each test creates and drops, and a private
PostgreSQL cluster (bench/fault_tools.py) for the tests that restart their server."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # bench/ is a folder of the repository, not a package
    sys.path.insert(0, str(REPO))

from bench.fault_tools import PrivateCluster, free_port  # noqa: E402

from iop.connectors.sql.sql_outbound import SqlOutboundAdapter  # noqa: E402

PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"
MARIADB_DSN = "mariadb://root@127.0.0.1:3306/test"

__all__ = ["MARIADB_DSN", "PG_DSN", "PrivateCluster", "PrivateMariaDB", "adapter", "free_port",
           "table"]


def dsn_for(kind: str, tmp_path: Path) -> str:
    """The DSN of a database of ``kind`` (postgresql, mariadb, sqlite)."""
    if kind == "postgresql":
        return PG_DSN
    if kind == "mariadb":
        return MARIADB_DSN
    return f"sqlite:///{tmp_path / 'test.db'}"


def adapter(dsn: str, **settings: object) -> SqlOutboundAdapter:
    """An outbound adapter outside a production (as the engine makes it: no __init__)."""
    made = SqlOutboundAdapter.__new__(SqlOutboundAdapter)
    made.DSN = dsn
    for name, value in settings.items():
        setattr(made, name, value)
    return made


@contextmanager
def table(dsn: str, columns: str = "id INTEGER PRIMARY KEY, name VARCHAR(100)") -> Iterator[str]:
    """A table of its own (uuid name) in the database of ``dsn``, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    owner = adapter(dsn)
    owner.execute_update(f"CREATE TABLE {name} ({columns})")
    try:
        yield name
    finally:
        try:
            owner.execute_update(f"DROP TABLE {name}")
        finally:
            owner.on_tear_down()


class PrivateMariaDB:
    """A MariaDB server of the caller's own (temporary data directory, free port, no
    logins: --skip-grant-tables), with a ``test`` database: start, restart, stop."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="iop-mariadb-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.dsn = f"mariadb://root@127.0.0.1:{self.port}/test"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={self.data}",
                        "--user=root", "--auth-root-authentication-method=normal",
                        "--skip-test-db"], check=True, capture_output=True, timeout=120)
        self._launch()
        adapter(f"mariadb://root@127.0.0.1:{self.port}/").execute_update(
            "CREATE DATABASE IF NOT EXISTS test")

    def _launch(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("IOP_")}
        self._process = subprocess.Popen(
            ["mariadbd", "--no-defaults", f"--datadir={self.data}", f"--port={self.port}",
             f"--socket={self.root / 'mysqld.sock'}", "--bind-address=127.0.0.1",
             "--user=root", "--skip-grant-tables", "--skip-name-resolve",
             f"--pid-file={self.root / 'mysqld.pid'}", "--innodb-buffer-pool-size=16M",
             "--innodb-log-file-size=8M", "--skip-log-bin"],
            stdout=subprocess.DEVNULL, stderr=open(self.root / "server.log", "ab"),
            stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if self._process.poll() is not None:
                    raise RuntimeError("mariadbd exited: " + (self.root / "server.log")
                                       .read_text()[-2000:]) from None
                time.sleep(0.1)
        raise RuntimeError("mariadbd did not listen within 60 s")

    def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart(self) -> None:
        """Stop the server (every connection cut) and start it again on the same port."""
        self._terminate()
        self._launch()

    def stop(self) -> None:
        self._terminate()
        shutil.rmtree(self.root, ignore_errors=True)
