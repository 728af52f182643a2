"""``iop --check-store`` and ``iop --check-store --repair`` on this host's store of a namespace.

The embedded store gets SQLite's full integrity check (and a salvage into a new file, see
``iop.store.sqlite.repair``); on PostgreSQL, which checks its own pages, the namespace's
schema is looked for and its version compared with the one this iop-engine writes.
"""

from __future__ import annotations

import os
from typing import Any

from iop.store import check_namespace, open_store
from iop.store.errors import StoreError

__all__ = ["check_store", "repair_store"]


def _postgres_url() -> str:
    url = os.environ.get("IOP_DATABASE_URL", "")
    return url if url.startswith(("postgresql://", "postgres://")) else ""


def _sqlite_path(namespace: str) -> str:
    from iop.store import namespace_dir

    return os.path.join(namespace_dir(namespace), "store.sqlite3")


def check_store(namespace: str) -> dict[str, Any]:
    """{"store": where, "ok": bool, "problems": [...]} (and what was checked)."""
    ns = check_namespace(namespace)
    if _postgres_url():
        return _check_postgres(ns)
    from iop.store.sqlite.integrity import integrity_check
    from iop.store.sqlite.schema import SCHEMA_VERSION

    path = _sqlite_path(ns)
    if not os.path.exists(path):
        return {"store": path, "ok": True, "problems": [],
                "checked": "nothing: there is no store yet (the first command creates it)"}
    problems = integrity_check(path)
    found: dict[str, Any] = {"store": path, "ok": not problems, "problems": problems,
                             "checked": "SQLite integrity check (pages, records, indexes)"}
    if not problems:
        version = _sqlite_version(path)
        found["schema_version"] = version
        if 0 < version < SCHEMA_VERSION:  # sound: the next command upgrades it
            found["note"] = _version_problem(version, SCHEMA_VERSION)
        elif version != SCHEMA_VERSION:
            found.update(ok=False, problems=[_version_problem(version, SCHEMA_VERSION)])
    return found


def _sqlite_version(path: str) -> int:
    from iop.store.sqlite import SQLiteStore

    store = SQLiteStore(path)
    try:
        return store.schema_version()
    finally:
        store.close()


def _version_problem(version: int, expected: int) -> str:
    if version == 0:
        return "the store has no schema (iop -i creates it)"
    if version < expected:
        return f"schema version {version} is older than {expected}: iop -i (or any command) " \
               "upgrades it"
    return f"schema version {version} is newer than this iop-engine understands ({expected}); " \
           "upgrade iop-engine"


def _check_postgres(namespace: str) -> dict[str, Any]:
    from iop.store.postgres.schema import SCHEMA_VERSION

    store: Any = open_store(namespace, initialize=False)
    try:
        version = store.schema_version()
        where = f"{store.location} (schema {store.schema})"
    finally:
        store.close()
    problems = [] if version == SCHEMA_VERSION else [_version_problem(version, SCHEMA_VERSION)]
    return {"store": where, "ok": version == SCHEMA_VERSION, "problems": problems,
            "schema_version": version,
            "checked": "the namespace's schema and its version; PostgreSQL checks its own "
                       "pages (data checksums, amcheck)"}


def repair_store(namespace: str) -> dict[str, Any]:
    """Salvage the readable rows of this namespace's SQLite store into a new store file."""
    ns = check_namespace(namespace)
    if _postgres_url():
        raise StoreError("iop --check-store --repair salvages the embedded SQLite store; a "
                         "PostgreSQL database is repaired with PostgreSQL's own tools "
                         "(restore a backup, amcheck, pg_checksums)")
    from iop.store.sqlite.repair import repair

    return repair(_sqlite_path(ns))
