"""The production monitor (IRIS's Production Monitor, Mirth's dashboard): its page, the
state its live refresh polls, and acknowledging an item's errors.

The refresh polls ``/monitor/state`` with the last answer's ETag rather than holding a
server-sent event stream open: a poll is one cheap snapshot (counter rows and indexed
lookups), an unchanged one costs a 304 and no DOM work, and nothing stays open per viewer
on the server (a stream would read the store on a timer for each open tab anyway).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from starlette.responses import JSONResponse, Response

from iop.client.lights import LIGHTS, MEANING
from iop.errors import IopError
from iop.server.portal.charts import rate_chart
from iop.server.portal.web import Page, first, templates

REFRESH_SECONDS = 2  # how often an open monitor or configuration page polls


def _parts() -> Any:
    return templates.get_template("_monitor_parts.html").module


def _fragments(page: Page, snap: dict[str, Any], back: str) -> dict[str, str]:
    """The page's live parts, rendered alone (the same macros the page uses)."""
    parts = _parts()
    may_ack = _may_acknowledge(page)
    csrf = page.session.csrf
    return {
        "items": str(parts.items_table(snap, page.namespace, csrf, may_ack, MEANING)),
        "chart": str(parts.rate_svg(rate_chart(snap["rate"]))),
        "alerts": str(parts.alerts_list(snap)),
        "queues": str(parts.queues_table(snap, page.namespace)),
        "errors": str(parts.errors_strip(snap, page.namespace, csrf, may_ack, back)),
    }


def _may_acknowledge(page: Page) -> bool:
    from iop.server import roles

    return roles.may(page.user, page.namespace, roles.PORTAL[("POST", "/monitor/acknowledge")])


def state_body(page: Page, snap: dict[str, Any], back: str) -> dict[str, Any]:
    """What a poll answers: the lights and queues per item (for the diagram) and the
    monitor's parts as HTML. Only what changes when the production does: no clock."""
    return {"production": snap["production"], "status": snap["status"],
            "items": {i["name"]: {"light": i["light"], "queue": i["queue"], "error": i["error"]}
                      for i in snap["items"]},
            "html": _fragments(page, snap, back)}


def etag_of(body: dict[str, Any]) -> str:
    return '"' + hashlib.sha1(json.dumps(body, sort_keys=True).encode()).hexdigest()[:20] + '"'


async def monitor_page(page: Page) -> Response:
    names = [p["name"] for p in await page.call("productions_overview")]
    wanted = page.request.query_params.get("production") or None
    if not names:
        return page.render("monitor.html", active="monitor", productions=[], snap=None)
    try:
        snap = await page.call("health", wanted)
    except IopError as exc:
        return page.render("monitor.html", status=404, active="monitor", productions=names,
                           snap=None, error=str(exc))
    return page.render("monitor.html", active="monitor", productions=names, snap=snap,
                       chart=rate_chart(snap["rate"]), lights=LIGHTS, meanings=MEANING,
                       refresh=REFRESH_SECONDS,
                       etag=etag_of(state_body(page, snap, "monitor")))


async def monitor_state(page: Page) -> Response:
    """The live refresh's poll: 304 when nothing changed since the ETag it sends."""
    query = page.request.query_params
    back = "config" if query.get("back") == "config" else "monitor"
    snap = await page.call("health", query.get("production") or None)
    body = state_body(page, snap, back)
    etag = etag_of(body)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if page.request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return JSONResponse(body, headers=headers)


async def acknowledge(page: Page) -> Response:
    form = page.request.state.form
    production, item = first(form, "production"), first(form, "item")
    done = await page.call("acknowledge", item, page.user.name)
    what = f"item {item}" if item else f"production {production}"
    page.session.flash("ok", f"Acknowledged the errors and alerts of {what} (up to event log "
                             f"entry {done['acknowledged_up_to']}).")
    if first(form, "back") == "config":
        return page.redirect("config", production=production, item=item or None)
    return page.redirect("monitor", production=production)
