"""Managed alerts (IRIS's Managed Alerts): the list by state, one alert with its history, and
the operator's actions on it (Client.alert_action); the navigation shows how many are open."""

from __future__ import annotations

from starlette.responses import Response

from iop.errors import IopError
from iop.server.portal.web import Page, first

PAGE_SIZE = 50
TABS = ("open", "new", "acknowledged", "closed", "all")
DONE = {"acknowledge": "acknowledged", "assign": "assigned", "note": "noted",
        "close": "closed", "reopen": "reopened"}


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and len(text) < 19 else None


async def alerts_page(page: Page) -> Response:
    query = page.request.query_params
    state = query.get("state") or "open"
    if state not in TABS:
        state = "open"
    before = _int(query.get("before"))
    listing = await page.call("alerts", state, None, before, PAGE_SIZE)
    nxt = listing["next_before_id"]
    return page.render("alerts.html", active="alerts", state=state, tabs=TABS,
                       alerts=listing["alerts"], counts=listing["counts"], before=before,
                       next_url=page.url("alerts", state=state, before=nxt) if nxt else None)


async def alert_page(page: Page) -> Response:
    alert_id = _int(page.request.path_params.get("id"))
    try:
        if alert_id is None:
            raise IopError(f"{page.request.path_params.get('id')!r} is not an alert id")
        found = await page.call("alert", alert_id)
    except IopError as exc:
        return page.render("error.html", status=404, error=str(exc))
    return page.render("alert.html", active="alerts", alert=found)


async def act(page: Page) -> Response:
    """One action on one alert, then back to the alert (or the list it was taken from)."""
    form = page.request.state.form
    alert_id, action = _int(first(form, "id")), first(form, "action")
    owner = first(form, "owner") if "owner" in form else None
    if alert_id is None:
        page.session.flash("error", "No alert was named.")
        return page.redirect("alerts")
    try:
        await page.call("alert_action", alert_id, action, owner, first(form, "text"),
                        page.user.name)
        page.session.flash("ok", f"Alert {alert_id} {DONE.get(action, action)}.")
    except IopError as exc:
        page.session.flash("error", str(exc))
    if first(form, "back") == "list":
        state = first(form, "state")
        return page.redirect("alerts", state=state if state in TABS else None)
    return page.redirect(f"alerts/{alert_id}")
