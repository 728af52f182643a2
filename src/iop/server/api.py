"""/api/iop routes (shared/spec/remote-api.md): each is a function of (client, query, body)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from iop.client.local import LocalClient
from iop.engine.config import parse_production
from iop.engine.errors import EngineError, UnknownProduction
from iop.migration.bindings import list_bindings, unregister_component
from iop.server.migrate_remote import migrate_upload

API_VERSION = "1.0.0"
Handler = Callable[[LocalClient, dict[str, str], dict[str, Any]], Any]


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _production(client: LocalClient, query: dict[str, str]) -> str:
    name = query.get("production") or client.get_default()
    if not name or name == "Not defined":
        raise UnknownProduction("no production given and no default production is set")
    return name


def version(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    from iop import __version__

    return {"version": API_VERSION, "description": f"iop-engine {__version__} remote API"}


def status(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    return client.status()


def list_productions(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    return client.list_productions()


def get_default(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    return {"production": client.get_default()}


def put_default(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    return {"production": client.set_default(str(body.get("production") or ""))}


def start(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    return client.start(body.get("production") or None)


def stop(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    return client.stop()


def kill(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    return client.kill()


def restart(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    return client.restart()


def update(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    return client.update()


def _component(action: str) -> Handler:
    def handle(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
        name = body.get("component") or body.get("item")
        if not name:
            raise EngineError("missing 'component' in the request body")
        client.component(action, str(name))
        return {"status": {"start": "started", "stop": "stopped",
                           "restart": "restarted"}[action], "component": name}

    return handle


def bindings(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    return list_bindings(unused_only=_truthy(query.get("unused", "")), store=client.store)


def unbind(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    name = query.get("class") or query.get("classname")
    if not name:
        raise EngineError("missing 'class' query parameter")
    unregister_component(name, store=client.store)
    return {"status": "unbound", "class": name}


def log(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    try:
        if "since_id" in query:
            return client.log(since_id=int(query["since_id"]))
        return client.log(top=int(query.get("top", "10") or 10))
    except ValueError as exc:
        raise EngineError("top and since_id must be integers") from exc


def export(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    name = _production(client, query)
    definition = client.export(name)
    inner = definition.get("Production", definition)
    return {name: inner}


def _items_or_warning(client: LocalClient, query: dict[str, str]) -> tuple[str, Any, list[str]]:
    name = query.get("production") or client.get_default() or ""
    definition = client.store.get_production(name) if name else None
    if definition is None:
        return name, None, [f"production {name or '(none)'} cannot be loaded"]
    return name, parse_production(definition), []


def connections(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    from iop.engine.introspect import item_settings

    name, config, warnings = _items_or_warning(client, query)
    items = []
    if config is not None:
        names = {item.name for item in config.items}
        for item in config.items:
            info = item_settings(client.store, item)
            targets: list[str] = []
            for row in info["host"]:
                value = row.get("value") if row.get("value") is not None else row.get("default")
                if (row.get("is_target") or row["name"] in ("TargetConfigNames", "TargetConfigName")) \
                        and isinstance(value, str):
                    targets += [t.strip() for t in value.split(",") if t.strip() in names]
            entry: dict[str, Any] = {"item": item.name, "class_name": item.class_name,
                                     "kind": info["kind"] or "component",
                                     "connections": sorted(set(targets)),
                                     "warnings": [info["error"]] if info["error"] else []}
            if info["adapter_class_name"]:
                entry["adapter_class_name"] = info["adapter_class_name"]
            binding = client.store.get_binding(item.class_name)
            if binding is not None:
                entry.update(iop=True, module=binding.module, classname=binding.classname,
                             classpaths=binding.classpath)
            items.append(entry)
    return {"production": name, "items": items, "warnings": warnings}


def queues(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    name, config, warnings = _items_or_warning(client, query)
    if config is None:
        return {"production": name, "items": [], "warnings": warnings}
    return client.queues(name)


def test(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    restart = body.get("restart", True)
    return client.test(str(body.get("target") or ""), body.get("classname") or None,
                       body.get("body"), restart=bool(restart))


def migrate(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    return migrate_upload(client.namespace, body)


def messages(client: LocalClient, query: dict[str, str], body: dict[str, Any]) -> Any:
    """Engine extension (not in IoP's v1): message headers, or counts by status."""
    if _truthy(query.get("count", "")):
        return client.message_counts()
    try:
        filters: dict[str, Any] = {
            "session_id": int(query["session_id"]) if query.get("session_id") else None,
            "status": query.get("status") or None, "target": query.get("target") or None,
            "source": query.get("source") or None, "limit": int(query.get("limit", "100")),
        }
    except ValueError as exc:
        raise EngineError("session_id and limit must be integers") from exc
    return client.messages(**filters)


ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", "messages"): messages,
    ("GET", "version"): version,
    ("GET", "status"): status,
    ("GET", "list"): list_productions,
    ("GET", "default"): get_default,
    ("PUT", "default"): put_default,
    ("POST", "start"): start,
    ("POST", "stop"): stop,
    ("POST", "kill"): kill,
    ("POST", "restart"): restart,
    ("POST", "update"): update,
    ("POST", "component/start"): _component("start"),
    ("POST", "component/stop"): _component("stop"),
    ("POST", "component/restart"): _component("restart"),
    ("GET", "bindings"): bindings,
    ("DELETE", "binding"): unbind,
    ("GET", "log"): log,
    ("GET", "export"): export,
    ("GET", "connections"): connections,
    ("GET", "queues"): queues,
    ("POST", "test"): test,
    ("PUT", "migrate"): migrate,
}
