"""One item's queue (IRIS's queue page): its waiting and in-progress messages, keyset-paged
oldest first, and Abort or Suspend of the ticked waiting ones (Client.queue_action)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from iop.errors import IopError
from iop.server.portal.web import Page, first, ticked_ids

PAGE_SIZE = 50


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


async def _item_state(page: Page, item: str) -> dict[str, Any] | None:
    """The item's light and production from the monitor's snapshot (None: no production,
    or ``item`` is not one of its items)."""
    try:
        snap = await page.call("health", None)
    except IopError:
        return None
    found = next((i for i in snap["items"] if i["name"] == item), None)
    return dict(found, production=snap["production"]) if found else None


async def queue_page(page: Page) -> Response:
    item = page.request.path_params.get("item", "")
    after = _int(page.request.query_params.get("after"))
    listing = await page.call("queue_messages", item, after, PAGE_SIZE)
    state = await _item_state(page, item)
    return page.render("queue.html", active="queues", item=item, state=state,
                       messages=listing["messages"], after=after,
                       next_url=page.url(f"queues/{quote(item, safe='')}", after=listing["next_after_id"])
                       if listing["next_after_id"] else None)


async def act(page: Page) -> Response:
    """Abort or suspend the ticked messages of one queue (all or nothing, as the Client)."""
    form = page.request.state.form
    item, action = first(form, "item"), first(form, "action")
    ids = ticked_ids(form)
    back = {"after": first(form, "after")} if first(form, "after").isdigit() else {}
    if action not in ("abort", "suspend"):
        page.session.flash("error", f"unknown action {action!r}")
    elif not ids:
        page.session.flash("error", f"Select the messages to {action} first (tick their boxes).")
    else:
        try:
            done = await page.call("queue_action", item, ids, action, page.user.name)
            listing = ", ".join(f"#{d['id']}" for d in done)
            if action == "abort":
                page.session.flash("ok", f"Aborted {len(done)} message(s): {listing}; they "
                                         "left the queue and stay in their traces as aborted.")
            else:
                page.session.flash("ok", f"Suspended {len(done)} message(s): {listing}; "
                                         "resubmit them from the Suspended page.")
        except IopError as exc:
            page.session.flash("error", str(exc))
    return page.redirect(f"queues/{quote(item, safe='')}", **back)
