"""Productions (status and lifecycle buttons) and the production configuration (diagram and
the selected item's settings form), plus the pickers' file listing."""

from __future__ import annotations

import socket
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from iop.client.lights import LIGHTS, MEANING
from iop.components.settings import PYTHON_ATTRIBUTES, Category
from iop.components.widgets import CHARACTER_SETS, FRAMINGS
from iop.errors import EngineError, IopError
from iop.server import roles
from iop.server.portal import files, pages_items
from iop.server.portal.diagrams import config_diagram
from iop.server.portal.pages_monitor import REFRESH_SECONDS
from iop.server.portal.web import Page, first, last

ACTIONS = {"start": "started", "stop": "stopped", "restart": "restarted", "update": "updated",
           "kill": "killed", "recover": "recovered"}
_PRODUCTION_SECTIONS = ("Basic", "Alerting", "Purge", "Other")
_SECTION_ORDER = [Category.INFO, Category.BASIC, Category.CONNECTION, Category.ADDITIONAL,
                  Category.ALERTING, Category.DEV]


async def productions(page: Page) -> Response:
    rows = await page.call("productions_overview")
    return page.render("productions.html", active="productions", productions=rows)


async def production_action(page: Page) -> Response:
    form = page.request.state.form
    action, name = first(form, "action"), first(form, "production")
    if action not in ACTIONS:
        page.session.flash("error", f"unknown action {action!r}")
        return page.redirect("productions")
    try:
        if action == "start":
            await page.call("start", name or None)
        elif action == "restart":
            await page.call("restart")
        elif action == "recover":
            done = await page.call("recover")
            page.session.flash("ok", f"Production {done.get('production') or name} recovered: "
                                     f"its jobs were ended and their messages freed; it is now "
                                     f"{done.get('status')}.")
            return _back(page, form, name)
        else:
            await page.call(action)
        page.session.flash("ok", f"Production {name or ''} {ACTIONS[action]}.".replace("  ", " "))
    except IopError as exc:
        page.session.flash("error", f"{action} failed: {exc}")
    return _back(page, form, name)


def _back(page: Page, form: dict[str, list[str]], name: str) -> Response:
    if first(form, "back") == "config":
        return page.redirect("config", production=name, item=first(form, "item") or None)
    return page.redirect("productions")


