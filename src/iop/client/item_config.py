"""A production's configuration as the portal's diagram and settings forms need it, and the
validated save of one item's configuration.

Both import the items' classes (through the registry) to know their settings, so the server
runs them in an isolated child (iop.server.isolated), never in its own process.
"""

from __future__ import annotations

import json
from typing import Any

from iop.client import production_settings
from iop.components.settings import coerce_setting_value
from iop.components.widgets import (
    check_charset,
    check_schedule,
    item_names,
    widget_for,
)
from iop.engine import registry
from iop.engine.config import parse_production
from iop.engine.errors import EngineError, UnknownItem, UnknownProduction
from iop.engine.introspect import item_settings
from iop.engine.outcomes.reply_code_actions import BadReplyCodeActions, ReplyCodeActions
from iop.names import ITEM, PRODUCTION, check_name
from iop.production.values import bool_text
from iop.store.base import Store

_TARGET_NAMES = ("TargetConfigNames", "TargetConfigName")
# The engine's own settings whose values have limits beyond their type; a negative
# threshold or interval would make the engine spin or alert on every check.
_AT_LEAST = {"RetryInterval": 0.0, "QueueCountAlert": 0.0, "QueueWaitAlert": 0.0,
             "InactivityTimeout": 0.0, "AlertRetryGracePeriod": 0.0, "FailureTimeout": -1.0}
REPLY_CODE_ACTIONS_HINT = ("code=actions, comma-separated · codes: E E#<status> E*<text> X * · "
                           "actions: C W R S D F")
MAX_POOL_SIZE = 100
MAX_COMMENT = 2000


class InvalidConfiguration(EngineError):
    """A save that would store a value the item cannot run with; nothing was saved."""


def parse_pool_size(value: Any) -> int | None:
    """A pool size as typed (``" 2"``, ``2``), or None when it is no whole number from 0 to
    MAX_POOL_SIZE."""
    try:
        pool = int(str(value).strip())
    except ValueError:
        return None
    return pool if 0 <= pool <= MAX_POOL_SIZE else None


def parse_flag(value: Any) -> bool:
    """A tick box's or a form's on/off value: a bool, or 1 / true / yes / on (any case)."""
    return value if isinstance(value, bool) else \
        str(value).strip().lower() in ("1", "true", "yes", "on")


def _definition(store: Store, production: str) -> dict[str, Any]:
    definition = store.get_production(production) if production else None
    if definition is None:
        raise UnknownProduction(f"production {production or '(none)'} does not exist in "
                                f"namespace {store.namespace}")
    return definition


