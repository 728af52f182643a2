"""Persistent state of a namespace; ``open_store`` picks the backend in one place."""

from __future__ import annotations

import os
import re
import socket

from iop.store.base import Store
from iop.store.errors import StoreError

DEFAULT_NAMESPACE = "USER"
_NAMESPACE = re.compile(r"^[A-Za-z%][A-Za-z0-9_%-]{0,63}$")


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
    if not _NAMESPACE.match(namespace or ""):
        raise StoreError(f"invalid namespace name {namespace!r}")
    return namespace.upper()


def namespace_dir(namespace: str) -> str:
    """The folder holding a namespace's embedded store and its files."""
    return os.path.join(iop_home(), check_namespace(namespace))


def open_store(namespace: str | None = None, *, initialize: bool = True) -> Store:
    """Open (and by default create or upgrade) the store of ``namespace``."""
    ns = check_namespace(namespace or os.environ.get("IOP_NAMESPACE") or DEFAULT_NAMESPACE)
    url = os.environ.get("IOP_DATABASE_URL", "")
    if url.startswith(("postgresql://", "postgres://")):
        from iop.store.postgres import PostgresStore

        shared = PostgresStore(url, ns)
        if initialize:
            shared.initialize()
        return shared
    if url and not url.startswith("sqlite"):
        raise StoreError(f"IOP_DATABASE_URL {url!r} names an unknown backend")
    from iop.store.sqlite import SQLiteStore

    store = SQLiteStore(os.path.join(namespace_dir(ns), "store.sqlite3"), ns)
    if initialize:
        store.initialize()
    return store


__all__ = ["Store", "StoreError", "open_store", "iop_home", "namespace_dir", "check_namespace",
           "host_name"]
