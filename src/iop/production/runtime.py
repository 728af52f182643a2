"""The runtime side of a Production: rebuild one from the store, read its queues, inspect, start,
stop, restart and test its items, and the production lifecycle helpers.

Every helper that changes what runs first checks that the namespace runs this same production.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from iop.production.production import Production
    from iop.store.base import Store

__all__ = ["RuntimeMixin", "director_of", "from_export", "from_store", "observed_routes",
           "store_of"]

OBSERVED_HEADERS = 2000  # recent requests read to find routes that only exist at runtime


def director_of(production: Any) -> Any:
    """The director lifecycle calls go through: the injected one, else a Director on the
    production's namespace (remote when IOP_URL is set, as IoP's)."""
    director = getattr(production, "director", None)
    if director is not None:
        return director
    from iop.runtime.director import Director

    return Director(namespace=production.namespace)


def store_of(production: Production) -> Store:
    """The store runtime calls use: a local Director's, else the production's namespace."""
    from iop.runtime.director import Director
    from iop.store import open_store

    director = getattr(production, "director", None)
    # An injected director of another kind (a user's fake) has no store of ours.
    store = director.store if isinstance(director, Director) else None
    if store is not None:
        return store

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


def runtime_item_name(production: Any, target: Any) -> str:
    """The item a lifecycle helper acts on: a name, ComponentRef, port or ``"Item.Port"``
    (the item it sends to); ValueError with IoP's texts when there is none."""
    if not isinstance(target, str):
        return production.component_ref(target).name  # type: ignore[no-any-return]
    if target in production:
        return target
    item_name, dot, port = target.rpartition(".")
    if not dot or item_name not in production:
        raise ValueError(f"Production item does not exist: {item_name if dot else target}")
    targets = production.item(item_name).port(port).targets()
    if not targets:
        raise ValueError(f"Production target setting is not connected: {target}")
    if len(targets) > 1:
        listed = ", ".join(repr(t) for t in targets)
        raise ValueError(f"Production target setting is ambiguous: {target} resolves to "
                         f"multiple targets ({listed})")
    if targets[0] not in production:
        raise ValueError(f"Production item does not exist: {targets[0]}")
    return targets[0]


def read_status(director: Any, action: str) -> tuple[str, str]:
    """(production, status) as the director reports them; RuntimeError (IoP's text) when it
    cannot say."""
    try:
        status = director.status_production()
    except Exception as exc:
        raise RuntimeError(
            f"Cannot {action}: could not verify production status ({exc}).") from exc
    if not isinstance(status, dict):
        raise RuntimeError(
            f"Cannot {action}: production status response is invalid ({status!r}).")
    name = status.get("Production") or status.get("production") or ""
    state = status.get("Status") or status.get("status") or ""
    return str(name), str(state)


def require_current(production: Any, director: Any, action: str) -> None:
    """Refuse ``action`` unless the director's current (running or default) production is
    this one: a lifecycle helper acts only on its own production."""
    name, state = read_status(director, action)
    if name == production.name:
        return
    if name:
        detail = f"current/default production is {name!r}"
    elif state:
        detail = f"current status is {state!r}"
    else:
        detail = "runtime status did not report a current/default production"
    raise RuntimeError(
        f"Cannot {action}: {detail}. Select {production.name!r} with `prod.set_default()` or "
        "start it with `prod.start()` before using this lifecycle method.")


def require_running(production: Any, director: Any) -> None:
    """Refuse a test unless this production is the one running (IoP's texts)."""
    name, state = read_status(director, "test")
    running = state.lower() == "running"
    if name == production.name and running:
        return
    if name and name != production.name and running:
        raise RuntimeError(
            f"Production {production.name!r} exists but is not running (currently running "
            f"production is {name!r}). IRIS can run only one production at a time. Stop "
            f"{name!r} first with `iop --stop`, then start {production.name!r} with "
            f"`iop --start {production.name} --detach`; or call `prod.stop()` and "
            "`prod.start()` explicitly. Do that before calling `prod.test(...)`.")
    if name and name != production.name:
        detail = f"current default production is {name!r}"
    elif state:
        detail = f"current status is {state!r}"
    else:
        detail = "runtime status did not report a running production"
    raise RuntimeError(
        f"Production {production.name!r} exists but is not running ({detail}). Start it with "
        f"`iop --start {production.name} --detach` or `prod.start()` before calling "
        "`prod.test(...)`.")