def _sections(rows: list[dict[str, Any]], target: str) -> list[tuple[str, list[dict[str, Any]]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        row = dict(row, target=target, field=f"{target.lower()}:{row['name']}")
        grouped.setdefault(row.get("section") or PYTHON_ATTRIBUTES, []).append(row)
    return list(grouped.items())


def settings_groups(item: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Host and adapter settings together, grouped by section in IRIS's order (Info, Basic,
    Connection, Additional, Alerting, Dev, custom sections, then Python Attributes)."""
    merged: dict[str, list[dict[str, Any]]] = {}
    for target, key in (("Host", "host"), ("Adapter", "adapter")):
        for section, rows in _sections(item.get(key) or [], target):
            merged.setdefault(section, []).extend(rows)

    def rank(section: str) -> tuple[int, str]:
        if section in _SECTION_ORDER:
            return (_SECTION_ORDER.index(section), "")
        return (len(_SECTION_ORDER) + (1 if section == PYTHON_ATTRIBUTES else 0), section)

    return sorted(merged.items(), key=lambda kv: rank(kv[0]))


def _interfaces() -> list[str]:
    try:
        return [name for _, name in socket.if_nameindex()]
    except OSError:
        return []


def shown_value(row: dict[str, Any]) -> str:
    value = row["value"] if row.get("value") is not None else row.get("default")
    if isinstance(value, bool):
        return "1" if value else "0"
    return "" if value is None else str(value)


async def configuration(page: Page, submitted: dict[str, Any] | None = None,
                        error: str | None = None, edit_error: str | None = None) -> Response:
    query = page.request.query_params
    names = [p["name"] for p in await page.call("productions_overview")]
    production = query.get("production") or (submitted or {}).get("production") \
        or await page.call("get_default") or (names[0] if names else "")
    if not production or production not in names:
        return page.render("config.html", active="config", production=production,
                           productions=names, config=None, status=400 if submitted else 200,
                           missing=bool(production))
    try:
        config = await page.call("configuration", production)
    except EngineError as exc:
        return page.render("config.html", active="config", production=production,
                           productions=names, config=None, load_error=str(exc))
    selected_name = (submitted or {}).get("item") or query.get("item")
    items = config["items"]
    selected = next((i for i in items if i["name"] == selected_name), None)
    jobs = await page.call("jobs")
    running: dict[str, int] = {}
    for job in jobs:
        if job["state"] == "running":
            running[job["item"]] = running.get(job["item"], 0) + 1
    overview = {p["name"]: p for p in await page.call("productions_overview")}
    try:
        snap = await page.call("health", production)
    except IopError:  # the diagram is still drawn, without lights
        snap = None
    health = {i["name"]: i for i in snap["items"]} if snap else None
    candidates = [(i["name"], i["kind"]) for i in items]
    credentials = {shown_value(r) for i in items for r in i["host"] + i["adapter"]
                   if r.get("widget", {}).get("kind") == "credentials" and shown_value(r)}
    if roles.may(page.user, page.namespace, roles.DEVELOPER):  # who may list the store's
        credentials |= {entry["name"] for entry in await page.call("credentials")}
    tab = query.get("tab") or "settings"
    tab = tab if tab in pages_items.TABS else "settings"
    if submitted:
        tab = "settings"
    item_panel = await pages_items.panel(page, production, selected, tab,
                                         bool(config.get("testing_enabled"))) \
        if selected else None
    # A save refused for an item that is not shown (a bad or unknown name) still says why.
    for_production = bool(submitted and "production_values" in submitted) or selected is None
    developer = roles.may(page.user, page.namespace, roles.DEVELOPER)
    return page.render(
        "config.html", status=400 if error or edit_error else 200, active="config", production=production,
        productions=names, config=config, selected=selected, state=overview.get(production),
        diagram=config_diagram(items, selected_name, running, health), snap=snap,
        lights=LIGHTS, meanings=MEANING, refresh=REFRESH_SECONDS,
        groups=settings_groups(selected) if selected else [],
        production_groups=production_groups(config.get("production_settings") or []),
        posted=(submitted or {}).get("values"),
        posted_production=(submitted or {}).get("production_values"),
        error=None if for_production else error,
        production_error=error if for_production else None,
        candidates=candidates, credentials=sorted(credentials), charsets=CHARACTER_SETS,
        framings=FRAMINGS, interfaces=_interfaces(), shown_value=shown_value,
        panel=item_panel, health_of=(health or {}).get(selected_name or ""),
        edit_error=edit_error, edit_posted=(submitted or {}).get("edit") or {},
        host_classes=await page.call("host_classes") if developer else [],
        backups=await page.call("production_backups", production) if developer else [],
        target_rows=[r for r in (selected or {}).get("host", [])
                     if r["widget"]["kind"] == "item" and r["widget"]["targets"]])


def production_groups(rows: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Production settings by section: Basic, Alerting, Purge, then any other."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row.get("section") or "Other", []).append(row)
    return sorted(grouped.items(), key=lambda kv: _PRODUCTION_SECTIONS.index(kv[0])
                  if kv[0] in _PRODUCTION_SECTIONS else len(_PRODUCTION_SECTIONS))


async def configuration_page(page: Page) -> Response:
    return await configuration(page)


def changes_from(form: dict[str, list[str]]) -> dict[str, Any]:
    """The save_item changes a settings form posted: item fields and every setting field.

    A checkbox posts a hidden "0" then, when ticked, "1": the last value wins. A multiple
    item selector posts one value per ticked item: they are joined with commas."""
    changes: dict[str, Any] = {"enabled": last(form, "enabled", "0"),
                               "pool_size": first(form, "pool_size"),
                               "comment": first(form, "comment"),
                               "category": first(form, "category"),
                               "schedule": first(form, "schedule"), "host": {}, "adapter": {}}
    for key, values in form.items():
        target, _, name = key.partition(":")
        if target not in ("host", "adapter") or not name:
            continue
        multi = f"multi:{key}" in form
        if multi:
            value = ",".join(v for v in values if v)
        else:
            value = values[-1] if len(values) > 1 and values[0] == "0" else values[0]
        changes[target][name] = value
    for key in form:
        if key.startswith("multi:") and key[len("multi:"):] not in form:
            target, _, name = key[len("multi:"):].partition(":")
            changes[target][name] = ""  # every item unticked
    return changes


async def save_configuration(page: Page) -> Response:
    form = page.request.state.form
    production, item = first(form, "production"), first(form, "item")
    changes = changes_from(form)
    try:
        result = await page.call("save_item", production, item, changes)
    except IopError as exc:
        submitted = {"production": production, "item": item, "values": {
            k: (",".join(v) if f"multi:{k}" in form else v[-1]) for k, v in form.items()}}
        return await configuration(page, submitted, str(exc))
    changed = result.get("changed") or []
    if changed:
        page.session.flash("ok", f"Saved {item}: {', '.join(changed)} changed.")
    else:
        page.session.flash("ok", f"Nothing to save: {item} already had these values.")
    if result.get("update_needed"):
        page.session.flash("update", "The running production still uses the previous "
                                     "configuration: update it to apply the change.")
    return page.redirect("config", production=production, item=item)


async def save_production_settings(page: Page) -> Response:
    """The production settings form (shown when no item is selected): all or nothing."""
    form = page.request.state.form
    production = first(form, "production")
    # A checkbox posts a hidden "0" then, when ticked, "1": the last value wins.
    changes = {key[len("setting:"):]: last(form, key) for key in form
               if key.startswith("setting:")}
    try:
        result = await page.call("save_production_settings", production, changes)
    except IopError as exc:
        return await configuration(page, {"production": production,
                                          "production_values": changes}, str(exc))
    changed = result.get("changed") or []
    page.session.flash("ok", f"Saved production {production}: {', '.join(changed)} changed."
                       if changed else f"Nothing to save: production {production} already had "
                                       "these settings.")
    if result.get("update_needed"):
        page.session.flash("update", "The running production still uses the previous "
                                     "configuration: update it to apply the change.")
    return page.redirect("config", production=production)


async def file_listing(page: Page) -> Response:
    query = page.request.query_params
    roots = page.portal.roots.for_namespace(page.namespace)
    found = await run_in_threadpool(files.listing, roots, query.get("path"),
                                    query.get("kind") == "file")
    return JSONResponse(found)
