"""The production monitor and the configuration diagram's health, in a real browser: one
production where an item errors, one is disabled (its queue grows) and one runs; the lights,
counters and queues refresh without a page reload; an operator acknowledges an error, a
viewer sees it but cannot.

One server, one browser and one production for the module; the tests run in order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from portal_support import Portal, ServedProduction, served_production
from remote_server import VIEWER

PRODUCTION = "Health.Production"

COMPONENTS = '''
import json
import os
from dataclasses import dataclass

from iop import BusinessOperation, Message, PollingBusinessService, setting


@dataclass
class Order(Message):
    n: int = 0
    fail: bool = False


class Inbox(PollingBusinessService):
    """Sends the Order of each JSON file in Folder (then removes it): to Parked when the
    file says so, else to Worker."""

    Folder = setting("")

    def on_poll(self):
        for name in sorted(os.listdir(self.Folder)):
            if name.endswith(".json"):
                path = os.path.join(self.Folder, name)
                with open(path) as fh:
                    data = json.load(fh)
                os.remove(path)
                target = data.pop("to", "Parked" if data.pop("park", False) else "Worker")
                self.send_request_async(target, Order(**data))


class Flaky(BusinessOperation):
    """A remote system that refuses every order while a file named "down" is in Folder."""

    Folder = setting("")

    def on_message(self, request):
        if os.path.exists(os.path.join(self.Folder, "down")):
            raise ConnectionError("remote system down")
        return None


class Worker(BusinessOperation):
    """Refuses an order marked to fail."""

    def on_message(self, request):
        if request.fail:
            raise ValueError(f"order {request.n} refused")
        return None
'''

SETTINGS = '''
from health_components import Flaky, Inbox, Worker

from iop import Production

prod = Production("{production}")
prod.service("Inbox", Inbox).host_setting("Folder", {inbox!r}).adapter_setting("CallInterval", "0.3")
prod.operation("Worker", Worker)
prod.operation("Parked", Worker, enabled=False)
prod.operation("Flaky", Flaky).host_settings_update({{
    "Folder": {inbox!r}, "ReplyCodeActions": "E=R", "FailureTimeout": -1, "RetryInterval": 0.3}})
prod.operation("Idle", Worker).host_setting("InactivityTimeout", 3)
PRODUCTIONS = [prod]
'''


@dataclass
class Health:
    served: ServedProduction

    @property
    def portal(self) -> Portal:
        return self.served.portal

    @property
    def inbox(self) -> Path:
        return self.served.inbox

    def send(self, *orders: dict[str, Any]) -> None:
        for order in orders:
            self.served.drop(f"order-{order['n']:04d}.json", order)

    def counts(self, target: str) -> dict[str, int]:
        """``iop --messages --count --target TARGET``, as the CLI prints it."""
        return self.served.counts(target=target)


@pytest.fixture(scope="module")
def health(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Health]:
    with served_production(tmp_path_factory.mktemp("health"), PRODUCTION,
                           ("health_components.py", COMPONENTS), SETTINGS) as served:
        yield Health(served)


def _row(page: Any, item: str) -> Any:
    return page.locator(f"#monitor-items tr[data-item='{item}']")


def _light(page: Any, item: str) -> str:
    return str(_row(page, item).get_attribute("data-light"))


def _count(page: Any, item: str, name: str) -> int:
    return int(_row(page, item).locator(f"[data-count='{name}']").inner_text())


def _mark(page: Any) -> None:
    """A mark in the page's window: still there later means the page was never reloaded."""
    page.evaluate("window.__notReloaded = true")


def _not_reloaded(page: Any) -> bool:
    return bool(page.evaluate("window.__notReloaded === true"))


def test_monitor_shows_lights_counts_and_queues_live(health: Health, wait_for: Any) -> None:
    portal, page = health.portal, health.portal.page
    portal.login()
    page.goto(portal.url + "/ns/USER/monitor")
    wait_for(lambda: _light(page, "Worker") == "running" and _light(page, "Inbox") == "running",
             timeout=60, what="the running items to show green")
    assert _light(page, "Parked") == "disabled"
    wait_for(lambda: _light(page, "Idle") == "inactive", timeout=30,
             what="Idle, idle past its InactivityTimeout of 3 s, to show yellow")
    _mark(page)

    health.send({"n": 1}, {"n": 2}, {"n": 3, "park": True}, {"n": 4, "park": True})
    wait_for(lambda: _count(page, "Worker", "completed") == 2
             and _count(page, "Parked", "queued") == 2, timeout=60,
             what="the counters to follow without a reload")
    assert _not_reloaded(page)
    worker = health.counts("Worker")
    assert _count(page, "Worker", "received") == sum(worker.values())
    assert _count(page, "Worker", "completed") == worker["completed"]
    assert _count(page, "Worker", "errored") == worker.get("error", 0) == 0
    parked = health.counts("Parked")
    assert _count(page, "Parked", "queued") == parked.get("queued", 0) == 2
    assert _count(page, "Inbox", "sent") == 4
    queue = page.locator("#monitor-queues tr[data-item='Parked']")
    assert queue.locator("td").nth(1).inner_text() == "2"
    assert "disabled" in queue.inner_text()
    assert _light(page, "Worker") == "running"
    bars = page.locator("#rate-chart g.minute")
    assert bars.count() == 60
    assert sum(int(bars.nth(i).get_attribute("data-messages") or 0) for i in range(60)) >= 4
    portal.shot("monitor-01-healthy")

    health.send({"n": 5, "fail": True})
    wait_for(lambda: _light(page, "Worker") == "error", timeout=60,
             what="Worker's light to turn red without a reload")
    assert _not_reloaded(page)
    wait_for(lambda: _count(page, "Worker", "errored") == 1, timeout=30,
             what="the error counter")
    assert health.counts("Worker")["error"] == 1
    assert "order 5 refused" in _row(page, "Worker").locator(".item-error").inner_text()
    errors = page.locator("#rate-chart g.minute")
    assert sum(int(errors.nth(i).get_attribute("data-errors") or 0) for i in range(60)) >= 1
    assert _light(page, "Parked") == "disabled" and _light(page, "Inbox") == "running"
    portal.shot("monitor-02-failing")


