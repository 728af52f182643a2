"""The message viewer (filters, body conditions, count, order, page size, keyset pages,
CSV/JSON export, resend), one message (header, body, contents) and a session's visual
trace."""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.responses import PlainTextResponse, RedirectResponse, Response

from iop.client.operator import EXPORT_ROWS, parse_time
from iop.errors import IopError
from iop.server.portal import exports
from iop.server.portal.diagrams import trace_diagram
from iop.server.portal.exports import utc_iso
from iop.server.portal.web import SECURITY_HEADERS, Page, first

FILTERS = ("since", "until", "source", "target", "status", "type", "body_class", "session_id",
           "text", "where", "sort")
PAGE_SIZE = 50
PAGE_SIZES = (25, 50, 100, 200, 500)  # offered; any size from 1 to the largest is taken


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None


def _filters(page: Page) -> dict[str, str]:
    query = page.request.query_params
    found = {k: query.get(k, "").strip() for k in FILTERS if query.get(k, "").strip()}
    if found.get("sort") == "newest":
        del found["sort"]  # the default order: keep it out of the links
    return found


def _utc_input(text: str | None) -> str:
    """A time filter as the form's UTC field shows it (YYYY-MM-DDTHH:MM:SS), or the text as
    typed when it is not a time (the error above the list says so)."""
    try:
        epoch = parse_time(text or "", "time")
    except IopError:
        return text or ""
    return "" if epoch is None else utc_iso(epoch)[:19]


async def messages(page: Page) -> Response:
    started = time.perf_counter()
    query = page.request.query_params
    filters = _filters(page)
    before, after = _int(query.get("before")), _int(query.get("after"))
    size = max(1, min(PAGE_SIZES[-1], _int(query.get("size")) or PAGE_SIZE))
    shown = dict(filters, size=str(size) if size != PAGE_SIZE else "")
    error = None
    result: dict[str, Any] = {"messages": [], "has_older": False, "has_newer": False}
    counted: dict[str, Any] | None = None
    try:
        result = await page.call("search_messages", filters, before, after, size)
        if before is None and after is None and not result["has_older"]:
            # The whole result is on this first page: no second pass over the store.
            counted = {"count": len(result["messages"]), "capped": False}
        else:
            counted = await page.call("count_messages", filters)
    except IopError as exc:  # said above the (empty) list, in one line
        error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    choices = await page.call("message_choices")
    rows = result["messages"]
    ids = [m["id"] for m in rows]
    older = page.url("messages", before=min(ids), **shown) \
        if rows and result["has_older"] else None
    newer = page.url("messages", after=max(ids), **shown) \
        if rows and result["has_newer"] else None
    return page.render("messages.html", active="messages", rows=rows, filters=filters,
                       choices=choices, error=error, older=older, newer=newer,
                       first_page=page.url("messages", **shown) if before or after else None,
                       count=counted, size=size, sizes=PAGE_SIZES,
                       oldest_first=filters.get("sort") == "oldest", iso=utc_iso,
                       since_utc=_utc_input(filters.get("since")),
                       until_utc=_utc_input(filters.get("until")),
                       export_csv=page.url("messages/export", format="csv", **filters),
                       export_json=page.url("messages/export", format="json", **filters),
                       export_rows=EXPORT_ROWS,
                       took=f"{(time.perf_counter() - started) * 1000:.0f} ms")


async def export(page: Page) -> Response:
    """The search's result (the same filters, newest or oldest first) as CSV or JSON, at
    most EXPORT_ROWS messages."""
    kind = page.request.query_params.get("format", "csv")
    if kind not in ("csv", "json"):
        return PlainTextResponse("format must be csv or json\n", status_code=400,
                                 headers=SECURITY_HEADERS)
    filters = _filters(page)
    try:
        found = await page.call("export_messages", filters, EXPORT_ROWS)
    except IopError as exc:
        return PlainTextResponse(f"{str(exc).splitlines()[0]}\n", status_code=400,
                                 headers=SECURITY_HEADERS)
    text = exports.csv_text(found) if kind == "csv" else \
        exports.json_text(found, page.namespace, filters, EXPORT_ROWS)
    return exports.download(text, kind, page.namespace, SECURITY_HEADERS)


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
    errors = [m for m in found["messages"] if m["status"] == "error"]
    return page.render("trace.html", active="messages", session_id=found["session_id"],
                       messages=found["messages"], log=found["log"], diagram=diagram,
                       errors=errors)
