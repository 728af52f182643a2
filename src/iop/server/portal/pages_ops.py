"""The event log (filters, paging, live tail), queues, jobs and bindings."""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

from iop.errors import IopError
from iop.server.portal.web import Page
from iop.store import records as r

LOG_FILTERS = ("type", "item", "session_id", "text")
LOG_PAGE = 100
TAIL_ROWS = 500  # rows the live tail keeps in the page; older ones leave it (Older pages keep them)


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None


def _filters(page: Page) -> dict[str, str]:
    query = page.request.query_params
    return {k: query.get(k, "").strip() for k in LOG_FILTERS if query.get(k, "").strip()}


def _tail_rows(page: Page) -> int:
    """How many rows the live tail keeps: ``keep`` (10 to TAIL_ROWS), else TAIL_ROWS."""
    wanted = _int(page.request.query_params.get("keep"))
    return TAIL_ROWS if wanted is None else max(10, min(TAIL_ROWS, wanted))


async def event_log(page: Page) -> Response:
    filters = _filters(page)
    before = _int(page.request.query_params.get("before"))
    error = None
    entries: list[dict[str, object]] = []
    try:
        entries = await page.call("search_log", filters, before, None, LOG_PAGE + 1)
    except IopError as exc:  # said above the (empty) list
        error = str(exc)
    older = page.url("log", before=entries[LOG_PAGE - 1]["id"], **filters) \
        if len(entries) > LOG_PAGE else None
    entries = entries[:LOG_PAGE]
    newest_id = entries[0]["id"] if entries else 0
    if before and not entries:
        newest_id = before
    return page.render("log.html", active="log", entries=entries, filters=filters,
                       error=error, older=older, paged=before is not None,
                       newest_id=newest_id, types=list(r.LOG_TYPES.values()),
                       tail_rows=_tail_rows(page))


async def log_tail(page: Page) -> Response:
    """Entries after ``after_id`` matching the page's filters, newest first (live tail)."""
    after = _int(page.request.query_params.get("after_id")) or 0
    entries = await page.call("search_log", _filters(page), None, after, 200)
    return JSONResponse({"entries": entries, "namespace": page.namespace})


async def queues(page: Page) -> Response:
    details = await page.call("queue_details")
    lights: dict[str, str] = {}
    if details["production"]:
        try:  # the monitor's lights mark the queues nobody takes (disabled, stopped items)
            snap = await page.call("health", details["production"])
            lights = {i["name"]: i["light"] for i in snap["items"]}
        except IopError:
            pass
    return page.render("queues.html", active="queues", details=details, lights=lights)


async def jobs(page: Page) -> Response:
    rows = await page.call("jobs")
    runtime = await page.call("status")
    return page.render("jobs.html", active="jobs", jobs=rows, runtime=runtime)


async def bindings(page: Page) -> Response:
    rows = await page.call("bindings")
    return page.render("bindings.html", active="bindings", bindings=rows)
