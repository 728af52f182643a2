"""Issue 26, "search like IRIS's extended criteria", in a real browser whose time zone is
Asia/Tokyo: body conditions, partial names, short class names, the result count, order, page
size, CSV/JSON exports and times shown and entered in the browser's zone.

One server and one browser for the module; the messages are written straight into the
served namespace's store (two batches more than a second apart, to filter on time)."""

from __future__ import annotations

import csv
import io
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import pytest
from portal_support import Portal, chromium_path
from remote_server import start_engine, stop_engine

from iop.store import records as r

ZONE = "Asia/Tokyo"


@dataclass
class Search:
    portal: Portal
    early: list[int]  # the first batch, in id order
    late: list[int]  # the second batch, more than a second later
    formula: int  # an error text a spreadsheet would run


def _draft(source: str, target: str, body: dict[str, Any], body_class: str,
           **extra: Any) -> r.MessageDraft:
    return r.MessageDraft(source, target, body_class, json.dumps(body), **extra)


@pytest.fixture(scope="module")
def search(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Search]:
    from playwright.sync_api import sync_playwright

    root = tmp_path_factory.mktemp("search")
    engine = start_engine(root / "home")
    try:
        assert engine.iop_local("-i").returncode == 0
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium_path(),
                args=["--no-sandbox"] if os.geteuid() == 0 else [])
            try:
                context = browser.new_context(viewport={"width": 1400, "height": 900},
                                              timezone_id=ZONE, accept_downloads=True)
                context.set_default_timeout(20_000)
                portal = Portal(engine, context.new_page(), root)
                store = portal.store()
                early = [store.send([_draft("OrderService", "PricingProcess",
                                            {"amount": amount, "status": status},
                                            "demo.msgs.Order")])[0]
                         for amount, status in ((900, "NEW"), (120, "NEW"), (40, "shipped"))]
                time.sleep(1.3)
                late = [store.send([_draft("WebService", "PricingBackup",
                                           {"amount": 700, "status": "NEW"},
                                           "demo.other.Ticket")])[0]]
                late += store.send([_draft("WebService", "Audit", {"amount": 5},
                                           "demo.msgs.Order", status=r.ERROR,
                                           error="=HYPERLINK(\"http://x\")", enqueue=False)])
                store.close()
                portal.login()
                yield Search(portal, early, late, late[-1])
            finally:
                browser.close()
    finally:
        stop_engine(engine)


def _shown_ids(portal: Portal) -> list[int]:
    return [int(i) for i in portal.page.eval_on_selector_all(
        "#message-table tbody tr", "rows => rows.map(r => r.dataset.id)")]


def _search(portal: Portal, **fields: str) -> None:
    page = portal.page
    page.goto(f"{portal.url}/ns/USER/messages")
    for name, value in fields.items():
        # a time is typed into the shown field; the script sends it in a hidden one, in UTC
        selector = f"#{name}-shown" if name in ("since", "until") else f"[name={name}]"
        if page.eval_on_selector(selector, "e => e.tagName") == "SELECT":
            page.select_option(selector, value)
        else:
            page.fill(selector, value)
    page.click("#message-filters button[type=submit]")
    page.wait_for_load_state()


def _count(portal: Portal) -> str:
    return portal.page.inner_text("#result-count").split(" · ")[0]


def test_conditions_names_and_short_class_with_a_count(search: Search) -> None:
    portal = search.portal
    store = portal.store()
    first = store.get_header(search.early[0]).created
    store.close()
    since = datetime.fromtimestamp(int(first) - 60, ZoneInfo(ZONE)).strftime("%Y-%m-%dT%H:%M:%S")
    _search(portal, where='amount > 100\nstatus = "NEW"', body_class="Order", since=since)
    assert _shown_ids(portal) == [search.early[1], search.early[0]]
    assert _count(portal) == "2 messages match"
    portal.shot("messages-extended-search")
    _search(portal, target="pricing")  # part of two items' names, any case
    assert set(_shown_ids(portal)) == {*search.early, search.late[0]}
    assert _count(portal) == "4 messages match"
    _search(portal, source="web", where="amount contains 7")  # contains: texts only
    assert _shown_ids(portal) == [] and _count(portal) == "0 messages match"


