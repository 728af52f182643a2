"""The runtime side of a Production: rebuild one from the store, read its queues, inspect, start,
stop, restart and test its items, and the production lifecycle helpers.

Every helper that changes what runs first checks that the namespace runs this same production.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from iop.production.errors import ProductionError, UnknownComponent

if TYPE_CHECKING:
    from iop.production.production import Production
    from iop.store.base import Store

__all__ = ["OTHER_PRODUCTION_RUNS", "ProductionNotRunning", "RuntimeMixin", "from_store",
           "observed_routes", "store_of"]

OBSERVED_HEADERS = 2000  # recent requests read to find routes that only exist at runtime
LIVE = ("running", "troubled", "suspended")
OTHER_PRODUCTION_RUNS = "namespace {ns} runs production {running}, not {name}"


class ProductionNotRunning(ProductionError):
    """The namespace does not run this production, so a runtime helper cannot act on it."""


def store_of(production: Production) -> Store:
    """The store runtime calls use: the director's, else the production's namespace."""
    director = getattr(production, "director", None)
    store = getattr(director, "store", None)
    if store is not None:
        return store
    from iop.store import open_store

    return open_store(production.namespace)


def _resolvers(store: Store) -> tuple[Callable[[str], type | None], Callable[[str], str | None]]:
    from iop.components import kinds
    from iop.engine import registry

    def resolve_class(class_name: str) -> type | None:
        try:
            cls = registry.resolve(store, class_name)
        except Exception:  # unresolvable or broken classes stay plain class names
            return None
        return cls if kinds.kind_of(cls) in kinds.HOST_KINDS else None

    def resolve_kind(class_name: str) -> str | None:
        binding = store.get_binding(class_name)
        return binding.kind if binding is not None and binding.kind in kinds.HOST_KINDS else None

    return resolve_class, resolve_kind


def observed_routes(store: Store, items: set[str]) -> dict[tuple[str, str], str]:
    """(source, target) -> interaction (sync/async) of recent requests between ``items``."""
    seen: dict[tuple[str, str], set[str]] = {}
    for header in store.query_headers(type="request", limit=OBSERVED_HEADERS):
        if header.source in items and header.target in items:
            seen.setdefault((header.source, header.target), set()).add(header.priority)
    return {pair: "+".join(sorted(modes)) for pair, modes in seen.items()}


def from_store(store: Store, name: str) -> Production:
    """The operational reconstruction of a deployed production: classes resolved through the
    registry, route origins marked ``runtime``, routes seen in traffic included."""
    from iop.engine.errors import UnknownProduction
    from iop.production.production import Production

    definition = store.get_production(name)
    if definition is None:
        raise UnknownProduction(f"production {name} does not exist in namespace "
                                f"{store.namespace}")
    resolve_class, resolve_kind = _resolvers(store)
    production = Production.from_dict(definition, resolve_kind, resolve_class=resolve_class)
    production.namespace = store.namespace
    production._route_origin = "runtime"
    production._observed_routes = observed_routes(store, set(production.item_names()))
    return production


def _same_production(production: Production, store: Store, *, must_run: bool) -> str:
    """The running status; raises when another production runs (or none does and must)."""
    from iop.engine import control

    running, status = control.current_status(store)
    if status in LIVE and running and running != production.name:
        raise ProductionNotRunning(OTHER_PRODUCTION_RUNS.format(
            ns=store.namespace, running=running, name=production.name))
    if must_run and status not in LIVE:
        raise ProductionNotRunning(f"production {production.name} is not running in namespace "
                                   f"{store.namespace}")
    return status if running == production.name else "stopped"


class RuntimeMixin:
    """Runtime methods of Production (seed 001: from_iris, queue, inspect/start/stop/restart/test
    a component, and the production lifecycle)."""

    name: str | None

    @classmethod
    def from_iris(cls, name: str, namespace: str | None = None) -> Production:
        """Rebuild a deployed production from the engine's store (the name is IoP's)."""
        from iop.store import open_store

        return from_store(open_store(namespace), name)

    # -- queues and inspection -------------------------------------------------------------
    def queue(self: Any) -> dict[str, Any]:
        """Point-in-time queue counters of the deployed production's items."""
        from iop.client.local import LocalClient

        return LocalClient(store=store_of(self)).queues(self.name)

    def queue_info(self) -> dict[str, Any]:
        """Alias of ``queue()``."""
        return self.queue()

    def inspect_component(self: Any, target: Any) -> dict[str, Any]:
        """Settings, routes, queue and runtime status of one item (name, ref, port or path)."""
        from iop.engine import control

        ref = self.component_ref(target)
        store = store_of(self)
        running, status = control.current_status(store)
        deployed = store.get_production(self.name)
        live = running == self.name and status in LIVE
        jobs = [j.pid for j in store.list_jobs() if j.item == ref.name] if live else []
        return {
            "item": ref.name, "production": self.name, "class_name": ref.class_name,
            "kind": ref.kind, "component_class": getattr(ref.component_class, "__qualname__", None),
            "adapter_class_name": ref.adapter_class_name, "enabled": ref.enabled,
            "pool_size": ref.pool_size, "host_settings": dict(ref.host_settings),
            "adapter_settings": dict(ref.adapter_settings),
            "routes": {port: ref.port(port).targets() for port in ref.route_ports()},
            "queue": {"count": store.queue_counts().get(ref.name, 0), "exists": live and
                      ref.enabled},
            "runtime": {"production": running, "status": status, "same_production": live,
                        "deployed": deployed is not None, "jobs": jobs},
        }

    # -- one component -----------------------------------------------------------------------
    def _set_enabled(self: Any, target: Any, enabled: bool) -> dict[str, str]:
        from iop.engine import control

        ref = self.component_ref(target)
        store = store_of(self)
        status = _same_production(self, store, must_run=False)
        definition = store.get_production(self.name)
        if definition is None:
            raise UnknownComponent(f"production {self.name} is not deployed in namespace "
                                   f"{store.namespace}; migrate or apply first")
        entries = definition.get("Production", {}).get("Item") or []
        entries = [entries] if isinstance(entries, dict) else entries
        entry = next((e for e in entries if e.get("@Name") == ref.name), None)
        if entry is None:
            raise UnknownComponent(f"item {ref.name} is not in the deployed production "
                                   f"{self.name}; migrate or apply first")
        entry["@Enabled"] = "true" if enabled else "false"
        store.save_production(self.name, definition)
        ref.enabled = enabled
        if status in LIVE:
            control.update(store)
        return {"item": ref.name, "enabled": str(enabled).lower(), "status": status}

    def start_component(self, target: Any) -> dict[str, str]:
        """Enable one item and start its jobs if the production runs (EnableConfigItem)."""
        return self._set_enabled(target, True)

    def stop_component(self, target: Any) -> dict[str, str]:
        """Disable one item and stop its jobs if the production runs."""
        return self._set_enabled(target, False)

    def restart_component(self: Any, target: Any) -> dict[str, str]:
        """Stop then start one item's jobs; the production must be running."""
        _same_production(self, store_of(self), must_run=True)
        self._set_enabled(target, False)
        return self._set_enabled(target, True)

    def test_component(self: Any, target: Any, message: Any = None, *,
                       classname: str | None = None, body: Any = None) -> Any:
        """Send one message synchronously to an item of this production (resolved from this
        object's graph: name, ref, port or ``"Item.Port"``); returns the response."""
        from iop.engine.director import Director

        ref = self.component_ref(target)
        store = store_of(self)
        _same_production(self, store, must_run=True)
        return Director(store=store).test_component(ref.name, message, classname, body)

    test = test_component

    # -- the production ------------------------------------------------------------------------
    def status(self: Any) -> dict[str, str]:
        """This production's status in its namespace (``stopped`` when another one runs)."""
        store = store_of(self)
        from iop.engine import control

        running, status = control.current_status(store)
        return {"Production": self.name, "Status": status if running == self.name else "stopped"}

    def start(self: Any) -> None:
        """Start this (deployed) production detached."""
        from iop.engine import control

        control.start_detached(store_of(self), self.name)

    def stop(self: Any) -> None:
        """Stop this production if it is the one running."""
        from iop.engine import control

        store = store_of(self)
        if _same_production(self, store, must_run=False) != "stopped":
            control.stop(store)

    def kill(self: Any) -> None:
        """Force-stop this production if it is the one running."""
        from iop.engine import control

        store = store_of(self)
        if _same_production(self, store, must_run=False) != "stopped":
            control.kill(store)

    def restart(self: Any) -> None:
        """Restart this production (start it when nothing runs)."""
        from iop.engine import control

        store = store_of(self)
        _same_production(self, store, must_run=False)
        control.restart(store, self.name)

    def update(self: Any) -> None:
        """Apply configuration changes to this running production (changed items restart)."""
        from iop.engine import control

        store = store_of(self)
        _same_production(self, store, must_run=True)
        control.update(store)
