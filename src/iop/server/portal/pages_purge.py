"""Purge: a form (days to keep, bodies too, sessions in progress too), a review step that
says exactly what will go, then the Client's purge and the counts it returns."""

from __future__ import annotations

import math
import time
from typing import Any

from starlette.responses import Response

from iop.errors import EngineError, IopError
from iop.server.portal.web import Page, first
from iop.store import records as r

DEFAULT_KEEP_DAYS = 7.0  # as `iop --purge` without a number
DAY = 86400.0


def _keep_days(text: str) -> float:
    try:
        days = float(text.strip())
    except ValueError as exc:
        raise EngineError(f"days to keep must be a number, got {text!r}") from exc
    if not math.isfinite(days) or days < 0:
        raise EngineError(f"days to keep must be 0 or more, got {text!r}")
    return days


def _flag(values: dict[str, Any], key: str) -> bool:
    value = values.get(key)
    if isinstance(value, list):
        value = value[-1] if value else ""
    return str(value or "").lower() in ("1", "true", "on", "yes")


async def _schedule(page: Page) -> dict[str, Any] | None:
    """The scheduled purge of the current (or default) production, from its settings."""
    production = (await page.call("status")).get("production") or \
        await page.call("get_default")
    if not production or production == "Not defined":
        return None
    try:
        definition = await page.call("export", production)
    except IopError:  # the form still shows, without the schedule
        return None
    body = definition.get("Production", definition)
    settings = body.get("Setting") or []
    values = {str(s.get("@Name")): str(s.get("#text", ""))
              for s in (settings if isinstance(settings, list) else [settings])}
    return {"production": production, "keep_days": values.get("PurgeKeepDays", ""),
            "bodies": values.get("PurgeBodies", "").lower() in ("1", "true")}


async def purge_page(page: Page) -> Response:
    """The form; with ``review=1`` the confirmation of what the chosen purge deletes."""
    query = page.request.query_params
    reviewing = query.get("review") == "1"
    keep_days = query.get("keep_days", f"{DEFAULT_KEEP_DAYS:g}")
    values = {"keep_days": keep_days, "bodies": _flag(dict(query), "bodies"),
              "include_incomplete": _flag(dict(query), "include_incomplete")}
    error = None
    cutoff = ""
    going: dict[str, Any] = {}
    if reviewing:
        try:
            days = _keep_days(keep_days)
            values["keep_days"] = f"{days:g}"
            cutoff = r.format_time(time.time() - days * DAY)
            going = await page.call("purge", days, bool(values["bodies"]),
                                    bool(values["include_incomplete"]), True)
        except IopError as exc:
            error, reviewing = str(exc), False
    counts = await page.call("message_counts")
    return page.render("purge.html", status=400 if error else 200, active="purge",
                       values=values, reviewing=reviewing, cutoff=cutoff, error=error,
                       going=going,
                       counts=sorted(counts.items()), total=sum(counts.values()),
                       schedule=await _schedule(page))


async def purge(page: Page) -> Response:
    form = page.request.state.form
    try:
        days = _keep_days(first(form, "keep_days"))
        bodies, incomplete = _flag(form, "bodies"), _flag(form, "include_incomplete")
        done = await page.call("purge", days, bodies, incomplete)
    except IopError as exc:
        page.session.flash("error", f"Nothing was purged: {exc}")
        return page.redirect("purge")
    compacted = "; the store was compacted" if done.get("compacted") else ""
    page.session.flash("ok", f"Purge done, keeping {days:g} day(s): {done['sessions']} "
                             f"session(s), {done['headers']} message(s), {done['bodies']} "
                             f"body(ies) and {done['log']} event log line(s) deleted"
                             f"{compacted}.")
    return page.redirect("purge")
