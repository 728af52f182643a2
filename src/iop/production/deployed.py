"""A deployed production rebuilt as a Production: from a local store (classes resolved through
the registry, routes seen in traffic included) or from a director's export and runtime
connections (for directors without a local store)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from iop.production.production import Production
    from iop.store.base import Store

__all__ = ["from_export", "from_store", "observed_routes"]

OBSERVED_HEADERS = 2000  # recent requests read to find routes that only exist at runtime


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


def from_export(exported: Mapping[str, Any], connections: Any = None) -> Production:
    """A production rebuilt from a director's export and its runtime connections (each
    item's kind and the items it sends to), for directors without a local store."""
    from iop.production.graph import RUNTIME
    from iop.production.ports import split_targets
    from iop.production.production import Production

    definition = dict(exported)
    if "Production" not in definition and len(definition) == 1:  # keyed by the name (wire)
        definition = {"Production": next(iter(definition.values()))}
    rows = connections.get("items") if isinstance(connections, Mapping) else connections
    items = {i.get("item"): i for i in rows or [] if isinstance(i, Mapping)}
    kinds = {i.get("class_name"): i.get("kind") for i in items.values()
             if i.get("kind") not in (None, "", "component")}
    production = Production.from_dict(definition, resolve_kind=kinds.get)
    for ref in production:
        targets = set(items.get(ref.name, {}).get("connections") or [])
        for key, value in list(ref.host_settings.items()):
            named = split_targets(value)
            if targets and named and not key.startswith("%") and set(named) <= targets:
                ref.connect(key, value)
    if items:
        production._route_origin = RUNTIME  # read from the deployed production (see from_store)
    return production
