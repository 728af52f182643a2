"""Production-level settings (the export shape's top-level ``Setting`` list, ``@Target``
"Production"): what each one means and how it is edited, and the validated save the
portal's production settings form and ``PUT /api/iop/production/settings`` use.

Nothing here imports user code, so the server runs it in its own process.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from iop.engine.config import parse_production
from iop.engine.errors import EngineError, UnknownProduction
from iop.production.export_shape import PRODUCTION_TARGET
from iop.store.base import Store

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


class InvalidProductionSettings(EngineError):
    """A save that would store a production setting the engine cannot use; nothing was saved."""


@dataclass(frozen=True)
class ProductionSetting:
    """One production setting as the settings form shows it."""

    name: str
    kind: str  # number, bool, item or text: the editor
    default: str
    section: str
    description: str
    whole: bool = False  # number: a whole number of seconds (IRIS stores integers)


KNOWN = (
    ProductionSetting("ShutdownTimeout", "number", "120", "Basic",
                      "Seconds a graceful stop waits for jobs to finish their current message "
                      "before it ends them", whole=True),
    ProductionSetting("UpdateTimeout", "number", "10", "Basic",
                      "Seconds an update waits for the changed items to stop and start again",
                      whole=True),
    ProductionSetting("PurgeKeepDays", "number", "0", "Purge",
                      "Once an hour, purge complete sessions older than this many days; "
                      "0 never"),
    ProductionSetting("PurgeBodies", "bool", "0", "Purge",
                      "The scheduled purge deletes the message bodies too"),
    ProductionSetting("FlushBeforeAcknowledge", "bool", "1", "Basic",
                      "Flush the store to disk before a service input, Director call, test "
                      "or resend is acknowledged; 0 is faster but an OS crash or power cut "
                      "may lose messages already acknowledged"),
    ProductionSetting("StoreCheckSeconds", "number", "3600", "Basic",
                      "Seconds between two quick integrity checks of the store by the "
                      "supervisor (SQLite); a damaged store raises an alert; 0 never"),
    ProductionSetting("AlertNotificationManager", "item", "", "Alerting",
                      "Item that manages alerts (kept for IRIS; iop-engine sends every alert "
                      "to the Ens.Alert item)"),
    ProductionSetting("AlertNotificationOperation", "item", "", "Alerting",
                      "Item that sends alert notifications (kept for IRIS)"),
    ProductionSetting("AlertNotificationRecipients", "text", "", "Alerting",
                      "Who is notified of alerts, comma-separated (kept for IRIS)"),
    ProductionSetting("AlertActionWindow", "number", "60", "Alerting",
                      "Minutes an alert stays open for action (kept for IRIS)", whole=True),
    ProductionSetting("StoreOutageAlertSeconds", "number", "60", "Alerting",
                      "A store outage (database restart, unreachable server, full disk) "
                      "longer than this many seconds raises an alert once the store is back"),
    ProductionSetting("StoreOutageStopSeconds", "number", "0", "Alerting",
                      "A store outage longer than this many seconds (and than "
                      "StoreOutageAlertSeconds) stops the production cleanly; the stop is "
                      "recorded once the store is back; 0 never"),
)
_BY_NAME = {s.name: s for s in KNOWN}


def _body(definition: dict[str, Any]) -> dict[str, Any]:
    body = definition.get("Production")
    if body is None:
        body = next(iter(definition.values()))
    if not isinstance(body, dict):
        raise EngineError("production definition must be an object")
    return body


def _entries(body: dict[str, Any]) -> list[dict[str, Any]]:
    settings = body.get("Setting") or []
    return settings if isinstance(settings, list) else [settings]


def rows(settings: dict[str, str]) -> list[dict[str, Any]]:
    """Every known production setting, then any other one the definition holds, each with
    its editor, default, section and configured value (None when left at the default)."""
    found = [{"name": s.name, "kind": s.kind, "default": s.default, "section": s.section,
              "description": s.description, "whole": s.whole, "value": settings.get(s.name)}
             for s in KNOWN]
    for name, value in settings.items():
        if name not in _BY_NAME:
            found.append({"name": name, "kind": "text", "default": "", "section": "Other",
                          "description": "", "whole": False, "value": value})
    return found


def _check(setting: ProductionSetting, text: str, items: set[str]) -> tuple[str, str | None]:
    """(normalised text, why it cannot be stored or None)."""
    name = setting.name
    if setting.kind == "bool":
        lowered = text.strip().lower()
        if lowered not in _TRUE + _FALSE:
            return text, f"{name} must be 1 or 0, got {text!r}"
        return ("1" if lowered in _TRUE else "0"), None
    if setting.kind == "number":
        stripped = text.strip()
        if not stripped:
            return "", None
        try:
            number = float(stripped)
        except ValueError:
            return text, f"{name} must be a number, got {text!r}"
        if not math.isfinite(number) or number < 0:
            return text, f"{name} must be 0 or more, got {text!r}"
        if setting.whole:
            if number != int(number):
                return text, f"{name} must be a whole number, got {text!r}"
            return str(int(number)), None
        return (str(int(number)) if number == int(number) else stripped), None
    if setting.kind == "item":
        stripped = text.strip()
        if stripped and stripped not in items:
            return text, f"{name}: {stripped} is not an item of the production"
        return stripped, None
    return text.strip(), None


def save(store: Store, production: str, changes: dict[str, Any],
         running: tuple[str, str]) -> dict[str, Any]:
    """Validate ``changes`` (setting name → text) and store them in ``production``; raise
    InvalidProductionSettings naming every problem otherwise. A value equal to the default,
    or empty, removes the setting. ``running`` is the namespace's (production, status)."""
    definition = store.get_production(production) if production else None
    if definition is None:
        raise UnknownProduction(f"production {production or '(none)'} does not exist in "
                                f"namespace {store.namespace}")
    if not isinstance(changes, dict):
        raise InvalidProductionSettings("production settings must be an object of name → value")
    body = _body(definition)
    entries = _entries(body)
    configured = {str(e.get("@Name")): e for e in entries}
    items = {item.name for item in parse_production(definition).items}
    problems, wanted = [], {}
    for name, value in changes.items():
        text = "" if value is None else ("1" if value is True else "0" if value is False
                                         else str(value))
        setting = _BY_NAME.get(name)
        if setting is None:
            if name not in configured:
                problems.append(f"unknown production setting {name!r} (known: "
                                f"{', '.join(_BY_NAME)})")
                continue
            setting = ProductionSetting(name, "text", "", "Other", "")
        normalised, why = _check(setting, text, items)
        if why:
            problems.append(why)
        wanted[name] = (setting, normalised)
    if problems:
        raise InvalidProductionSettings(f"production {production} settings were not saved: "
                                        + "; ".join(problems))
    changed = []
    for name, (setting, text) in wanted.items():
        current = configured.get(name)
        if text == "" or (setting.default != "" and text == setting.default):
            if current is not None:
                entries.remove(current)
                changed.append(name)
            continue
        if current is None:
            entries.append({"@Target": PRODUCTION_TARGET, "@Name": name, "#text": text})
            changed.append(name)
        elif str(current.get("#text", "")) != text:
            current["#text"] = text
            changed.append(name)
    if changed:
        if entries:
            body["Setting"] = entries
        else:
            body.pop("Setting", None)
        store.save_production(production, definition)
    name, status = running
    applied = store.get_applied(production) if name == production else None
    live = name == production and status in ("running", "troubled", "suspended")
    return {"production": production, "changed": changed,
            "update_needed": bool(live and applied is not None
                                  and json.dumps(applied, sort_keys=True)
                                  != json.dumps(definition, sort_keys=True))}
