"""What the backend conformance suite builds on: a fresh store of each backend, subprocesses.

The ``backend`` fixture (conftest.py) yields a :class:`Backend` on either a new SQLite store
in a temporary IOP_HOME or a new PostgreSQL schema (a uniquely named namespace, dropped
afterwards). Its environment is in ``os.environ``, so subprocesses (``backend.python(...)``)
open the very same store.

PostgreSQL comes from ``IOP_TEST_DATABASE_URL`` (default: the machine's 127.0.0.1:5432
database ``test``). When it cannot be reached the PostgreSQL cases are skipped, unless
``IOP_REQUIRE_POSTGRES=1`` (set by scripts/test.sh), which makes them fail instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from iop.store import open_store
from iop.store import records as r
from iop.store.base import Store

PG_URL = os.environ.get("IOP_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
WORKER = str(Path(__file__).with_name("store_worker.py"))
REPO = Path(__file__).resolve().parents[2]
_VENV_PYTHON = REPO / ".venv" / "bin" / "python"
PYTHON = str(_VENV_PYTHON) if _VENV_PYTHON.exists() else sys.executable
BACKENDS = ("sqlite", "postgresql")

_pg_error: list[str | None] = []


def postgres_error() -> str | None:
    """Why PostgreSQL cannot be used here, or None when it can (checked once per run)."""
    if not _pg_error:
        try:
            import psycopg

            psycopg.connect(PG_URL, connect_timeout=5).close()
            _pg_error.append(None)
        except Exception as exc:  # any failure means: no PostgreSQL for this run
            _pg_error.append(f"PostgreSQL at {PG_URL} is not reachable: {exc}")
    return _pg_error[0]


def require_postgres() -> None:
    """Skip (or, under IOP_REQUIRE_POSTGRES=1, fail) when PostgreSQL is not reachable."""
    error = postgres_error()
    if error is None:
        return
    if os.environ.get("IOP_REQUIRE_POSTGRES") == "1":
        pytest.fail(error)
    pytest.skip(error)


def drop_schema(namespace: str) -> None:
    """Drop a test namespace's schema, retrying while stray sessions still hold its locks."""
    import psycopg
    from psycopg import sql

    from iop.store.postgres.schema import schema_for

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute("SET lock_timeout = '2s'")
        for attempt in range(10):
            try:
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    sql.Identifier(schema_for(namespace))))
                return
            except psycopg.errors.LockNotAvailable:
                if attempt == 9:
                    raise
                time.sleep(0.5)


@dataclass
class Backend:
    """One fresh store of one backend, and how other processes open it."""

    name: str
    namespace: str
    home: Path
    stores: list[Store] = field(default_factory=list)
    namespaces: set[str] = field(default_factory=set)

    def open(self, initialize: bool = True, namespace: str | None = None) -> Store:
        """Another handle on the same store, or on ``namespace`` (closed at teardown)."""
        self.namespaces.add(namespace or self.namespace)
        store = open_store(namespace or self.namespace, initialize=initialize)
        self.stores.append(store)
        return store

    def python(self, *args: Any) -> subprocess.Popen[str]:
        """Run ``store_worker.py ARGS`` in a new process on this store; stdout is a pipe."""
        return subprocess.Popen([PYTHON, WORKER, self.namespace, *map(str, args)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                env={**os.environ})

    def sql(self, query: str) -> list[tuple[Any, ...]]:
        """Run raw SQL on the backend's database (for checks the interface does not offer)."""
        return self.stores[0].conn.execute(query).fetchall()  # type: ignore[attr-defined]


def first_line(proc: subprocess.Popen[str]) -> str:
    """The next line a store_worker process printed, stripped."""
    assert proc.stdout is not None
    return proc.stdout.readline().strip()


def finish(proc: subprocess.Popen[str], seconds: float) -> str:
    """The rest of what a store_worker process printed, once it ended well (it may still
    wait up to ``seconds`` for its ring)."""
    out, _ = proc.communicate(timeout=seconds + 30)
    assert proc.returncode == 0
    return out.strip()


def respond(store: Store, request_id: int, address: str, body: str = "{}") -> r.MessageDraft:
    """Store a response to ``request_id`` and ring its caller at ``address``, as a job does."""
    draft = r.MessageDraft("Op", "Svc", "demo.Reply", body, type=r.RESPONSE, priority=r.SYNC,
                           corresponding_id=request_id, status=r.COMPLETED, enqueue=False)
    with store.transaction() as tx:
        tx.insert_message(draft)
        tx.wake_address(address, draft)
    return draft
