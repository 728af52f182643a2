"""Structural edits of a stored production, as the portal's Configuration page makes them: add
an item of a bound class, copy one, remove one, change its connections (target settings).

``check_edit`` validates one edit against the production and the items' classes (it imports
them, so the server runs it in its contained child) and answers the whole desired definition;
``apply_edit`` then saves it through the change-plan machinery the ``iop`` CLI uses
(``plan_exports`` + ``deploy.apply_plan``), which writes a backup first. ``backups`` lists
those backups and ``rollback`` restores one (``deploy.rollback_backup``, as
``iop --rollback-backup DIR --allow-destructive`` does).
"""

from __future__ import annotations

import copy
import json
import os
import re
from typing import Any

from iop.client.item_config import (
    MAX_POOL_SIZE,
    InvalidConfiguration,
    check_value,
    parse_flag,
    parse_pool_size,
    with_editors,
)
from iop.components.kinds import OPERATION, PROCESS, SERVICE
from iop.components.widgets import item_names
from iop.engine import registry
from iop.engine.config import parse_production
from iop.engine.errors import UnknownItem, UnknownProduction
from iop.engine.introspect import item_settings
from iop.names import ITEM, PRODUCTION, check_name
from iop.production.plan import PlanError, fingerprint, plan_exports
from iop.production.values import bool_text
from iop.store.base import Store

ACTIONS = ("add", "copy", "remove", "connect")
HOST_KINDS = (SERVICE, PROCESS, OPERATION)
MAX_SETTING_LINES = 200
MAX_SETTING_TEXT = 20_000
_BACKUP_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{12}(-\d+)?$")
SOURCE = "portal"


class InvalidEdit(InvalidConfiguration):
    """An edit the production cannot take; nothing was saved."""


def backup_dir(namespace: str) -> str:
    """Where the portal's applies keep their backups: the namespace's own folder."""
    from iop.store import namespace_dir

    return os.path.join(namespace_dir(namespace), "backups")


def host_classes(store: Store) -> list[dict[str, str]]:
    """The bound classes an item can be made of (services, processes, operations), iop and
    pyprod alike: ``{"class", "kind", "python"}`` sorted by class name."""
    return [{"class": b.class_name, "kind": b.kind, "python": f"{b.module}.{b.classname}"}
            for b in sorted(store.list_bindings(), key=lambda b: b.class_name)
            if b.kind in HOST_KINDS]


def _items(definition: dict[str, Any]) -> list[dict[str, Any]]:
    body = definition.setdefault("Production", {})
    items = body.get("Item") or []
    if not isinstance(items, list):
        items = [items]
    body["Item"] = items
    return items


def _entry(definition: dict[str, Any], name: str, production: str) -> dict[str, Any]:
    for entry in _items(definition):
        if entry.get("@Name") == name:
            return entry
    raise UnknownItem(f"item {name} is not in production {production}")


def _new_name(definition: dict[str, Any], name: Any) -> str:
    text = name.strip() if isinstance(name, str) else name
    check_name(ITEM, text, InvalidEdit)
    if any(e.get("@Name") == text for e in _items(definition)):
        raise InvalidEdit(f"an item named {text} already exists in this production")
    return str(text)


def _pool_size(value: Any) -> str:
    pool = parse_pool_size(value)
    if pool is None:
        raise InvalidEdit(f"pool size must be a whole number from 0 to {MAX_POOL_SIZE}, got "
                          f"{str(value)[:40]!r}")
    return str(pool)