@pytest.mark.parametrize("condition", [
    "amount >> 5", "amount'); DROP TABLE headers; -- > 1", "a..b = 1", "amount < true",
])
def test_a_malformed_condition_is_one_line_in_the_page(search: Search, condition: str) -> None:
    portal = search.portal
    _search(portal, where=condition)
    error = portal.page.inner_text("#search-error")
    assert "\n" not in error.strip() and any(w in error for w in ("condition", "field", "value")), error
    assert _shown_ids(portal) == []
    _search(portal)
    assert _count(portal) == "5 messages match"  # nothing was touched


def test_order_and_page_size(search: Search) -> None:
    portal, page = search.portal, search.portal.page
    every = [*search.early, *search.late]
    _search(portal, sort="oldest", size="25")
    assert _shown_ids(portal) == every
    assert "size=25" in page.url and page.query_selector("#newer") is None
    page.goto(f"{portal.url}/ns/USER/messages?sort=oldest&size=2")  # any size up to 500
    assert _shown_ids(portal) == every[:2]
    page.click("#newer")
    assert _shown_ids(portal) == every[2:4]
    page.click("#newer")
    assert _shown_ids(portal) == every[4:]
    page.click("#older")
    assert _shown_ids(portal) == every[2:4]
    page.goto(f"{portal.url}/ns/USER/messages?size=100000")  # bounded, not refused
    assert page.eval_on_selector("[name=size]", "e => e.value") == "500"
    assert _shown_ids(portal) == every[::-1]


def test_exports_keep_the_filters_and_are_safe_in_a_spreadsheet(search: Search) -> None:
    portal, page = search.portal, search.portal.page
    _search(portal, target="audit")
    with page.expect_download() as done:
        page.click("#export-csv")
    download = done.value
    assert download.suggested_filename.startswith("messages-USER-")
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(open(download.path(), encoding="utf-8").read())))
    assert [int(row["id"]) for row in rows] == [search.formula]
    assert rows[0]["error"] == "'=HYPERLINK(\"http://x\")"  # never a formula
    assert json.loads(rows[0]["body"]) == {"amount": 5}

    answer = page.request.get(page.eval_on_selector("#export-json", "a => a.href"))
    assert answer.status == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["content-disposition"].startswith('attachment; filename="messages-')
    exported = answer.json()
    assert exported["filters"] == {"target": "audit"} and exported["count"] == 1
    assert exported["messages"][0]["body"] == {"amount": 5}
    assert exported["messages"][0]["error"] == "=HYPERLINK(\"http://x\")"

    csv_answer = page.request.get(f"{portal.url}/ns/USER/messages/export?format=csv&sort=oldest")
    assert csv_answer.headers["content-type"] == "text/csv; charset=utf-8"
    ids = [int(row["id"]) for row in csv.DictReader(io.StringIO(csv_answer.text()))]
    assert ids == [*search.early, *search.late]
    refused = page.request.get(f"{portal.url}/ns/USER/messages/export?format=csv&where=a%3E%3E1")
    assert refused.status == 400 and "\n" not in refused.text().strip()


def test_times_are_shown_and_entered_in_the_browser_time_zone(search: Search) -> None:
    portal, page = search.portal, search.portal.page
    store = portal.store()
    created = {i: store.get_header(i).created for i in (*search.early, *search.late)}
    store.close()
    _search(portal)
    assert page.inner_text("#time-zone") == ZONE
    shown = page.inner_text(f"#message-table tr[data-id='{search.early[0]}'] time")
    local = datetime.fromtimestamp(created[search.early[0]], ZoneInfo(ZONE))
    assert shown == local.strftime("%Y-%m-%d %H:%M:%S.") + f"{local.microsecond // 1000:03d}"

    # From: the whole second just before the second batch, typed in Tokyo time.
    since = int(created[search.late[0]])
    assert since > max(created[i] for i in search.early)
    typed = datetime.fromtimestamp(since, ZoneInfo(ZONE)).strftime("%Y-%m-%dT%H:%M:%S")
    _search(portal, since=typed)
    sent = parse_qs(urlparse(page.url).query)["since"][0]
    assert sent == datetime.fromtimestamp(since, timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z")  # UTC on the wire
    assert _shown_ids(portal) == search.late[::-1]
    # the field shows the time as it was typed, in the browser's zone
    assert page.eval_on_selector("#since-shown", "e => e.value") == typed
