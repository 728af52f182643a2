"""The message viewer (filters, keyset pages, resend), one message (header, body, contents)
and a session's visual trace."""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.responses import RedirectResponse, Response

from iop.errors import IopError
from iop.server.portal.diagrams import trace_diagram
from iop.server.portal.session_banner import session_banner
from iop.server.portal.web import Page, first

FILTERS = ("since", "until", "source", "target", "status", "type", "body_class", "session_id",
           "text")
PAGE_SIZE = 50


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None


async def messages(page: Page) -> Response:
    started = time.perf_counter()
    query = page.request.query_params
    filters = {k: query.get(k, "").strip() for k in FILTERS if query.get(k, "").strip()}
    before, after = _int(query.get("before")), _int(query.get("after"))
    error = None
    result: dict[str, Any] = {"messages": [], "has_older": False, "has_newer": False}
    try:
        result = await page.call("search_messages", filters, before, after, PAGE_SIZE)
    except IopError as exc:  # said above the (empty) list
        error = str(exc)
    choices = await page.call("message_choices")
    rows = result["messages"]
    older = page.url("messages", before=rows[-1]["id"], **filters) \
        if rows and result["has_older"] else None
    newer = page.url("messages", after=rows[0]["id"], **filters) \
        if rows and result["has_newer"] else None
    return page.render("messages.html", active="messages", rows=rows, filters=filters,
                       choices=choices, error=error, older=older, newer=newer,
                       newest=page.url("messages", **filters) if before or after else None,
                       took=f"{(time.perf_counter() - started) * 1000:.0f} ms")


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """A body's fields as (dotted name, text) rows for the Body view."""
    if isinstance(value, dict) and value:
        rows = []
        for key, inner in value.items():
            rows += _flatten(inner, f"{prefix}.{key}" if prefix else str(key))
        return rows
    if isinstance(value, list) and value and prefix:
        rows = []
        for index, inner in enumerate(value):
            rows += _flatten(inner, f"{prefix}[{index}]")
        return rows
    text = value if isinstance(value, str) else json.dumps(value)
    return [(prefix or "(value)", text)]


async def message(page: Page) -> Response:
    message_id = _int(page.request.path_params.get("id"))
    view = page.request.query_params.get("view", "header")
    found = await page.call("message", message_id or 0)
    body_text = found.get("body")
    fields: list[tuple[str, str]] = []
    pretty = body_text or ""
    if body_text:
        try:
            parsed = json.loads(body_text)
            fields = _flatten(parsed)
            pretty = json.dumps(parsed, indent=2, ensure_ascii=False)
        except ValueError:
            fields = [("(text)", body_text)]
    return page.render("message.html", active="messages", m=found["header"], view=view,
                       fields=fields, contents=pretty, has_body=body_text is not None)


async def resend(page: Page) -> Response:
    form = page.request.state.form
    ids = [int(v) for v in form.get("ids", []) if v.isdigit()]
    back = first(form, "back") or page.url("messages")
    if not back.startswith(f"/ns/{page.namespace}/"):
        back = page.url("messages")
    if not ids:
        page.session.flash("error", "Select the messages to resend first (tick their boxes).")
    else:
        try:
            done = await page.call("resend", ids, first(form, "new_session") == "1",
                                   page.user.name)
            listing = ", ".join(f"#{d['original']} → #{d['resent']}" for d in done)
            page.session.flash("ok", f"Resent {len(done)} message(s): {listing}.")
        except IopError as exc:
            page.session.flash("error", str(exc))
    return RedirectResponse(back, status_code=303)


async def trace(page: Page) -> Response:
    session_id = _int(page.request.path_params.get("session"))
    found = await page.call("trace", session_id or 0)
    # Hosts appear in the order the session reached them: its first source (a service or
    # the testing service) on the left, as in a sequence diagram.
    diagram = trace_diagram(found["messages"], {})
    banner = session_banner(found["messages"], found["log"])
    return page.render("trace.html", active="messages", session_id=found["session_id"],
                       messages=found["messages"], log=found["log"], diagram=diagram,
                       errors=banner["failed"], banner=banner)
