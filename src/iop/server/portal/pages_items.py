"""The selected item's panel on the configuration page: its actions (Test as IRIS's Testing
Service, Restart, Enable / Disable) and its Queue, Log and Messages tabs.

Actions answer JSON to the panel's script (the page updates in place) and, without it,
flash their outcome and go back to the panel.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from iop.engine.config import parse_production
from iop.errors import IopError
from iop.server import api, isolated
from iop.server.portal.web import Page, first

TABS = ("settings", "test", "queue", "log", "messages")
TAB_ROWS = 20  # rows a Queue, Log or Messages tab shows; the full lists are a link away


def refusal_without_testing(production: str, enabled: bool) -> str | None:
    """Why the Test action is refused (IRIS offers its Testing Service only when the
    production's TestingEnabled is set), or None."""
    if enabled:
        return None
    return (f"Testing is not enabled for production {production}: set its TestingEnabled "
            "(testing_enabled=True in its settings.py, or @TestingEnabled=\"true\") and "
            "migrate it again to test items from the portal.")


def _wants_json(page: Page) -> bool:
    return "application/json" in page.request.headers.get("accept", "")


def _answer(page: Page, production: str, item: str, tab: str, body: dict[str, Any],
            status: int = 200) -> Response:
    """JSON to the panel's script; else the outcome as a flash, back on the item's tab."""
    if _wants_json(page):
        return JSONResponse(body, status_code=status)
    page.session.flash("error" if "error" in body else "ok", body.get("error")
                       or body.get("message") or "")
    return page.redirect("config", production=production, item=item, tab=tab)


def _coerce(name: str, kind: str, text: str) -> Any:
    """A form field's text as its field's JSON value; ValueError names the field."""
    if kind == "bool":
        return text in ("1", "true", "on")
    if kind == "int":
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"field {name}: {text!r} is not a whole number") from None
    if kind == "float":
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"field {name}: {text!r} is not a number") from None
    if kind == "json":
        try:
            return json.loads(text)
        except ValueError as exc:
            raise ValueError(f"field {name}: not JSON ({exc})") from None
    return text


def body_from(form: dict[str, list[str]]) -> Any:
    """The test body a Test form posted: its JSON textarea, or its fields (an empty field
    keeps the class's default, a checkbox posts a hidden "0" then "1" when ticked)."""
    if first(form, "mode") == "json":
        return first(form, "body").strip() or None
    data: dict[str, Any] = {}
    for key, values in form.items():
        if not key.startswith("field:"):
            continue
        name = key[len("field:"):]
        kind = first(form, f"kind:{name}", "str")
        text = values[-1]
        if text == "" and kind != "str":
            continue
        data[name] = _coerce(name, kind, text)
    return data


async def _production_of(page: Page, production: str) -> tuple[str, bool]:
    """The production the action applies to and its TestingEnabled (the running one when
    none is named)."""
    if not production:
        production = (await page.call("status")).get("production") or ""
    definition = await run_in_threadpool(page.client.store.get_production, production) \
        if production else None
    enabled = definition is not None and parse_production(definition).testing_enabled
    return production, enabled


async def send_test(page: Page) -> Response:
    form = page.request.state.form
    production, item = first(form, "production"), first(form, "item")
    classname = first(form, "classname") or None
    production, enabled = await _production_of(page, production)
    refusal = refusal_without_testing(production, enabled)
    if refusal:
        return _answer(page, production, item, "test", {"error": refusal}, 409)
    try:
        body = body_from(form)
    except ValueError as exc:
        return _answer(page, production, item, "test", {"error": str(exc)}, 400)
    sessions: list[int] = []
    try:
        done = await run_in_threadpool(
            isolated.call, page.namespace, "test", api.TEST_SECONDS + 3, target=item,
            classname=classname, body=body, restart=False, timeout=api.TEST_SECONDS,
            on_sent=sessions.append)
    except IopError as exc:
        answer: dict[str, Any] = {"error": f"Test of {item} failed: {exc}"}
        if sessions:
            answer.update(session_id=sessions[0], trace=page.url(f"trace/{sessions[0]}"))
        return _answer(page, production, item, "test", answer, 400 if sessions else 422)
    session = sessions[0] if sessions else None
    answer = {"classname": done.get("classname") or "", "body": done.get("body") or "",
              "truncated": bool(done.get("truncated")), "session_id": session,
              "trace": page.url(f"trace/{session}") if session else None,
              "message": f"Tested {item}: response {done.get('classname') or '(none)'}"
                         + (f" in session {session}" if session else "") + "."}
    return _answer(page, production, item, "test", answer)


