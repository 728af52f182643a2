"""The visual trace of a 700-message session, in a real browser: a production's process
splits one batch into 350 calls to an operation (one of them refused), and the trace shows
it a page of arrows at a time with the lane heads kept in view, times in ms and s, the
session's failure named on every page, and an arrow's message beside the diagram without a
page load (or with one, when scripts are off).

One server, one browser and one production for the module; the tests run in order.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from portal_support import ServedProduction, served_production

PRODUCTION = "Trace.Production"
PARTS = 350
REFUSED = 123  # the part the operation refuses
PAGE = 100  # pages_messages.TRACE_PAGE

COMPONENTS = '''
import json
import os
from dataclasses import dataclass

from iop import BusinessOperation, BusinessProcess, Message, PollingBusinessService, setting


@dataclass
class Batch(Message):
    parts: int = 0


@dataclass
class Part(Message):
    n: int = 0
    label: str = ""


class Inbox(PollingBusinessService):
    """Sends the Batch of each JSON file in Folder (then removes it) to Splitter."""

    Folder = setting("")

    def on_poll(self):
        for name in sorted(os.listdir(self.Folder)):
            if name.endswith(".json"):
                path = os.path.join(self.Folder, name)
                with open(path) as fh:
                    data = json.load(fh)
                os.remove(path)
                self.send_request_async("Splitter", Batch(**data))


class Splitter(BusinessProcess):
    """Sends one Part per part of the batch to Worker, one after the other."""

    def on_request(self, request):
        for n in range(request.parts):
            try:
                self.send_request_sync("Worker", Part(n, f"part {n} of {request.parts}"))
            except Exception as exc:
                self.log_warning(f"part {n} failed: {exc}")


class Worker(BusinessOperation):
    def on_message(self, request):
        if request.n == REFUSED_PART:
            raise ValueError(f"part {request.n} refused")
        return Part(request.n, "done")
'''.replace("REFUSED_PART", str(REFUSED))

SETTINGS = '''
from trace_components import Inbox, Splitter, Worker

from iop import Production

prod = Production("{production}")
prod.service("Inbox", Inbox).host_setting("Folder", {inbox!r}).adapter_setting("CallInterval", "0.3")
prod.process("Splitter", Splitter)
prod.operation("Worker", Worker)
PRODUCTIONS = [prod]
'''

# "+35 ms", "+0.4 ms", "+1.204 s", "+2 min 5.3 s": what a person reads, never "+1204 ms"
READABLE = re.compile(r"^\+(\d{1,3}(\.\d)? ms|\d{1,2}\.\d{3} s|\d+ min \d+\.\d s) · \w+")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedProduction]:
    with served_production(tmp_path_factory.mktemp("trace"), PRODUCTION,
                           ("trace_components.py", COMPONENTS), SETTINGS) as found:
        yield found


@pytest.fixture(scope="module")
def session(served: ServedProduction) -> list[Any]:
    """The headers of the one big session, oldest first, once every message is final."""
    served.drop("batch.json", {"parts": PARTS})
    store = served.portal.store()

    def finished() -> list[Any] | None:
        headers = store.query_headers(limit=0, oldest_first=True)
        if not headers:
            return None
        mine = [h for h in headers if h.session_id == headers[0].session_id]
        done = len(mine) >= 1 + 2 * PARTS and all(
            h.status in ("completed", "error") for h in mine)
        return mine if done else None

    deadline = time.monotonic() + 240  # the wait_for fixture is per test; this is per module
    while (found := finished()) is None:
        assert time.monotonic() < deadline, f"no session of {1 + 2 * PARTS} final messages"
        time.sleep(0.5)
    served.portal.login()
    return found


def _trace(served: ServedProduction, session: list[Any], query: str = "") -> Any:
    page = served.portal.page
    page.goto(f"{served.portal.url}/ns/USER/trace/{session[0].session_id}{query}")
    page.wait_for_selector("#trace-diagram")
    return page


def _arrow_ids(page: Any) -> list[int]:
    return [int(i) for i in page.locator("#trace-diagram g.msg").evaluate_all(
        "gs => gs.map(g => g.dataset.id)")]


@pytest.mark.slow
def test_a_big_session_is_paged_with_every_message_once(served: ServedProduction,
                                                        session: list[Any]) -> None:
    page = _trace(served, session)
    assert len(session) >= 700
    assert page.locator("#trace-total").inner_text() == str(len(session))
    assert page.locator("#trace-earlier").count() == 0
    # The refused part is on a later page; the banner names it on the first one already.
    refused = [h for h in session if h.status == "error" and h.type == "request"]
    assert len(refused) == 1 and refused[0].id not in _arrow_ids(page)
    assert f"#{refused[0].id}" in page.locator("#trace-errors").inner_text()
    assert "part 123 refused" in page.locator("#trace-errors").inner_text()
    served.portal.shot("trace-700-first-page")

    seen: list[int] = []
    pages = 0
    while True:
        pages += 1
        shown = _arrow_ids(page)
        assert 0 < len(shown) <= PAGE
        table = [int(i) for i in page.locator("#trace-table tbody tr").evaluate_all(
            "rs => rs.map(r => r.dataset.id)")]
        assert table == shown  # the table lists the page's messages, not the session's
        seen += shown
        if page.locator("#trace-later").count() == 0:
            break
        page.click("#trace-later")
        page.wait_for_load_state()
    assert seen == [h.id for h in session]  # in order, none twice, none left out
    assert pages == math.ceil(len(session) / PAGE)

    # Back one page from the last, then to the first.
    last_page = _arrow_ids(page)
    page.click("#trace-earlier")
    page.wait_for_load_state()
    assert _arrow_ids(page) == seen[-len(last_page) - PAGE:-len(last_page)]
    page.click("#trace-first")
    page.wait_for_load_state()
    assert _arrow_ids(page) == seen[:PAGE]
    page.click("#trace-last")
    page.wait_for_load_state()
    assert page.url.endswith("?before=last")
    assert _arrow_ids(page) == seen[-PAGE:]
    assert page.locator("#trace-later").count() == 0


@pytest.mark.slow
def test_bad_paging_input_shows_the_first_page(served: ServedProduction,
                                               session: list[Any]) -> None:
    for query in ("?after=abc", "?after=-5", "?before=99999999999999999999999",
                  "?show=99999999999999999999999"):
        page = served.portal.page
        answer = page.goto(f"{served.portal.url}/ns/USER/trace/{session[0].session_id}{query}")
        assert answer is not None and answer.status == 200, query
        assert _arrow_ids(page) == [h.id for h in session[:PAGE]], query
    answer = page.goto(f"{served.portal.url}/ns/USER/trace/{session[0].session_id}"
                       f"?show={session[-1].id + 1000}")
    assert answer is not None and answer.status == 200
    assert "does not exist" in page.inner_text("#trace-message")  # said beside, diagram kept
    assert len(_arrow_ids(page)) == PAGE


@pytest.mark.slow
def test_times_are_readable_and_measured_from_the_session_start(
        served: ServedProduction, session: list[Any]) -> None:
    page = _trace(served, session, f"?after={session[-PAGE - 1].id}")
    details = page.locator("#trace-diagram g.msg .detail").all_text_contents()
    assert len(details) == PAGE
    bad = [d for d in details if not READABLE.match(d)]
    assert not bad, bad
    # The last page still counts from the session's first message, not its own first one.
    span = session[-1].created - session[0].created
    last = page.locator("#trace-table tbody tr").last.locator("[data-since]").inner_text()
    if span >= 1:
        assert re.fullmatch(r"\d+\.\d{3} s|\d+ min \d+\.\d s", last), last
        assert abs(float(last.split()[0]) - span) < 0.002 if last.endswith(" s") and \
            "min" not in last else True
    else:
        assert re.fullmatch(r"\d+(\.\d)? ms", last), last
    took = [d for d in details if ", took " in d]
    assert took and all(re.search(r", took \d+(\.\d{1,3})? (ms|s)$", d) for d in took)


@pytest.mark.slow
def test_lane_heads_and_column_headers_stay_in_view(served: ServedProduction,
                                                    session: list[Any]) -> None:
    page = _trace(served, session)
    lanes = page.locator("#trace-lanes .lane").evaluate_all("gs => gs.map(g => g.dataset.host)")
    assert lanes == ["Inbox", "Splitter", "Worker"]
    frame = page.locator("#trace-scroll")
    top = frame.bounding_box()["y"]
    page.evaluate("document.getElementById('trace-scroll').scrollTop = 3000")
    page.wait_for_function("document.getElementById('trace-scroll').scrollTop >= 2900")
    head = page.locator("#trace-head").bounding_box()
    assert abs(head["y"] - top) <= 2  # still at the top of the scrolled frame
    # The arrows at the top of the frame now are far down the page's list, under the heads.
    assert page.evaluate("([x, y]) => document.elementFromPoint(x, y)"
                         ".closest('#trace-head') !== null", [head["x"] + 60, head["y"] + 20])
    served.portal.shot("trace-700-scrolled")

    # The messages table's column headers stick to the window's top.
    page.evaluate("document.getElementById('trace-table').scrollIntoView()")
    page.mouse.wheel(0, 1500)
    page.wait_for_function("window.scrollY > 0")
    header = page.locator("#trace-table thead th").first.bounding_box()
    body = page.locator("#trace-table tbody tr").first.bounding_box()
    assert header["y"] >= -1 and header["y"] <= 2, header
    assert body["y"] < header["y"]  # its first rows went up past it


@pytest.mark.slow
def test_clicking_an_arrow_shows_its_message_beside_the_diagram(
        served: ServedProduction, session: list[Any]) -> None:
    page = _trace(served, session)
    part = next(h for h in session[:PAGE] if h.type == "request" and h.target == "Worker"
                and h.id > session[40].id)
    page.evaluate("window.__notReloaded = true")
    page.locator(f"#trace-diagram a.msg-link[data-show='{part.id}']").click()
    panel = page.locator(f"#trace-message .message-panel[data-message='{part.id}']")
    panel.wait_for()
    assert page.evaluate("window.__notReloaded === true")  # no page load
    assert page.locator("#trace-diagram").is_visible()
    text = panel.inner_text()
    assert f"Message {part.id}" in text and "Splitter → Worker" in text
    body = served.portal.store().get_body(part)
    assert body is not None
    number = json.loads(body)["n"]
    assert f'"n": {number}' in page.locator("#panel-body").inner_text()
    assert f"part {number} of {PARTS}" in page.locator("#panel-body").inner_text()
    assert f"show={part.id}" in page.url  # the address names it (a reload keeps it shown)
    assert page.locator(f"#trace-diagram g.msg.chosen[data-id='{part.id}']").count() == 1
    served.portal.shot("trace-message-beside")

    # The refused one, on its own page, shows its error; without scripts the arrow's link
    # loads the same page with the message beside it.
    refused = next(h for h in session if h.status == "error" and h.type == "request")
    context = page.context.browser.new_context(java_script_enabled=False,
                                               viewport={"width": 1400, "height": 900})
    try:
        bare = context.new_page()
        context.add_cookies(page.context.cookies())
        bare.goto(f"{served.portal.url}/ns/USER/trace/{session[0].session_id}"
                  f"?after={refused.id - 1}")
        bare.locator(f"#trace-diagram a.msg-link[data-show='{refused.id}']").click()
        bare.wait_for_selector(f"#trace-message .message-panel[data-message='{refused.id}']")
        assert "part 123 refused" in bare.locator("#trace-message").inner_text()
        assert bare.locator("#trace-diagram g.msg").count() > 0
        assert f"after={refused.id - 1}" in bare.url  # the same page of the diagram
    finally:
        context.close()
