"""What the credentials tests share: the stores to run on (SQLite and PostgreSQL), and a
search of every place a password must never reach.

PostgreSQL comes from tests/backends (its URL, the skip-or-fail rule, dropping a test's
schema); each test gets a namespace of its own, so its schema is fresh.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backends"))
from backends_support import PG_URL, drop_schema, require_postgres  # noqa: E402

BACKENDS = ("sqlite", "postgresql")


@dataclass
class Namespace:
    """Where a test's credentials live: a backend and a namespace on it."""

    backend: str
    name: str
    home: Path

    def raw_bytes(self) -> bytes:
        """Everything the store holds, as stored: every file under IOP_HOME but the key
        file (SQLite's store, its WAL, job logs), plus, on PostgreSQL, every row of every
        table of the namespace's schema as the database returns it."""
        found = b"".join(p.read_bytes() for p in sorted(self.home.rglob("*"))
                         if p.is_file() and p.name != "credentials.key")
        if self.backend == "postgresql":
            found += _schema_rows(self.name)
        return found


def _schema_rows(namespace: str) -> bytes:
    import psycopg
    from psycopg import sql

    from iop.store.postgres.schema import schema_for

    schema = schema_for(namespace)
    out = []
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        tables = [row[0] for row in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (schema,))]
        assert "credentials" in tables
        for table in tables:
            # Each row as PostgreSQL's own text form: bytea comes out as \x hex.
            for row in conn.execute(sql.SQL("SELECT t::text FROM {}.{} AS t").format(
                    sql.Identifier(schema), sql.Identifier(table))):
                out.append(str(row[0]).encode())
            for row in conn.execute(sql.SQL("SELECT * FROM {}.{}").format(
                    sql.Identifier(schema), sql.Identifier(table))):
                out.extend(bytes(v) if isinstance(v, (bytes, memoryview)) else str(v).encode()
                           for v in row)
    return b"\n".join(out)


def namespace_on(backend: str, home: Path, monkeypatch: pytest.MonkeyPatch
                 ) -> Iterator[Namespace]:
    """A fresh namespace on ``backend`` for the CLI (IOP_NAMESPACE, and on PostgreSQL
    IOP_DATABASE_URL, in os.environ); its PostgreSQL schema is dropped afterwards."""
    if backend == "postgresql":
        require_postgres()
        monkeypatch.setenv("IOP_DATABASE_URL", PG_URL)
    name = f"C{uuid.uuid4().hex[:10].upper()}"
    monkeypatch.setenv("IOP_NAMESPACE", name)
    try:
        yield Namespace(backend, name, home)
    finally:
        # The IOP_HOME fixture's closing `iop -k` must not make the dropped schema again.
        monkeypatch.delenv("IOP_NAMESPACE", raising=False)
        monkeypatch.delenv("IOP_DATABASE_URL", raising=False)
        if backend == "postgresql":
            drop_schema(name)


def in_any(secret: str, *texts: str | bytes) -> bool:
    """Whether ``secret`` shows in any of ``texts`` (as text, UTF-8 bytes or hex)."""
    raw = secret.encode()
    for text in texts:
        data = text if isinstance(text, bytes) else text.encode()
        if raw in data or raw.hex().encode() in data.lower():
            return True
    return False


def environ_without(*names: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in names}