def with_editors(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Settings rows (item_settings) with the editor (``widget``) each is shown with."""
    for row in rows:
        widget = widget_for(row.get("control"), row.get("python_type") or "str",
                            bool(row.get("is_target")) or row["name"] in _TARGET_NAMES,
                            row.get("category"))
        row["widget"] = {"kind": widget.kind, "targets": widget.targets, "multi": widget.multi}
        if row["name"] == "ReplyCodeActions" and widget.kind == "text":
            row["widget"]["kind"] = "reply_actions"
            row["hint"] = REPLY_CODE_ACTIONS_HINT
    return rows


def configuration(store: Store, production: str) -> dict[str, Any]:
    """Items (kind, flags, settings with their editors, routes) of ``production``."""
    config = parse_production(_definition(store, production))
    registry.add_classpaths(store.list_classpaths())
    names = {item.name for item in config.items}
    items = []
    for item in config.items:
        info = item_settings(store, item)
        host, adapter = with_editors(info["host"]), with_editors(info["adapter"])
        targets: list[str] = []
        for row in host:
            if row["widget"]["kind"] != "item":
                continue
            value = row["value"] if row["value"] is not None else row["default"]
            for name in item_names(value if isinstance(value, str) else ""):
                if name in names and name not in targets:
                    targets.append(name)
        items.append({
            "name": item.name, "class_name": item.class_name, "kind": info["kind"],
            "adapter_class_name": info["adapter_class_name"], "enabled": item.enabled,
            "pool_size": item.pool_size, "comment": item.comment, "category": item.category,
            "schedule": item.schedule, "foreground": item.foreground,
            "connections": targets, "host": host, "adapter": adapter, "error": info["error"],
        })
    return {"production": config.name, "testing_enabled": config.testing_enabled,
            "actor_pool_size": config.actor_pool_size, "settings": config.settings,
            "production_settings": production_settings.rows(config.settings), "items": items}


def _raw_item(definition: dict[str, Any], item: str, production: str) -> dict[str, Any]:
    body = definition.get("Production", definition)
    items = body.get("Item") or []
    if not isinstance(items, list):
        items = body["Item"] = [items]
    for entry in items:
        if entry.get("@Name") == item:
            return entry  # type: ignore[no-any-return]
    raise UnknownItem(f"item {item} is not in production {production}")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return "" if value is None else str(value)


def check_value(row: dict[str, Any], text: str, config_items: dict[str, str],
                production: str) -> str | None:
    """Why ``text`` cannot be stored for the setting ``row``, or None."""
    name = row["name"]
    try:
        value = coerce_setting_value(row.get("python_type") or "str", text, name=name)
    except ValueError as exc:
        return str(exc)
    if row.get("required") and (value is None or value == "") \
            and row.get("default") in (None, ""):
        return f"setting {name!r} is required"
    kind = row["widget"]["kind"]
    if kind == "reply_actions":
        try:
            ReplyCodeActions(text)
        except BadReplyCodeActions as exc:
            return str(exc)
    if name in _AT_LEAST and isinstance(value, (int, float)) and value < _AT_LEAST[name]:
        return f"setting {name!r} must be {_AT_LEAST[name]:g} or more, got {text.strip()!r}"
    if kind == "item" and text.strip():
        chosen = item_names(text)
        if len(chosen) > 1 and not row["widget"]["multi"]:
            return f"setting {name!r} takes one item, got {len(chosen)}"
        for target in chosen:
            if target not in config_items:
                return f"setting {name!r}: {target} is not an item of production {production}"
            if row["widget"]["targets"] and config_items[target] == "service":
                return f"setting {name!r}: {target} is a business service and cannot receive " \
                       "messages"
    if kind == "schedule":
        return check_schedule(text)
    if kind == "charset":
        return check_charset(text)
    return None


def _same_as_default(row: dict[str, Any], text: str) -> bool:
    default = row.get("default")
    if default is None:
        return text == ""
    try:
        return bool(coerce_setting_value(row.get("python_type") or "str", text) == default)
    except ValueError:
        return False


def _apply_settings(entry: dict[str, Any], target: str, rows: list[dict[str, Any]],
                    changes: dict[str, Any]) -> list[str]:
    """Write ``changes`` of one target (Host/Adapter) into the item's Setting list."""
    settings = entry.get("Setting") or []
    if not isinstance(settings, list):
        settings = [settings]
    by_name = {row["name"]: row for row in rows}
    changed = []
    for name, value in changes.items():
        text = _text(value)
        current = next((s for s in settings if s.get("@Target", "Host") == target
                        and s.get("@Name") == name), None)
        row = by_name.get(name)
        if row is not None and row.get("default") is not None and _same_as_default(row, text):
            if current is not None:  # back to the class default: stop overriding it
                settings.remove(current)
                changed.append(name)
            continue
        if current is None:
            settings.append({"@Target": target, "@Name": name, "#text": text})
            changed.append(name)
        elif current.get("#text", "") != text:
            current["#text"] = text
            changed.append(name)
    entry["Setting"] = settings
    return changed


def save_item(store: Store, production: str, item: str, changes: dict[str, Any],
              running: tuple[str, str]) -> dict[str, Any]:
    """Validate ``changes`` to ``item`` and store them; raise InvalidConfiguration otherwise.

    ``changes`` may hold ``enabled``, ``pool_size``, ``comment``, ``schedule``, ``category``
    and ``host`` / ``adapter`` maps of setting name → text. ``running`` is the namespace's
    (production, status), to tell whether the running production now needs an update.
    """
    check_name(PRODUCTION, production, InvalidConfiguration)
    check_name(ITEM, item, InvalidConfiguration)
    definition = _definition(store, production)
    entry = _raw_item(definition, item, production)
    info = configuration(store, production)
    current = next(i for i in info["items"] if i["name"] == item)
    kinds = {i["name"]: i["kind"] for i in info["items"]}
    problems: list[str] = []
    changed: list[str] = []

    unknown = set(changes) - {"enabled", "pool_size", "comment", "schedule", "category",
                              "host", "adapter"}
    if unknown:
        problems.append(f"unknown field(s): {', '.join(sorted(unknown))}")
    if "enabled" in changes:
        flag = parse_flag(changes["enabled"])
        if bool_text(flag) != str(entry.get("@Enabled", "true")).lower():
            changed.append("Enabled")
        entry["@Enabled"] = bool_text(flag)
    if "pool_size" in changes:
        pool = parse_pool_size(changes["pool_size"])
        if pool is None:
            problems.append(f"pool size must be a whole number from 0 to {MAX_POOL_SIZE}, got "
                            f"{changes['pool_size']!r}")
        else:
            if str(pool) != str(entry.get("@PoolSize", "1")):
                changed.append("PoolSize")
            entry["@PoolSize"] = str(pool)
    for key, attribute, limit in (("comment", "@Comment", MAX_COMMENT),
                                  ("category", "@Category", 200), ("schedule", "@Schedule", 2000)):
        if key in changes:
            text = _text(changes[key])
            if len(text) > limit:
                problems.append(f"{key} is longer than {limit} characters")
                continue
            if key == "schedule" and (why := check_schedule(text)):
                problems.append(f"schedule: {why}")
                continue
            if text != entry.get(attribute, ""):
                changed.append(attribute[1:])
            entry[attribute] = text

    for target, key in (("Host", "host"), ("Adapter", "adapter")):
        wanted = changes.get(key) or {}
        if not isinstance(wanted, dict):
            problems.append(f"{key} settings must be an object of name → value")
            continue
        rows = current[key]
        by_name = {row["name"]: row for row in rows}
        for name, value in wanted.items():
            row = by_name.get(name)
            if row is not None and (why := check_value(row, _text(value), kinds, production)):
                problems.append(why)
        if not problems:
            changed += _apply_settings(entry, target, rows, wanted)

    if problems:
        raise InvalidConfiguration(f"item {item} was not saved: " + "; ".join(problems))
    if changed:
        store.save_production(production, definition)
    name, status = running
    applied = store.get_applied(production) if name == production else None
    live = name == production and status in ("running", "troubled", "suspended")
    return {"production": production, "item": item, "changed": changed,
            "update_needed": bool(live and applied is not None
                                  and json.dumps(applied, sort_keys=True)
                                  != json.dumps(definition, sort_keys=True))}
