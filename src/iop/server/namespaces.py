"""Which namespaces exist on this server, and one LocalClient per namespace."""

from __future__ import annotations

import os
import threading

from iop.client.local import LocalClient
from iop.engine.errors import EngineError
from iop.server.users import SYSTEM_NAMESPACE
from iop.store import DEFAULT_NAMESPACE, check_namespace, namespace_dir, open_store
from iop.store.errors import StoreError


class UnknownNamespace(EngineError):
    """The namespace has not been created on this server, or cannot be used through it."""


class InvalidNamespaceName(UnknownNamespace):
    """The text given as a namespace is not a namespace name."""


class ReservedNamespace(UnknownNamespace):
    """The namespace exists for the server itself (%SYS: the accounts), not for the API."""


def canonical(namespace: str | None) -> str:
    """The upper-case name of a namespace the API may use; UnknownNamespace otherwise."""
    try:
        ns = check_namespace(namespace or DEFAULT_NAMESPACE)
    except StoreError as exc:
        raise InvalidNamespaceName(str(exc)) from exc
    if ns == SYSTEM_NAMESPACE:
        raise ReservedNamespace(f"namespace {SYSTEM_NAMESPACE} is reserved for the server's "
                                "accounts")
    return ns


def _exists(ns: str) -> bool:
    # Asking SQLite would create an empty database file: look for the file instead, so that
    # a request for a namespace that does not exist leaves nothing behind.
    if os.environ.get("IOP_DATABASE_URL", "").startswith(("postgresql://", "postgres://")):
        store = open_store(ns, initialize=False)
        try:
            return store.schema_version() > 0
        finally:
            store.close()
    return os.path.exists(os.path.join(namespace_dir(ns), "store.sqlite3"))


class Namespaces:
    """Opens namespace stores on demand; never silently falls back to another namespace.

    USER (the default namespace) is created on first use, as every IRIS has one; any other
    namespace must first be initialised (``iop -i -n NS`` locally or remotely) unless the
    server was started with ``create_on_use``.
    """

    def __init__(self, create_on_use: bool = False) -> None:
        self.create_on_use = create_on_use
        self._clients: dict[str, LocalClient] = {}
        self._lock = threading.Lock()

    def client(self, namespace: str | None) -> LocalClient:
        ns = canonical(namespace)
        with self._lock:
            client = self._clients.get(ns)
            if client is None:
                if not _exists(ns) and not self.create_on_use and ns != DEFAULT_NAMESPACE:
                    raise UnknownNamespace(f"namespace {ns} does not exist on this server "
                                           f"(create it with iop -i -n {ns})")
                client = self._clients[ns] = LocalClient(ns, store=open_store(ns))
        return client

    def initialize(self, namespace: str) -> int:
        """Create or upgrade a namespace (what IRIS's compile of the IoP classes means here)."""
        ns = canonical(namespace)
        store = open_store(ns)
        try:
            return store.schema_version()
        finally:
            store.close()
