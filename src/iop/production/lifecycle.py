"""The lifecycle methods of Production (start, stop, restart, update, kill, status, log,
export, test, queues, inspection, one component), each a call of IoP's director protocol
(iop.runtime.protocol) on the production's director, and the checks they make first: every
method that changes what runs checks that the namespace runs this same production.

The director is the one injected (``Production(name, director=d)``, ``with_director(d)``),
else a new one of the class the ``iop`` package wires in with ``use_director_class`` (its
``Director``, on the production's namespace, remote when IOP_URL is set, as IoP's). Wiring it
in from above keeps this layer free of the client layer the Director works through.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from iop.director_hook import director_class, use_director_loader
from iop.production.deployed import from_export, from_store

if TYPE_CHECKING:
    from iop.production.production import Production
    from iop.runtime.protocol import DirectorProtocol
    from iop.store.base import Store

__all__ = ["LifecycleMixin", "director_of", "store_of", "use_director_class"]


def use_director_class(director_class: type) -> None:
    """The director class a Production without an injected director uses: called with
    ``namespace=``, its instances may carry this host's store as ``store`` (None remotely).
    The ``iop`` package wires in its Director (loaded on first use) through
    iop.director_hook."""
    use_director_loader(lambda: director_class)


def new_director(namespace: str | None) -> DirectorProtocol:
    """A director of the wired-in class on ``namespace``."""
    wired = director_class()
    if wired is None:
        raise RuntimeError("no director class is wired in: import iop (which wires in "
                           "iop.Director) or pass a director")
    director: DirectorProtocol = wired(namespace=namespace)
    return director


def director_of(production: Production) -> DirectorProtocol:
    """The director lifecycle calls go through: the injected one, else a new director on the
    production's namespace."""
    director: DirectorProtocol | None = production.director
    return director if director is not None else new_director(production.namespace)


def local_store(director: Any) -> Store | None:
    """The store of this host a director of the wired-in class works on; None for one that
    works remotely, and for an injected director of another kind (a user's fake), which has no
    store of ours."""
    wired = director_class()
    if wired is None or not isinstance(director, wired):
        return None
    store: Store | None = getattr(director, "store", None)
    return store


def store_of(production: Production) -> Store:
    """The store runtime calls use: a local director's, else the production's namespace."""
    from iop.store import open_store

    store = local_store(production.director)
    return store if store is not None else open_store(production.namespace)


def runtime_item_name(production: Production, target: Any) -> str:
    """The item a lifecycle helper acts on: a name, ComponentRef, port or ``"Item.Port"``
    (the item it sends to); ValueError with IoP's texts when there is none."""
    if not isinstance(target, str):
        return production.component_ref(target).name
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


def read_status(director: DirectorProtocol, action: str) -> tuple[str, str]:
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


def require_current(production: Production, director: DirectorProtocol, action: str) -> None:
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


def require_running(production: Production, director: DirectorProtocol) -> None:
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


class LifecycleMixin:
    """Lifecycle methods of Production: each calls the director protocol as IoP's does (same
    method, same arguments), so an injected director sees the calls IoP would make."""

    def _production(self) -> Production:
        """This object as the Production it is part of (the mixin is Production's only)."""
        from iop.production.production import Production

        if not isinstance(self, Production):
            raise TypeError(f"{type(self).__name__} is not a Production")
        return self

    @classmethod
    def from_iris(cls, name: str, *, namespace: str | None = None,
                  director: Any = None) -> Production:
        """Rebuild a deployed production from the director's export (the name is IoP's); a
        local director's store also resolves classes and the routes seen in traffic."""
        source = director if director is not None else new_director(namespace)
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
        store = local_store(source)
        production = from_store(store, name) if store is not None else from_export(
            exported, connections)
        if namespace is not None or store is None:
            production.namespace = namespace
        production.director = director
        return production

    # -- queues and inspection -------------------------------------------------------------
    def queue(self, *, refresh: bool = True) -> dict[str, dict[str, Any]]:
        """Item name -> queue counters of the deployed production (the last ones read when
        ``refresh`` is false)."""
        production = self._production()
        if refresh:
            info = director_of(production).export_production_queue_info(production.name or "")
            production._queue_info = normalize_queues(info)[0]
        return {name: dict(value) for name, value in production._queue_info.items()}

    def queue_info(self, *, refresh: bool = True) -> dict[str, dict[str, Any]]:
        """Alias of ``queue()``."""
        return self.queue(refresh=refresh)

    def inspect_component(self, component: Any, *, refresh: bool = True) -> dict[str, Any]:
        """Settings, routes and (with ``refresh``) the runtime status and queue of one item
        (a name, ComponentRef, port or ``"Item.Port"``)."""
        from iop.production.graph import production_edges

        production = self._production()
        ref = production.item(runtime_item_name(production, component))
        edges = [_edge_dict(e) for e in production_edges(production)]
        info: dict[str, Any] = {
            "production": production.name, "name": ref.name, "class_name": ref.class_name or "",
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
            runtime = _component_runtime(production, ref.name)
            if runtime:
                info["runtime"] = runtime
        elif ref.name in production._queue_info:
            info["runtime"] = {"queue": dict(production._queue_info[ref.name])}
        return info

    # -- one component -----------------------------------------------------------------------
    def _component_call(self, method: str, component: Any) -> None:
        production = self._production()
        name = runtime_item_name(production, component)
        director = director_of(production)
        verb = method.split("_")[0]
        require_current(production, director,
                        f"{verb} component {name!r} in production {production.name!r}")
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

    def test_component(self, target_or_ref: Any, message: Any = None,
                       classname: str | None = None, body: Any = None) -> Any:
        """Send one message to an item of this running production (a name, ComponentRef, port
        or ``"Item.Port"``); returns the director's answer (locally the response object)."""
        production = self._production()
        director = director_of(production)
        target = runtime_item_name(production, target_or_ref)
        require_running(production, director)
        if classname is None and body is None and message is not None:
            classname, body = message_to_classname_body(message)
            if classname is not None:
                message = None
        return director.test_component(target, message=message, classname=classname,
                                       body=body)

    def test(self, target_or_ref: Any, message: Any = None, classname: str | None = None,
             body: Any = None) -> Any:
        """Alias of ``test_component()``."""
        return self.test_component(target_or_ref, message=message, classname=classname,
                                   body=body)

    # -- the production ------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """The director's status: the current (running, else last or default) production and
        its state."""
        return director_of(self._production()).status_production()

    def start(self, detach: bool = True) -> None:
        """Start this production (detached, or printing its log until Ctrl+C)."""
        production = self._production()
        director = director_of(production)
        if detach:
            director.start_production(production.name)
        else:
            director.start_production_with_log(production.name)

    def _production_call(self, method: str, action: str) -> None:
        production = self._production()
        director = director_of(production)
        require_current(production, director, f"{action} production {production.name!r}")
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

    def export(self) -> dict[str, Any]:
        """The deployed definition, as the director exports it."""
        production = self._production()
        return director_of(production).export_production(production.name or "")

    def set_default(self) -> None:
        """Make this production the namespace's default one."""
        production = self._production()
        director_of(production).set_default_production(production.name or "")

    def log(self, top: int | None = None) -> None:
        """Print the event log: the last ``top`` entries, or following it until Ctrl+C."""
        director = director_of(self._production())
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


def _component_runtime(production: Production, name: str) -> dict[str, Any]:
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
        info = director.export_production_queue_info(production.name or "")
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