def parse_settings(text: Any) -> list[tuple[str, str, str]]:
    """(target, name, value) of each ``Name=value`` line (``Adapter:Name=value`` for an adapter
    setting); blank lines and ``#`` comments are skipped."""
    if not isinstance(text, str):
        raise InvalidEdit("settings must be text, one Name=value a line")
    if len(text) > MAX_SETTING_TEXT:
        raise InvalidEdit(f"settings are longer than {MAX_SETTING_TEXT} characters")
    found: list[tuple[str, str, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, equals, value = line.partition("=")
        if not equals:
            raise InvalidEdit(f"settings line {number}: write Name=value, got {line[:60]!r}")
        target, colon, name = key.strip().rpartition(":")
        target = target.strip().capitalize() if colon else "Host"
        name = name.strip()
        if target not in ("Host", "Adapter") or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*",
                                                                 name):
            raise InvalidEdit(f"settings line {number}: {key.strip()[:60]!r} is not a setting "
                              "name (Name, or Adapter:Name)")
        found.append((target, name, value.strip()))
        if len(found) > MAX_SETTING_LINES:
            raise InvalidEdit(f"at most {MAX_SETTING_LINES} settings at once")
    return found


def _item_rows(store: Store, definition: dict[str, Any], name: str) -> dict[str, Any]:
    config = parse_production(definition)
    item = next(i for i in config.items if i.name == name)
    info = item_settings(store, item)
    info["host"], info["adapter"] = with_editors(info["host"]), with_editors(info["adapter"])
    return info


def _kinds(store: Store, definition: dict[str, Any]) -> dict[str, str]:
    config = parse_production(definition)
    return {item.name: item_settings(store, item)["kind"] for item in config.items}


def _add(store: Store, definition: dict[str, Any], production: str,
         edit: dict[str, Any]) -> str:
    class_name = str(edit.get("class_name") or "").strip()
    bound = {c["class"]: c for c in host_classes(store)}
    if class_name not in bound:
        raise InvalidEdit(f"class {class_name[:80] or '(none)'!s} is not a bound service, "
                          f"process or operation in namespace {store.namespace}; bind it "
                          "with iop -m or intersystems_pyprod first")
    name = _new_name(definition, edit.get("name"))
    pool = _pool_size(edit.get("pool_size", "1"))
    settings = parse_settings(edit.get("settings") or "")
    entry: dict[str, Any] = {"@Name": name, "@ClassName": class_name, "@PoolSize": pool,
                             "@Enabled": bool_text(parse_flag(edit.get("enabled", True))),
                             "@Foreground": "false", "@Comment": "", "@Category": "",
                             "@LogTraceEvents": "false", "@Schedule": "", "Setting": []}
    _items(definition).append(entry)
    info = _item_rows(store, definition, name)
    if info["error"]:
        raise InvalidEdit(f"class {class_name} cannot be loaded: {info['error']}")
    kinds = _kinds(store, definition)
    problems = []
    for target, setting, value in settings:
        rows = {r["name"]: r for r in info["host" if target == "Host" else "adapter"]}
        row = rows.get(setting)
        if row is None:
            problems.append(f"{class_name} has no {target.lower()} setting {setting}")
        elif why := check_value(row, value, kinds, production):
            problems.append(why)
        else:
            entry["Setting"].append({"@Target": target, "@Name": setting, "#text": value})
    if problems:
        raise InvalidEdit("; ".join(problems))
    return f"added item {name} ({class_name})"


def _copy(definition: dict[str, Any], production: str, edit: dict[str, Any]) -> str:
    source = str(edit.get("item") or "")
    original = _entry(definition, source, production)
    name = _new_name(definition, edit.get("name"))
    duplicate = copy.deepcopy(original)
    duplicate["@Name"] = name
    _items(definition).append(duplicate)
    return f"copied item {source} to {name}"


def _remove(definition: dict[str, Any], production: str, edit: dict[str, Any]) -> str:
    name = str(edit.get("item") or "")
    _entry(definition, name, production)
    definition["Production"]["Item"] = [e for e in _items(definition) if e.get("@Name") != name]
    return f"removed item {name}"


def _connect(store: Store, definition: dict[str, Any], production: str,
             edit: dict[str, Any]) -> str:
    name = str(edit.get("item") or "")
    entry = _entry(definition, name, production)
    setting = str(edit.get("setting") or "")
    info = _item_rows(store, definition, name)
    rows = {r["name"]: r for r in info["host"] if r["widget"]["kind"] == "item"
            and r["widget"]["targets"]}
    row = rows.get(setting)
    if row is None:
        raise InvalidEdit(f"{setting[:60] or '(none)'} is not a target setting of {name}"
                          + (f" (it has {', '.join(sorted(rows))})" if rows else
                             " (it sends to no target)"))
    targets = edit.get("targets") or []
    if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
        raise InvalidEdit("targets must be a list of item names")
    chosen = [t.strip() for t in targets if t.strip()]
    if name in chosen:
        raise InvalidEdit(f"item {name} cannot send to itself")
    text = ",".join(dict.fromkeys(chosen))
    if why := check_value(row, text, _kinds(store, definition), production):
        raise InvalidEdit(why)
    settings = entry.get("Setting") or []
    settings = [settings] if isinstance(settings, dict) else list(settings)
    settings = [s for s in settings if not (s.get("@Target", "Host") == "Host"
                                            and s.get("@Name") == setting)]
    settings.append({"@Target": "Host", "@Name": setting, "#text": text})
    entry["Setting"] = settings
    return f"{name} {setting} set to {', '.join(item_names(text)) or '(none)'}"


def check_edit(store: Store, production: str, edit: dict[str, Any]) -> dict[str, Any]:
    """Validate ``edit`` of ``production``: ``{"desired", "base", "summary", "route_ports"}``
    (the whole new definition, the fingerprint of the one it was made from, one line saying
    what changes, and each item's target settings); InvalidEdit says why not, in one line."""
    check_name(PRODUCTION, production, InvalidEdit)
    if not isinstance(edit, dict) or edit.get("action") not in ACTIONS:
        raise InvalidEdit(f"the edit must be one of {', '.join(ACTIONS)}")
    current = store.get_production(production)
    if current is None:
        raise UnknownProduction(f"production {production} does not exist in namespace "
                                f"{store.namespace}")
    registry.add_classpaths(store.list_classpaths())
    definition = copy.deepcopy(current)
    action = edit["action"]
    if action == "add":
        summary = _add(store, definition, production, edit)
    elif action == "copy":
        summary = _copy(definition, production, edit)
    elif action == "remove":
        summary = _remove(definition, production, edit)
    else:
        summary = _connect(store, definition, production, edit)
    ports: dict[str, list[str]] = {}
    for item in parse_production(definition).items:
        rows = with_editors(item_settings(store, item)["host"])
        ports[item.name] = [r["name"] for r in rows if r["widget"]["kind"] == "item"]
    return {"desired": definition, "base": fingerprint(current), "summary": summary,
            "route_ports": ports}


def apply_edit(store: Store, production: str, checked: dict[str, Any],
               backups: str | None = None) -> dict[str, Any]:
    """Save a ``check_edit`` answer through the change plan: a plan from the stored definition
    to the desired one, applied (destructive operations included: the user asked for them)
    with a backup written first. Refused if the production changed since it was checked."""
    current = store.get_production(production)
    if fingerprint(current) != checked.get("base"):
        raise PlanError(f"production {production} changed while the edit was checked; "
                        "reload the page and try again")
    desired = checked["desired"]
    ports = {name: set(names) for name, names in (checked.get("route_ports") or {}).items()}
    plan = plan_exports(production, desired, current, ports, namespace=store.namespace,
                        source=SOURCE)
    from iop.production.deploy import apply_plan

    result = apply_plan(store, plan, allow_destructive=True,
                        backup_dir=backups or backup_dir(store.namespace), check_unbound=False)
    running = store.get_applied(production)
    stored = store.get_production(production)
    return {"production": production, "summary": checked.get("summary", ""),
            "applied": len(result.applied), "backup": result.backup,
            "backup_id": os.path.basename(result.backup or ""),
            "updated_running": result.updated_running,
            "update_needed": bool(running is not None and not result.updated_running
                                  and json.dumps(running, sort_keys=True)
                                  != json.dumps(stored, sort_keys=True))}


def backups(namespace: str, production: str, limit: int = 10,
            folder: str | None = None) -> list[dict[str, Any]]:
    """The newest backups of ``production`` the portal's applies wrote: id, time, summary."""
    folder = folder or backup_dir(namespace)
    if not os.path.isdir(folder):
        return []
    found = []
    for name in sorted((n for n in os.listdir(folder) if _BACKUP_ID.match(n)),
                       key=lambda n: _written(folder, n), reverse=True):
        try:
            with open(os.path.join(folder, name, "manifest.json"), encoding="utf-8") as fh:
                manifest = json.load(fh)
            with open(os.path.join(folder, name, "plan.json"), encoding="utf-8") as fh:
                plan = json.load(fh)
        except (OSError, ValueError):
            continue
        if not isinstance(manifest, dict) or manifest.get("production") != production:
            continue
        operations = plan.get("operations") if isinstance(plan, dict) else None
        found.append({"id": name, "created": str(manifest.get("created") or ""),
                      "path": os.path.join(folder, name),
                      "operations": len(operations) if isinstance(operations, list) else 0})
        if len(found) >= limit:
            break
    return found


def _written(folder: str, name: str) -> tuple[str, int]:
    """A backup's place in time: its UTC stamp (to the second), then when its folder was made
    (two edits in one second differ there, not in the name's fingerprint)."""
    try:
        made = os.stat(os.path.join(folder, name, "manifest.json")).st_mtime_ns
    except OSError:
        made = 0
    return name[:16], made


def rollback(store: Store, production: str, backup_id: str,
             folder: str | None = None) -> dict[str, Any]:
    """Restore ``production`` from the portal backup ``backup_id`` (a name, never a path)."""
    if not isinstance(backup_id, str) or not _BACKUP_ID.match(backup_id):
        raise InvalidEdit(f"{str(backup_id)[:60]!r} is not a backup of this portal")
    path = os.path.join(folder or backup_dir(store.namespace), backup_id)
    from iop.production.apply import read_backup
    from iop.production.deploy import rollback_backup

    manifest, _ = read_backup(path)
    if manifest.get("production") != production:
        raise InvalidEdit(f"backup {backup_id} is of production {manifest.get('production')}, "
                          f"not {production}")
    return rollback_backup(store, path, allow_destructive=True)
