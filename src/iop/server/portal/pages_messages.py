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
from iop.server.portal import exports, hl7_view
from iop.server.portal.diagrams import duration, trace_diagram
from iop.server.portal.exports import utc_iso
from iop.server.portal.web import SECURITY_HEADERS, Page, first

FILTERS = ("since", "until", "source", "target", "status", "type", "body_class", "session_id",
           "text", "where", "sort")
PAGE_SIZE = 50
PAGE_SIZES = (25, 50, 100, 200, 500)  # offered; any size from 1 to the largest is taken
TRACE_PAGE = 100  # arrows per page of a trace: bounded work and a diagram one can scroll
ABOVE_EVERY_ID = 2**62  # a trace's ?before=last: the page before it is the session's last
PANEL_CHARS = 20_000  # of a body in the trace's message panel (the message page has it all)


def _id(text: str | None) -> int | None:
    """A message id from a query, or None (also for one no store could hold)."""
    found = _int(text)
    return found if found is not None and 0 <= found <= ABOVE_EVERY_ID else None


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


def _body_views(body_text: str | None) -> tuple[list[tuple[str, str]], str]:
    """A body's (fields, pretty JSON text); a body that is not JSON is one "(text)" field."""
    if not body_text:
        return [], body_text or ""
    try:
        parsed = json.loads(body_text)
    except ValueError:
        return [("(text)", body_text)], body_text
    return _flatten(parsed), json.dumps(parsed, indent=2, ensure_ascii=False)


async def _panel_context(page: Page, message_id: int) -> dict[str, Any]:
    """What the trace's message panel shows: the header and the body, cut at PANEL_CHARS."""
    found = await page.call("message", message_id)
    body_text = found.get("body")
    hl7 = _hl7_segments(found["header"], body_text, PANEL_CHARS)
    _, pretty = _body_views(body_text)
    return {"m": found["header"], "has_body": body_text is not None, "hl7": hl7,
            "contents": pretty[:PANEL_CHARS], "cut": len(pretty) > PANEL_CHARS}


def _hl7_segments(header: dict[str, Any], body_text: str | None,
                  chars: int | None = None) -> list[hl7_view.SegmentShown] | None:
    """An HL7 v2 body's segments for the viewer (at most ``chars`` of it), or None."""
    if not hl7_view.is_hl7(header.get("body_class"), body_text):
        return None
    assert body_text is not None
    shown, cut = hl7_view.segments(body_text[:chars] if chars else body_text)
    if cut or (chars and len(body_text) > chars):
        shown.append(hl7_view.SegmentShown("…", (hl7_view.FieldShown(
            " ", "(cut here for display; the stored message is whole)", ""),)))
    return shown


async def message(page: Page) -> Response:
    message_id = _int(page.request.path_params.get("id"))
    if page.request.query_params.get("panel") == "1":  # the trace's panel, fetched by script
        return page.render("_message_panel.html", **await _panel_context(page, message_id or 0))
    view = page.request.query_params.get("view", "header")
    found = await page.call("message", message_id or 0)
    body_text = found.get("body")
    hl7 = _hl7_segments(found["header"], body_text)
    if hl7 is not None:
        assert body_text is not None
        fields, pretty = hl7_view.field_rows(body_text), body_text
    else:
        fields, pretty = _body_views(body_text)
    return page.render("message.html", active="messages", m=found["header"], view=view,
                       fields=fields, contents=pretty, has_body=body_text is not None,
                       hl7=hl7)


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
    """One page (TRACE_PAGE messages) of a session's sequence diagram and messages; ``show``
    opens a message beside the diagram (the arrows' links, so the diagram stays)."""
    session_id = _id(page.request.path_params.get("session")) or 0
    query = page.request.query_params
    after, show = _id(query.get("after")), _id(query.get("show"))
    before = ABOVE_EVERY_ID if query.get("before") == "last" else _id(query.get("before"))
    found = await page.call("trace", session_id, after_id=after,
                            before_id=None if after is not None else before, limit=TRACE_PAGE)
    rows = found["messages"]
    # Hosts appear in the order the session reached them: its first source (a service or
    # the testing service) on the left, as in a sequence diagram.
    diagram = trace_diagram(rows, {}, found["started"])
    view = f"trace/{found['session_id']}"
    here = {"after": after} if after is not None else \
        {"before": query.get("before")} if before is not None else {}
    panel = None
    if show:
        try:
            panel = await _panel_context(page, show)
        except IopError as exc:  # a purged or mistyped id: said in the panel, diagram kept
            panel = {"error": str(exc)}
    for m in rows:
        m["since_start"] = duration(m["created"] - found["started"]) \
            if found["started"] is not None else ""
        m["took"] = duration(m["processed"] - m["created"]) \
            if m.get("processed") and m["type"] == "request" else ""
        m["show_url"] = page.url(view, show=m["id"], **here) + "#trace-message"
    return page.render(
        "trace.html", active="messages", session_id=found["session_id"], messages=rows,
        log=found["log"], diagram=diagram, errors=found["errors"], total=found["total"],
        counts=found["counts"], panel=panel, show=show, page_size=TRACE_PAGE,
        banner={"suspended": found.get("suspended", []),
                "resubmitted": found.get("resubmitted", [])},
        earlier=page.url(view, before=rows[0]["id"]) if rows and found["has_earlier"] else None,
        later=page.url(view, after=rows[-1]["id"]) if rows and found["has_later"] else None,
        first_page=page.url(view) if found["has_earlier"] else None,
        last_page=page.url(view, before="last") if found["has_later"] else None)
