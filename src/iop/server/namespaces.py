"""Which namespaces exist on this server, and one client per namespace."""

from __future__ import annotations

import threading

from iop.client.local import LocalClient
from iop.engine.errors import EngineError
from iop.store import check_namespace, open_store
from iop.store.errors import StoreError


class UnknownNamespace(EngineError):
    """The namespace has not been created on this server."""


class Namespaces:
    """Opens namespace stores on demand; never silently falls back to another namespace."""

    def __init__(self, create_on_use: bool = False) -> None:
        self.create_on_use = create_on_use
        self._clients: dict[str, LocalClient] = {}
        self._lock = threading.Lock()

    def client(self, namespace: str) -> LocalClient:
        try:
            ns = check_namespace(namespace or "USER")
        except StoreError as exc:
            raise UnknownNamespace(str(exc)) from exc
        with self._lock:
            client = self._clients.get(ns)
            if client is None:
                store = open_store(ns, initialize=False)
                if store.schema_version() == 0:
                    if not self.create_on_use and ns != "USER":
                        raise UnknownNamespace(
                            f"namespace {ns} does not exist on this server (create it with iop -i -n {ns})")
                    store.initialize()
                client = self._clients[ns] = LocalClient(ns, store=store)
        return client

    def initialize(self, namespace: str) -> int:
        """Create or upgrade a namespace (what IRIS's compile of the IoP classes means here)."""
        ns = check_namespace(namespace)
        store = open_store(ns)
        with self._lock:
            self._clients.pop(ns, None)
        return store.schema_version()
