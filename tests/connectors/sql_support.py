"""What the SQL connector tests share: the three databases (the machine's PostgreSQL and
MariaDB, a SQLite file), a uuid-named table each test creates and drops, and a private
PostgreSQL cluster (bench/fault_tools.py) for the tests that restart their server."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # bench/ is a folder of the repository, not a package
    sys.path.insert(0, str(REPO))

from bench.fault_tools import PrivateCluster, free_port  # noqa: E402

from iop.connectors.sql.outbound import SqlOutboundAdapter  # noqa: E402

PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"
MARIADB_DSN = "mariadb://root@127.0.0.1:3306/test"

__all__ = ["MARIADB_DSN", "PG_DSN", "PrivateCluster", "adapter", "free_port", "table"]


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