def normalize_queues(value: Any) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Item name -> queue counters from a director's queue export, and its warnings."""
    queues: dict[str, dict[str, Any]] = {}
    warnings: list[str] = []
    if value is None:
        return queues, warnings
    if isinstance(value, Mapping) and "items" not in value:
        warnings += [str(w) for w in _listed(value.get("warnings")) if w]
        queues.update({str(k): dict(v) for k, v in value.items()
                       if k not in ("production", "warnings") and isinstance(v, Mapping)})
        return queues, warnings
    if isinstance(value, Mapping):
        warnings += [str(w) for w in _listed(value.get("warnings")) if w]
        rows = _listed(value.get("items"))
    elif isinstance(value, list):
        rows = value
    else:
        return queues, [f"Ignoring invalid queue info: {value!r}"]
    for row in rows:
        if not isinstance(row, Mapping):
            continue
        name = row.get("item") or row.get("name") or row.get("queue_name") or ""
        if name:
            info = dict(row)
            info.pop("item", None)
            info.setdefault("queue_name", info.pop("name", name))
            queues[str(name)] = info
    return queues, warnings


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def message_to_classname_body(message: Any) -> tuple[str | None, str | None]:
    """A dataclass or pydantic message as (``module.Class``, JSON body), the form a director
    receives it in; (None, None) for anything else, which is passed as is."""
    from dataclasses import is_dataclass

    classname = f"{type(message).__module__}.{type(message).__name__}"
    dump = getattr(message, "model_dump_json", None)
    if callable(dump) and hasattr(type(message), "model_fields"):
        return classname, dump()
    if is_dataclass(message) and not isinstance(message, type):
        return classname, json.dumps(_plain_fields(message))
    return None, None