def test_diagram_shows_lights_queues_and_acknowledges(health: Health, wait_for: Any) -> None:
    portal, page = health.portal, health.portal.page
    page.goto(portal.url + f"/ns/USER/config?production={PRODUCTION}")
    dot = lambda item: page.locator(  # noqa: E731
        f"#config-diagram a[data-item='{item}'] circle.light-dot")
    assert dot("Worker").get_attribute("data-light") == "error"
    assert dot("Parked").get_attribute("data-light") == "disabled"
    assert dot("Inbox").get_attribute("data-light") == "running"
    assert page.locator("#config-diagram a[data-item='Parked'] text.queue-count").text_content() \
        == "2"
    strip = page.locator("[data-item-error='Worker']")
    assert "order 5 refused" in strip.inner_text()
    portal.shot("monitor-03-diagram-error")

    strip.locator("button[data-ack='Worker']").click()
    page.wait_for_load_state()
    assert "Acknowledged the errors and alerts of item Worker" in page.inner_text("main .flash")
    assert dot("Worker").get_attribute("data-light") == "running"
    assert page.locator("[data-item-error='Worker']").count() == 0
    store = portal.store()
    assert any("acknowledged by admin" in e.text for e in store.newest_log("Worker", "info"))

    # A new error shows on the diagram without a reload, queue counts follow too.
    _mark(page)
    health.send({"n": 6, "fail": True}, {"n": 7, "park": True})
    wait_for(lambda: dot("Worker").get_attribute("data-light") == "error", timeout=60,
             what="the diagram's light to turn red live")
    wait_for(lambda: page.locator("#config-diagram a[data-item='Parked'] text.queue-count")
             .text_content() == "3", timeout=30, what="the diagram's queue count to follow")
    assert page.locator("[data-item-error='Worker']").count() == 1
    assert _not_reloaded(page)


def test_viewer_sees_errors_but_cannot_acknowledge(health: Health) -> None:
    portal, page = health.portal, health.portal.page
    page.click("form[action='/logout'] button")
    portal.login(VIEWER)
    page.goto(portal.url + "/ns/USER/monitor")
    assert _light(page, "Worker") == "error"
    assert page.locator("button[data-ack]").count() == 0
    page.goto(portal.url + f"/ns/USER/config?production={PRODUCTION}")
    assert page.locator("[data-item-error='Worker']").count() == 1
    assert page.locator("button[data-ack]").count() == 0
    # The action itself is refused to a viewer, even with a valid form.
    csrf = page.locator("form[action='/logout'] input[name=csrf]").get_attribute("value")
    answer = page.request.post(portal.url + "/ns/USER/monitor/acknowledge", form={
        "csrf": csrf, "production": PRODUCTION, "item": "Worker", "back": "monitor"},
        headers={"Origin": portal.url.rstrip("/")}, max_redirects=0)
    assert answer.status == 403
    assert re.search(r"needs the operator role", answer.text())
    page.goto(portal.url + "/ns/USER/monitor")
    assert _light(page, "Worker") == "error"


def test_retrying_light_while_a_message_is_retried(health: Health, wait_for: Any) -> None:
    portal, page = health.portal, health.portal.page
    page.goto(portal.url + "/ns/USER/monitor")
    assert _light(page, "Flaky") == "running"
    (health.inbox / "down").touch()
    health.send({"n": 20, "to": "Flaky"})
    wait_for(lambda: _light(page, "Flaky") == "retrying", timeout=60,
             what="Flaky's light to show it retrying")
    portal.shot("monitor-04-retrying")
    (health.inbox / "down").unlink()
    wait_for(lambda: _light(page, "Flaky") == "running", timeout=60,
             what="Flaky back to green once the retried message went through")
    assert _count(page, "Flaky", "completed") == 1


def test_state_answers_304_while_nothing_changes(health: Health, wait_for: Any) -> None:
    portal, page = health.portal, health.portal.page
    url = portal.url + f"/ns/USER/monitor/state?production={PRODUCTION}"
    first = page.request.get(url)
    assert first.status == 200
    etag = first.headers["etag"]
    body = first.json()
    assert body["items"]["Worker"]["light"] == "error"
    assert body["items"]["Parked"]["queue"] == 3

    def unchanged() -> bool:
        return bool(page.request.get(url, headers={"If-None-Match": etag}).status == 304)

    wait_for(unchanged, timeout=20, what="a 304 for an unchanged production")