async def restart_item(page: Page) -> Response:
    """Restart the item's jobs alone (disabled then enabled, each applied at once, as
    ``iop``'s component restart does); its queue waits for the new jobs."""
    form = page.request.state.form
    production, item = first(form, "production"), first(form, "item")
    definition = await run_in_threadpool(page.client.store.get_production, production) \
        if production else None
    found = parse_production(definition).item(item) if definition is not None else None
    if found is not None and not found.enabled:  # a restart would enable it: say so instead
        return _answer(page, production, item, "settings", {
            "error": f"{item} is disabled in production {production}: Enable starts it"}, 409)
    try:
        await page.call("component", "restart", item)
    except IopError as exc:
        return _answer(page, production, item, "settings",
                       {"error": f"Restart of {item} failed: {exc}"}, 400)
    pids = await _pids(page, item)
    return _answer(page, production, item, "settings", {
        "pids": pids, "message": f"Restarted {item}: job(s) "
                                 f"{', '.join(str(p) for p in pids) or 'none running'}."})


async def enable_item(page: Page) -> Response:
    """Enable or disable the item in the stored production and apply it to the running one
    at once (``iop``'s component start / stop)."""
    form = page.request.state.form
    production, item = first(form, "production"), first(form, "item")
    enabled = first(form, "enabled") == "1"
    try:
        await page.call("component", "start" if enabled else "stop", item)
    except IopError as exc:
        return _answer(page, production, item, "settings",
                       {"error": f"{'Enable' if enabled else 'Disable'} of {item} failed: "
                                 f"{exc}"}, 400)
    pids = await _pids(page, item)
    return _answer(page, production, item, "settings", {
        "enabled": enabled, "pids": pids,
        "message": f"{item} {'enabled' if enabled else 'disabled'}"
                   f"{' and applied to the running production' if pids or not enabled else ''}."})


async def _pids(page: Page, item: str) -> list[int]:
    return [int(j["pid"]) for j in await page.call("jobs")
            if j["item"] == item and j["state"] == "running"]


async def panel(page: Page, production: str, item: dict[str, Any], tab: str,
                testing_enabled: bool) -> dict[str, Any]:
    """What the selected item's panel shows: its jobs, and the open tab's rows."""
    name = item["name"]
    found: dict[str, Any] = {"tab": tab, "pids": await _pids(page, name), "rows": [],
                             "testing_refusal": refusal_without_testing(production, testing_enabled),
                             "forms": None, "forms_error": None}
    if tab == "queue":
        rows = []
        for status in ("delivered", "queued"):
            result = await page.call("search_messages", {"target": name, "status": status},
                                     None, None, TAB_ROWS)
            rows += result["messages"]
        found["rows"] = rows[:TAB_ROWS]
    elif tab == "log":
        found["rows"] = await page.call("search_log", {"item": name}, None, None, TAB_ROWS)
    elif tab == "messages":
        received = await page.call("search_messages", {"target": name}, None, None, TAB_ROWS)
        sent = await page.call("search_messages", {"source": name}, None, None, TAB_ROWS)
        both = {m["id"]: m for m in received["messages"] + sent["messages"]}
        found["rows"] = sorted(both.values(), key=lambda m: m["id"], reverse=True)[:TAB_ROWS]
    elif tab == "test" and found["testing_refusal"] is None:
        try:
            found["forms"] = await page.call("message_forms", production, name)
        except IopError as exc:  # the JSON textarea alone still tests the item
            found["forms_error"] = str(exc)
    return found

