"""Resubmitting repairs the flow, in a real browser: a business process's call to a failing
operation is suspended; the Suspended page says where each response will go; the session's
trace shows the suspended call; after the fix and Resubmit, the response reaches the process
(its trace says Repaired), while a synchronous caller's session keeps its failure and says
why the new response could not reach it.

One server, one browser and one production for the module; the tests run in order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from portal_support import Portal, ServedProduction, served_production

PRODUCTION = "Repair.Production"

COMPONENTS = '''
import json
import os
from dataclasses import dataclass

from iop import BusinessOperation, BusinessProcess, Message, PollingBusinessService, setting


@dataclass
class Order(Message):
    n: int = 0


@dataclass
class Shipped(Message):
    n: int = 0
    carrier: str = ""


class Inbox(PollingBusinessService):
    """Sends the Order of each JSON file in Folder (then removes it) to the file's "to"."""

    Folder = setting("")

    def on_poll(self):
        for name in sorted(os.listdir(self.Folder)):
            if name.endswith(".json"):
                path = os.path.join(self.Folder, name)
                with open(path) as fh:
                    data = json.load(fh)
                os.remove(path)
                self.send_request_async(data.pop("to"), Order(**data))


class Router(BusinessProcess):
    Folder = setting("")

    def on_request(self, request):
        self.send_request_async("Carrier", request, completion_key="ship")

    def on_response(self, request, response, call_request, call_response, completion_key):
        with open(os.path.join(self.Folder, f"routed-{request.n}"), "w") as fh:
            fh.write(call_response.carrier)
        self.reply(call_response)


class SyncRouter(BusinessProcess):
    Folder = setting("")

    def on_request(self, request):
        answer = self.send_request_sync("Carrier", request, timeout=60)
        with open(os.path.join(self.Folder, f"routed-{request.n}"), "w") as fh:
            fh.write(answer.carrier)
        return answer


class Carrier(BusinessOperation):
    Folder = setting("")

    def on_message(self, request):
        if os.path.exists(os.path.join(self.Folder, "down")):
            raise ConnectionError("carrier down")
        return Shipped(request.n, "fast")
'''

SETTINGS = '''
from repair_components import Carrier, Inbox, Router, SyncRouter

from iop import Production

prod = Production("{production}")
prod.service("Inbox", Inbox).host_setting("Folder", {inbox!r}).adapter_setting("CallInterval", "0.3")
prod.process("Router", Router).host_setting("Folder", {folder!r})
prod.process("SyncRouter", SyncRouter).host_setting("Folder", {folder!r})
prod.operation("Carrier", Carrier).host_settings_update({{
    "Folder": {folder!r}, "ReplyCodeActions": "E=S"}})
PRODUCTIONS = [prod]
'''


@dataclass
class Repair:
    served: ServedProduction
    folder: Path  # Carrier's: fails while a file named "down" is here; Router's files land here

    @property
    def portal(self) -> Portal:
        return self.served.portal

    def send(self, target: str, n: int) -> None:
        self.served.drop(f"order-{n:04d}.json", {"n": n, "to": target})

    def session_of(self, target: str) -> int:
        (found,) = self.portal.store().query_headers(target=target, type="request", limit=0)
        return int(found.session_id)


@pytest.fixture(scope="module")
def repair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Repair]:
    root = tmp_path_factory.mktemp("repair")
    folder = root / "carrier"
    folder.mkdir()
    with served_production(root, PRODUCTION, ("repair_components.py", COMPONENTS), SETTINGS,
                           folder=str(folder)) as served:
        yield Repair(served, folder)


def _row(page: Any, source: str) -> Any:
    return page.locator(f"#suspended-table tbody tr[data-source='{source}']")


def test_the_suspended_page_says_where_each_response_goes(repair: Repair,
                                                          wait_for: Any) -> None:
    portal, page = repair.portal, repair.portal.page
    portal.login()
    (repair.folder / "down").write_text("")
    def suspended(count: int) -> bool:
        page.goto(portal.url + "/ns/USER/suspended")
        return page.locator("#suspended-table tbody tr").count() == count
    # One at a time: the orders of one poll would share its session.
    repair.send("Router", 1)
    wait_for(lambda: suspended(1), timeout=60, what="Router's call to Carrier suspended")
    repair.send("SyncRouter", 2)
    wait_for(lambda: suspended(2), timeout=60, what="SyncRouter's call suspended too")
    routed = _row(page, "Router").locator(".response-route")
    assert routed.get_attribute("data-route") == "process"
    assert "to Router, which waits" in routed.inner_text()
    answered = _row(page, "SyncRouter").locator(".response-route")
    assert answered.get_attribute("data-route") == "answered"
    assert "trace only" in answered.inner_text()
    assert "called synchronously and could not wait" in str(answered.get_attribute("title"))
    portal.shot("resubmit-01-suspended")

    page.goto(portal.url + f"/ns/USER/trace/{repair.session_of('Router')}")
    assert "suspended, waiting for an operator" in page.inner_text("#session-suspended")
    assert page.locator("#trace-errors").count() == 0, page.inner_text("main")  # Router waits
    page.goto(portal.url + f"/ns/USER/trace/{repair.session_of('SyncRouter')}")
    assert page.locator("#trace-errors").count() == 1
    assert page.locator("#session-suspended").count() == 1


def test_resubmit_delivers_to_the_waiting_process_and_the_banners_follow(
        repair: Repair, wait_for: Any) -> None:
    portal, page = repair.portal, repair.portal.page
    (repair.folder / "down").unlink()
    page.goto(portal.url + "/ns/USER/suspended")
    page.check("#suspended-table thead input[data-select-all]")
    page.click("#resubmit-button")
    page.wait_for_load_state()
    flash = page.inner_text("main .flash")
    assert "Resubmitted 2 message(s)" in flash
    assert "its response goes to business process Router" in flash
    assert "its response cannot reach SyncRouter" in flash
    wait_for(lambda: (repair.folder / "routed-1").exists(), timeout=60,
             what="the response to reach Router's on_response")
    assert (repair.folder / "routed-1").read_text() == "fast"

    router = repair.session_of("Router")

    def repaired() -> bool:
        page.goto(portal.url + f"/ns/USER/trace/{router}")
        banner = page.locator("#session-resubmitted")
        return banner.count() == 1 and "Repaired:" in banner.inner_text()
    wait_for(repaired, timeout=30, what="Router's trace to say Repaired")
    assert page.locator("#trace-errors, #session-suspended").count() == 0
    assert page.inner_text("#session-resubmitted .resubmitted-status") == "completed"
    portal.shot("resubmit-02-repaired-trace")

    page.goto(portal.url + f"/ns/USER/trace/{repair.session_of('SyncRouter')}")
    assert page.locator("#trace-errors").count() == 1  # its caller had the error
    assert page.locator("#session-suspended").count() == 0
    note = page.inner_text("#session-resubmitted")
    assert "Repaired:" not in note and "its response cannot reach SyncRouter" in note
    assert not (repair.folder / "routed-2").exists()
