"""Runtime facts ``Production.from_dict`` can take besides the export, in the shapes IoP accepts.

``connections``: ``{"items": [{"item": X, "connections": [...], "adapter_class_name": ...,
"kind": ...}]}``, a mapping ``{source: [target, ...]}`` or a list of ``{"source_item", "target",
...}`` edges; a target is a name or ``{"target", "source_target_setting", "interaction"}``.
``queue_info``: ``{item: {...}}``, ``{"items": [...]}`` or a list of ``{"item"/"name", ...}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from iop.production.ports import split_targets

if TYPE_CHECKING:
    from iop.production.production import Production

__all__ = ["RuntimeConnection", "apply_runtime_facts", "read_connections", "read_queue_info"]

_ROUTE_KEYS = frozenset({"target", "name", "to", "source_target_setting", "source_port", "port",
                         "interaction", "metadata", "logical_name"})
# Targets IRIS reports for every host; they are not routes of the production.
_INTERNAL_TARGETS = frozenset({"Ens.Alert", "Ens.ScheduleHandler"})


@dataclass(frozen=True)
class RuntimeConnection:
    """One route the runtime reported: ``source`` sends to ``target`` through ``setting``."""

    source: str
    target: str
    setting: str = ""
    interaction: str = "request"
    metadata: tuple[tuple[str, Any], ...] = ()


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _target(source: str, value: Any, setting: str = "") -> RuntimeConnection | None:
    if isinstance(value, str):
        return RuntimeConnection(source, value, setting) if value else None
    if not isinstance(value, Mapping):
        return None
    target = value.get("target") or value.get("name") or value.get("to") or ""
    if not target:
        return None
    setting = str(value.get("source_target_setting") or value.get("source_port")
                  or value.get("port") or setting)
    # Keys the runtime reports beyond the route itself are kept as the edge's metadata.
    metadata = dict(value.get("metadata") or {})
    for key, item in value.items():
        if key not in _ROUTE_KEYS and item is not None:
            metadata.setdefault(str(key), item)
    return RuntimeConnection(source, str(target), setting,
                             str(value.get("interaction") or "request"),
                             tuple(sorted(metadata.items())))


def read_connections(connections: Any) -> tuple[list[RuntimeConnection], dict[str, dict[str, str]]]:
    """(routes, item name -> runtime metadata such as ``adapter_class_name`` and ``kind``)."""
    found: list[RuntimeConnection] = []
    metadata: dict[str, dict[str, str]] = {}
    if isinstance(connections, Mapping) and "items" in connections:
        for entry in _listed(connections.get("items")):
            if not isinstance(entry, Mapping):
                continue
            source = str(entry.get("item") or entry.get("name") or entry.get("source_item") or "")
            if not source:
                continue
            for value in _listed(entry.get("connections")) + _listed(entry.get("edges")):
                if (connection := _target(source, value)) is not None:
                    found.append(connection)
            facts = {"adapter_class_name": str(entry.get("adapter_class_name")
                                               or entry.get("adapter") or ""),
                     "kind": str(entry.get("kind") or entry.get("type") or "")}
            metadata[source] = {key: value for key, value in facts.items() if value}
    elif isinstance(connections, Mapping):
        for source, targets in connections.items():
            if source in ("production", "warnings"):
                continue
            found += [c for value in _listed(targets)
                      if (c := _target(str(source), value)) is not None]
    elif isinstance(connections, list):
        for edge in connections:
            if not isinstance(edge, Mapping):
                continue
            source = str(edge.get("source_item") or edge.get("item") or "")
            setting = ""
            if not source and "." in str(edge.get("source", "")):
                source, _, setting = str(edge["source"]).rpartition(".")
            if source and (connection := _target(source, edge, setting)) is not None:
                found.append(connection)
    return found, metadata


def read_queue_info(value: Any) -> dict[str, dict[str, Any]]:
    """Item name -> its queue counters."""
    entries: list[Any]
    if isinstance(value, Mapping) and "items" in value:
        entries = _listed(value.get("items"))
    elif isinstance(value, Mapping):
        return {str(name): dict(info) for name, info in value.items()
                if name not in ("production", "warnings") and isinstance(info, Mapping)}
    elif isinstance(value, list):
        entries = value
    else:
        return {}
    queues: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if isinstance(entry, Mapping):
            name = entry.get("item") or entry.get("name") or entry.get("queue_name")
            if name:
                queues[str(name)] = {key: item for key, item in entry.items() if key != "item"}
    return queues


def apply_runtime_facts(production: Production, connections: Any, queue_info: Any) -> None:
    """Mark the routes the runtime reported: a route a setting names becomes a ``runtime``
    edge of that setting; any other one is a route seen only at runtime."""
    production._queue_info = {name: info for name, info in read_queue_info(queue_info).items()
                               if name in production._items}
    if connections is None:
        return
    routes, metadata = read_connections(connections)
    for name, facts in metadata.items():
        ref = production._items.get(name)
        if ref is None:
            continue
        if facts.get("adapter_class_name") and not ref.adapter_class_name:
            ref.adapter_class_name = facts["adapter_class_name"]
        if facts.get("kind", "").lower() in ("service", "process", "operation"):
            ref.kind = facts["kind"].lower()
    production._route_origin = "runtime"
    for route in routes:
        ref = production._items.get(route.source)
        if ref is None or route.target in _INTERNAL_TARGETS:
            continue
        setting = route.setting or next(
            (key for key, text in ref.host_settings.items()
             if route.target in split_targets(text)), "")
        if not (setting and route.target in split_targets(ref.host_settings.get(setting))):
            setting = ""
            production._observed_routes[(route.source, route.target)] = route.interaction
        elif setting not in ref._ports:
            ref._ports.append(setting)
        if route.metadata:
            production._route_metadata[(route.source, setting, route.target)] = \
                dict(route.metadata)