def _plain_fields(value: Any) -> Any:
    # Every attribute of the instance, including ones added after construction, recursively.
    from dataclasses import is_dataclass

    if is_dataclass(value) or hasattr(value, "__dict__"):
        return {k: _plain_fields(v) for k, v in vars(value).items() if k != "_iris_id"}
    if isinstance(value, list):
        return [_plain_fields(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain_fields(v) for k, v in value.items()}
    return value


class RuntimeMixin:
    """Runtime methods of Production: each calls the director protocol as IoP's does (same
    method, same arguments), so an injected director sees the calls IoP would make."""

    name: str | None

    @classmethod
    def from_iris(cls, name: str, *, namespace: str | None = None,
                  director: Any = None) -> Production:
        """Rebuild a deployed production from the director's export (the name is IoP's); a
        local Director's store also resolves classes and the routes seen in traffic."""
        from iop.runtime.director import Director

        source = director if director is not None else Director(namespace=namespace)
        exported = source.export_production(name)
        connections: Any = None
        try:
            connections = source.export_production_connections(name)
        except AttributeError:
            connections = None
        except Exception as exc:
            connections = {"warnings": [f"Could not export runtime connections: {exc}"]}
        if connections is not None and not isinstance(connections, (dict, list)):
            connections = None
        store = source.store if isinstance(source, Director) else None
        production = from_store(store, name) if store is not None else from_export(
            exported, connections)
        if namespace is not None or store is None:
            production.namespace = namespace
        production.director = director
        return production

    # -- queues and inspection -------------------------------------------------------------
    def queue(self: Any, *, refresh: bool = True) -> dict[str, dict[str, Any]]:
        """Item name -> queue counters of the deployed production (the last ones read when
        ``refresh`` is false)."""
        if refresh:
            info = director_of(self).export_production_queue_info(self.name)
            self._queue_info = normalize_queues(info)[0]
        return {name: dict(value) for name, value in getattr(self, "_queue_info", {}).items()}

    def queue_info(self: Any, *, refresh: bool = True) -> dict[str, dict[str, Any]]:
        """Alias of ``queue()``."""
        return self.queue(refresh=refresh)  # type: ignore[no-any-return]

    def inspect_component(self: Any, component: Any, *, refresh: bool = True) -> dict[str, Any]:
        """Settings, routes and (with ``refresh``) the runtime status and queue of one item
        (a name, ComponentRef, port or ``"Item.Port"``)."""
        from iop.production.graph import production_edges

        ref = self.item(runtime_item_name(self, component))
        edges = [_edge_dict(e) for e in production_edges(self)]
        info: dict[str, Any] = {
            "production": self.name, "name": ref.name, "class_name": ref.class_name or "",
            "adapter_class_name": ref.adapter_class_name, "kind": ref.kind,
            "category": ref.category, "enabled": ref.enabled, "pool_size": ref.pool_size,
            "foreground": ref.foreground, "comment": ref.comment,
            "log_trace_events": ref.log_trace_events, "schedule": ref.schedule,
            "settings": {"Host": dict(ref.host_settings), "Adapter": dict(ref.adapter_settings),
                         "Other": [{"@Target": t, "@Name": n, "#text": v}
                                   for t, n, v in ref.other_settings]},
            "target_settings": sorted(ref.route_ports()),
            "outgoing": [e for e in edges if e["source_item"] == ref.name],
            "incoming": [e for e in edges if e["target"] == ref.name],
        }
        if refresh:
            runtime = _component_runtime(self, ref.name)
            if runtime:
                info["runtime"] = runtime
        elif ref.name in getattr(self, "_queue_info", {}):
            info["runtime"] = {"queue": dict(self._queue_info[ref.name])}
        return info

    # -- one component -----------------------------------------------------------------------
    def _component_call(self: Any, method: str, component: Any) -> None:
        name = runtime_item_name(self, component)
        director = director_of(self)
        verb = method.split("_")[0]
        require_current(self, director,
                        f"{verb} component {name!r} in production {self.name!r}")
        getattr(director, method)(name)

    def start_component(self, component: Any) -> None:
        """Enable one item (its jobs start if the production runs); the change persists."""
        self._component_call("start_component", component)

    def stop_component(self, component: Any) -> None:
        """Disable one item (its jobs stop if the production runs); the change persists."""
        self._component_call("stop_component", component)

    def restart_component(self, component: Any) -> None:
        """Stop then start one item."""
        self._component_call("restart_component", component)

    def test_component(self: Any, target_or_ref: Any, message: Any = None,
                       classname: str | None = None, body: Any = None) -> Any:
        """Send one message to an item of this running production (a name, ComponentRef, port
        or ``"Item.Port"``); returns the director's answer (locally the response object)."""
        director = director_of(self)
        target = runtime_item_name(self, target_or_ref)
        require_running(self, director)
        if classname is None and body is None and message is not None:
            classname, body = message_to_classname_body(message)
            if classname is not None:
                message = None
        return director.test_component(target, message=message, classname=classname,
                                       body=body)

    def test(self: Any, target_or_ref: Any, message: Any = None, classname: str | None = None,
             body: Any = None) -> Any:
        """Alias of ``test_component()``."""
        return self.test_component(target_or_ref, message=message, classname=classname,
                                   body=body)

    # -- the production ------------------------------------------------------------------------
    def status(self: Any) -> dict[str, Any]:
        """The director's status: the current (running, else last or default) production and
        its state."""
        return director_of(self).status_production()  # type: ignore[no-any-return]

    def start(self: Any, detach: bool = True) -> None:
        """Start this production (detached, or printing its log until Ctrl+C)."""
        director = director_of(self)
        if detach:
            director.start_production(self.name)
        else:
            director.start_production_with_log(self.name)

    def _production_call(self: Any, method: str, action: str) -> None:
        director = director_of(self)
        require_current(self, director, f"{action} production {self.name!r}")
        getattr(director, method)()

    def stop(self) -> None:
        """Stop this production (refused when another one is current)."""
        self._production_call("stop_production", "stop")

    def restart(self) -> None:
        """Restart this production."""
        self._production_call("restart_production", "restart")

    def kill(self) -> None:
        """Force this production to stop."""
        self._production_call("shutdown_production", "kill")

    def update(self) -> None:
        """Apply configuration changes to this running production (changed items restart)."""
        self._production_call("update_production", "update")

    def export(self: Any) -> dict[str, Any]:
        """The deployed definition, as the director exports it."""
        return director_of(self).export_production(self.name)  # type: ignore[no-any-return]

    def set_default(self: Any) -> None:
        """Make this production the namespace's default one."""
        director_of(self).set_default_production(self.name)

    def log(self: Any, top: int | None = None) -> None:
        """Print the event log: the last ``top`` entries, or following it until Ctrl+C."""
        director = director_of(self)
        if top is None:
            director.log_production()
        else:
            director.log_production_top(top)


def _edge_dict(edge: Any) -> dict[str, Any]:
    if hasattr(edge, "to_dict"):
        return edge.to_dict()  # type: ignore[no-any-return]
    return {"source": f"{edge.source}.{edge.port}" if edge.port else edge.source,
            "source_item": edge.source, "source_target_setting": edge.port,
            "target": edge.target, "origin": edge.origin, "interaction": edge.interaction}


def _component_runtime(production: Any, name: str) -> dict[str, Any]:
    """The runtime part of inspect_component: the director's status and the item's queue."""
    director = director_of(production)
    runtime: dict[str, Any] = {}
    warnings: list[str] = []
    try:
        status = director.status_production()
    except Exception as exc:
        warnings.append(f"Could not fetch production status: {exc}")
    else:
        if isinstance(status, dict):
            current = status.get("Production") or status.get("production") or ""
            state = status.get("Status") or status.get("status") or ""
            runtime.update(production_status=dict(status), current_production=str(current),
                           status=str(state), is_current_production=current == production.name,
                           is_running=current == production.name
                           and str(state).lower() == "running")
        else:
            warnings.append(f"Production status response is invalid: {status!r}")
    try:
        info = director.export_production_queue_info(production.name)
    except Exception as exc:
        warnings.append(f"Could not fetch queue info: {exc}")
    else:
        queues, queue_warnings = normalize_queues(info)
        warnings += queue_warnings
        production._queue_info = queues
        if name in queues:
            runtime["queue"] = dict(queues[name])
    if warnings:
        runtime["warnings"] = warnings
    return runtime
