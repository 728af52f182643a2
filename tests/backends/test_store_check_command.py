"""`iop --check-store` on each backend: a sound store is ok with its schema version; on
PostgreSQL a namespace whose schema is missing is named, and `--repair` is refused there in
one line (PostgreSQL's own tools repair a database)."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from typing import Any

from backends_support import PYTHON, Backend

from iop.store.postgres.schema import SCHEMA_VERSION as PG_VERSION
from iop.store.postgres.schema import schema_for
from iop.store.sqlite.schema import SCHEMA_VERSION as SQLITE_VERSION


def _iop(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-m", "iop", *args], env={**os.environ},
                          capture_output=True, text=True, timeout=60)


def _check(namespace: str) -> tuple[int, dict[str, Any]]:
    done = _iop("--check-store", "-n", namespace)
    return done.returncode, json.loads(done.stdout)


def test_a_sound_store_is_ok_with_its_schema_version(backend: Backend) -> None:
    code, found = _check(backend.namespace)
    assert code == 0 and found["ok"] is True and found["problems"] == []
    if backend.name == "postgresql":
        assert found["schema_version"] == PG_VERSION
        assert found["store"].endswith(f"(schema {schema_for(backend.namespace)})")
        assert "PostgreSQL checks its own pages" in found["checked"]
    else:
        assert found["schema_version"] == SQLITE_VERSION
        assert found["store"] == str(backend.home / backend.namespace / "store.sqlite3")


def test_postgres_names_a_missing_schema_and_refuses_repair(backend: Backend) -> None:
    if backend.name != "postgresql":
        return  # the embedded store's damage and repair: tests/faults/test_damaged_store.py
    missing = f"T{uuid.uuid4().hex[:12].upper()}"
    code, found = _check(missing)
    assert code == 1 and found["ok"] is False and found["schema_version"] == 0
    assert found["problems"] == ["the store has no schema (iop -i creates it)"]
    refused = _iop("--check-store", "--repair", "-n", backend.namespace)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.strip().splitlines() == [
        "error: iop --check-store --repair salvages the embedded SQLite store; a PostgreSQL "
        "database is repaired with PostgreSQL's own tools (restore a backup, amcheck, "
        "pg_checksums)"]
