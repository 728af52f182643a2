"""Suspended messages: the list (header, error, body), resubmit or discard several, and edit
one message's body then resubmit it. Every action is a Client call (resubmit, discard)."""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from iop.errors import IopError
from iop.server.portal.web import Page, first, ticked_ids

SHOWN = 200  # rows on the page; the rest wait their turn (oldest first)
PREVIEW = 160  # characters of a body shown in the list


def _pretty(text: str | None) -> str:
    if not text:
        return ""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def _with_bodies(page: Page, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each shown row with its body text (one store read each, off the event loop)."""
    shown = []
    for row in rows:
        try:
            body = page.client.message(int(row["id"]))["body"]
        except IopError:
            body = None  # resubmitted or discarded meanwhile: shown without its body
        text = body or ""
        shown.append(dict(row, body=text, preview=text if len(text) <= PREVIEW
                          else text[:PREVIEW] + "…"))
    return shown


async def suspended(page: Page, edit: dict[str, Any] | None = None,
                    error: str | None = None) -> Response:
    """The list; ``edit`` (id, typed body) reopens the editor after a refused edit."""
    rows = await page.call("suspended")
    shown = await run_in_threadpool(_with_bodies, page, rows[:SHOWN])
    wanted = (edit or {}).get("id") or page.request.query_params.get("id", "")
    selected = next((r for r in shown if str(r["id"]) == str(wanted)), None)
    if selected is None and str(wanted).isdigit() and any(
            str(r["id"]) == str(wanted) for r in rows):
        selected = (await run_in_threadpool(_with_bodies, page, [
            next(r for r in rows if str(r["id"]) == str(wanted))]))[0]
    gone = bool(wanted) and selected is None and edit is None
    body = (edit or {}).get("body") if edit else _pretty(selected["body"]) if selected else ""
    sent = page.request.query_params.get("sent", "")
    return page.render("suspended.html", status=400 if error else 200, active="suspended",
                       rows=shown, total=len(rows), selected=selected, edited_body=body,
                       error=error, gone=gone, wanted=wanted,
                       sent=int(sent) if sent.isdigit() else None)


async def suspended_page(page: Page) -> Response:
    return await suspended(page)


async def act(page: Page) -> Response:
    """Resubmit or discard the ticked messages (all or nothing, as the Client does)."""
    form = page.request.state.form
    action, ids = first(form, "action"), ticked_ids(form)
    if action not in ("resubmit", "discard"):
        page.session.flash("error", f"unknown action {action!r}")
    elif not ids:
        page.session.flash("error", f"Select the messages to {action} first (tick their boxes).")
    else:
        try:
            routes = await _routes(page, ids) if action == "resubmit" else {}
            done = await page.call(action, ids)
            listing = ", ".join(f"#{d['id']}" for d in done)
            if action == "resubmit":
                where = " ".join(f"#{d['id']}: {routes[d['id']]}." for d in done
                                 if d["id"] in routes)
                page.session.flash("ok", f"Resubmitted {len(done)} message(s): {listing}; they "
                                         f"are queued for their targets again. {where}".strip())
            else:
                page.session.flash("ok", f"Discarded {len(done)} message(s): {listing}; they "
                                         "stay in their session traces.")
        except IopError as exc:
            done_word = "resubmitted" if action == "resubmit" else "discarded"
            page.session.flash("error", f"Nothing was {done_word}: {exc}")
    return page.redirect("suspended")


async def _routes(page: Page, ids: list[int]) -> dict[int, str]:
    """Where each message's response will go once resubmitted (said in the flash)."""
    rows = await page.call("suspended")
    return {int(r["id"]): str(r.get("response_to") or "") for r in rows
            if int(r["id"]) in ids and r.get("response_to")}


async def edit(page: Page) -> Response:
    """Resubmit one message with the body typed in the editor; a refused body is shown again
    with the reason, nothing stored."""
    form = page.request.state.form
    raw_id, body = first(form, "id"), first(form, "body")
    if not raw_id.isdigit():
        page.session.flash("error", "No message was chosen to edit.")
        return page.redirect("suspended")
    message_id = int(raw_id)
    try:
        routes = await _routes(page, [message_id])
        done = await page.call("resubmit", [message_id], body)
    except IopError as exc:
        return await suspended(page, {"id": message_id, "body": body}, str(exc))
    new_id = done["resubmitted_as"]
    where = f" {routes[message_id]}." if message_id in routes else ""
    page.session.flash("ok", f"Message #{message_id} resubmitted with the edited body as new "
                             f"message #{new_id}; the original is discarded.{where}")
    return page.redirect("suspended", sent=new_id)
