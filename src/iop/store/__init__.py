"""Persistent state of a namespace; ``open_store`` picks the backend in one place.

- ``base``: the contract every backend keeps (Store, Tx, Notifier, Duty) and the Listener base.
- ``sql``: what both SQL backends share (SQLStore, SQLTx) and the Dialect that tells them apart.
- ``sqlite/``, ``postgres/``: each backend's store, transaction, schema and locks.
- ``wakeups/``: how a sender rings a sleeping job or a waiting caller.
- ``records``, ``queries``, ``group_commit``, ``private``: rows, searches, shared commits, files.
"""

from __future__ import annotations

import os
import socket

from iop.names import NAMESPACE, check_name
from iop.store.base import Store
from iop.store.errors import StoreError

DEFAULT_NAMESPACE = "USER"


def iop_home() -> str:
    """Where the embedded stores live: ``$IOP_HOME`` or the user's data directory."""
    home = os.environ.get("IOP_HOME")
    if home:
        return os.path.abspath(os.path.expanduser(home))
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(data, "iop")


def host_name() -> str:
    """This host's name in the runtime state: ``$IOP_HOST_NAME`` or the machine's host name.

    Every supervisor of a multi-host production (PostgreSQL) must have a distinct one; the
    variable lets several supervisors share one machine (tests, benchmarks) as separate hosts.
    """
    return os.environ.get("IOP_HOST_NAME", "").strip() or socket.gethostname()


def check_namespace(namespace: str) -> str:
    """Return the namespace name in canonical (upper) case, or raise StoreError."""
    return check_name(NAMESPACE, namespace, StoreError).upper()


def namespace_dir(namespace: str) -> str:
    """The folder holding a namespace's embedded store and its files."""
    return os.path.join(iop_home(), check_namespace(namespace))


def open_store(namespace: str | None = None, *, initialize: bool = True) -> Store:
    """Open (and by default create or upgrade) the store of ``namespace``."""
    ns = check_namespace(namespace or os.environ.get("IOP_NAMESPACE") or DEFAULT_NAMESPACE)
    url = os.environ.get("IOP_DATABASE_URL", "")
    if url.startswith(("postgresql://", "postgres://")):
        from iop.store.postgres import PostgresStore

        _tighten_local_files(ns, [])
        shared = PostgresStore(url, ns)
        if initialize:
            shared.initialize()
        return shared
    if url and not url.startswith("sqlite"):
        raise StoreError(f"IOP_DATABASE_URL {url!r} names an unknown backend")
    from iop.store.sqlite import SQLiteStore

    path = os.path.join(namespace_dir(ns), "store.sqlite3")
    _tighten_local_files(ns, [path, path + "-wal", path + "-shm", path + ".lock"])
    store = SQLiteStore(path, ns)
    if initialize:
        store.initialize()
    return store


def _tighten_local_files(namespace: str, files: list[str]) -> None:
    """Make IOP_HOME, the namespace's folder and ``files`` private if an older version (or
    another tool) left them readable by other users; says so on stderr."""
    from iop.store.private import tighten

    tighten([iop_home(), namespace_dir(namespace), *files])


__all__ = ["Store", "StoreError", "open_store", "iop_home", "namespace_dir", "check_namespace",
           "host_name"]
