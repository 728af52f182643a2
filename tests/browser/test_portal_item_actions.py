"""The selected item's panel in a real browser: Test an operation from a form built from its
handled message classes (response and trace link), Restart its jobs (new pid, nothing
lost), Disable then Enable it live (a message sent meanwhile waits, then is handled), its
Log / Messages / Queue tabs, a viewer refused every action, and Test refused once the
production's TestingEnabled is off.

One server, one browser and one production for the module; the tests run in order.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from portal_support import Portal, ServedProduction, served_production
from remote_server import VIEWER

PRODUCTION = "Panel.Production"

COMPONENTS = '''
import json
import os
from dataclasses import dataclass

from iop import BusinessOperation, Message, PollingBusinessService, PydanticMessage, handler, setting


@dataclass
class Greeting(Message):
    name: str = ""
    times: int = 1


class Shout(PydanticMessage):
    text: str
    loud: bool = True


@dataclass
class Reply(Message):
    text: str = ""


class Inbox(PollingBusinessService):
    """Sends a Greeting to Echo for each JSON file in Folder (then removes it)."""

    Folder = setting("")

    def on_poll(self):
        for name in sorted(os.listdir(self.Folder)):
            if name.endswith(".json"):
                path = os.path.join(self.Folder, name)
                with open(path) as fh:
                    data = json.load(fh)
                os.remove(path)
                self.send_request_async("Echo", Greeting(**data))


class Echo(BusinessOperation):
    @handler(Greeting)
    def greet(self, request):
        self.log_info(f"greeting {request.name}")
        if request.name == "boom":
            raise ValueError("boom refused")
        return Reply(" ".join([f"hello {request.name}"] * request.times))

    @handler(Shout)
    def shout(self, request):
        return Reply(request.text.upper() if request.loud else request.text)
'''

SETTINGS = '''
from panel_components import Echo, Inbox

from iop import Production

prod = Production("{production}", testing_enabled={testing})
prod.service("Inbox", Inbox).host_setting("Folder", {inbox!r}).adapter_setting("CallInterval", "0.3")
prod.operation("Echo", Echo)
PRODUCTIONS = [prod]
'''


@dataclass
class Panel:
    served: ServedProduction
    sent: int = 0

    @property
    def portal(self) -> Portal:
        return self.served.portal

    def send(self, count: int) -> None:
        for _ in range(count):
            self.sent += 1
            self.served.drop(f"greeting-{self.sent:04d}.json", {"name": f"g{self.sent}"})

    def counts(self, **filters: str) -> dict[str, int]:
        return self.served.counts(**filters)

    def migrate(self, testing: bool) -> None:
        self.served.load(testing=testing)

    def open(self, tab: str = "settings") -> Any:
        page = self.portal.page
        page.goto(self.portal.url + f"/ns/USER/config?production={PRODUCTION}&item=Echo"
                  f"&tab={tab}")
        return page


@pytest.fixture(scope="module")
def panel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Panel]:
    with served_production(tmp_path_factory.mktemp("panel"), PRODUCTION,
                           ("panel_components.py", COMPONENTS), SETTINGS,
                           testing=True) as served:
        served.portal.page.on("dialog", lambda dialog: dialog.accept())  # Restart asks first
        yield Panel(served)


def _pids(page: Any) -> str:
    return str(page.locator("#item-pids").inner_text())


def _mark(page: Any) -> None:
    page.evaluate("window.__notReloaded = true")


def _not_reloaded(page: Any) -> bool:
    return bool(page.evaluate("window.__notReloaded === true"))


def test_test_an_operation_from_its_panel(panel: Panel, wait_for: Any) -> None:
    portal, page = panel.portal, panel.portal.page
    portal.login()
    page.goto(portal.url + "/ns/USER/monitor")
    page.click("#monitor-items tr[data-item='Echo'] a")  # the monitor's row opens the panel
    page.wait_for_url("**item=Echo**")
    assert page.locator("#item-actions[data-item='Echo']").count() == 1
    page.click("#item-tabs a[data-tab='test']")
    page.wait_for_url("**tab=test**")
    classes = page.locator("#test-classes [data-test-class]")
    names = [classes.nth(i).get_attribute("data-test-class") for i in range(classes.count())]
    assert names == ["panel_components.Greeting", "panel_components.Shout"]
    form = page.locator("form.test-form:visible")
    assert form.locator("[data-field='name'] .tag").inner_text() == "str"
    assert form.locator("[data-field='times'] .tag").inner_text() == "int"
    form.locator("input[name='field:name']").fill("Ada")
    form.locator("input[name='field:times']").fill("2")
    _mark(page)
    form.locator("button[type=submit]").click()
    wait_for(lambda: page.locator("#test-result").is_visible(), timeout=60,
             what="the test's response")
    assert _not_reloaded(page)
    assert page.locator("#test-response-class").inner_text() == "panel_components.Reply"
    assert json.loads(page.locator("#test-response-body").inner_text()) == {
        "text": "hello Ada hello Ada"}
    portal.shot("item-panel-01-test")

    # A field of the wrong type is named, nothing is sent.
    form.locator("input[name='field:times']").fill("two")
    form.locator("button[type=submit]").click()
    wait_for(lambda: "is not a whole number" in page.locator("#test-response-body").inner_text(),
             timeout=30, what="the bad field's one-line error")

    # The item fails: its error is said, and the trace link shows where.
    form.locator("input[name='field:times']").fill("1")
    form.locator("input[name='field:name']").fill("boom")
    form.locator("button[type=submit]").click()
    wait_for(lambda: "boom refused" in page.locator("#test-response-body").inner_text(),
             timeout=60, what="the failed test's error")
    failed = page.locator("#test-trace").inner_text().rsplit(" ", 1)[-1]
    assert panel.counts(session=failed, target="Echo") == {"error": 1}
    page.reload()  # its error strip, acknowledged so that the light is green again
    page.click("[data-item-error='Echo'] button[data-ack='Echo']")
    page.wait_for_load_state()
    page.click("#item-tabs a[data-tab='test']")
    page.wait_for_url("**tab=test**")

    # The Pydantic class's form: a required str and a bool box.
    page.click("#test-classes [data-test-class='panel_components.Shout']")
    form = page.locator("form.test-form:visible")
    assert form.locator("[data-field='text'] .req").count() == 1
    form.locator("input[name='field:text']").fill("quiet please")
    form.locator("button[type=submit]").click()
    wait_for(lambda: "QUIET PLEASE" in page.locator("#test-response-body").inner_text(),
             timeout=60, what="the Shout response")
    trace = page.locator("#test-trace")
    session = trace.inner_text().rsplit(" ", 1)[-1]
    trace.click()
    page.wait_for_url(f"**/trace/{session}")
    assert "Echo" in page.inner_text("main")
    assert "EnsLib.Testing.Service" in page.inner_text("main")
    assert panel.counts(session=session) == {"completed": 2}


def test_restart_changes_the_job_and_loses_nothing(panel: Panel, wait_for: Any) -> None:
    page = panel.open()
    before = _pids(page)
    assert before.isdigit()
    received = sum(panel.counts(target="Echo").values())
    panel.send(20)
    page.click("#item-restart")
    wait_for(lambda: "Restarted Echo" in page.locator("#item-action-result").inner_text(),
             timeout=60, what="the restart's answer")
    after = _pids(page)
    assert after.isdigit() and after != before
    jobs = panel.portal.engine.iop_local("--jobs")
    assert after in jobs.stdout
    wait_for(lambda: sum(panel.counts(target="Echo").values()) == received + 20
             and panel.counts(target="Echo").get("error") == 1,
             timeout=90, what="every greeting sent around the restart to complete")
    assert set(panel.counts(target="Echo")) == {"completed", "error"}  # the boom test's
    assert panel.counts(target="Echo")["error"] == 1


def test_disable_then_enable_applies_at_once(panel: Panel, wait_for: Any) -> None:
    page = panel.open()
    _mark(page)
    assert page.locator("#item-enable").inner_text() == "Disable"
    page.click("#item-enable")
    wait_for(lambda: page.locator("#item-enable").inner_text() == "Enable", timeout=60,
             what="the button to turn to Enable")
    wait_for(lambda: page.locator("#item-light").get_attribute("data-light") == "disabled",
             timeout=30, what="the panel's light to show disabled without a reload")
    assert page.locator("#config-diagram a[data-item='Echo'] circle.light-dot") \
        .get_attribute("data-light") == "disabled"
    assert _pids(page) == "none"
    done = panel.portal.engine.iop_local("--jobs")
    assert "Echo" not in done.stdout
    completed = panel.counts(target="Echo").get("completed", 0)
    panel.send(1)
    wait_for(lambda: panel.counts(target="Echo").get("queued", 0) == 1, timeout=30,
             what="the greeting to wait in Echo's queue")
    time.sleep(2)
    assert panel.counts(target="Echo").get("completed", 0) == completed
    portal = panel.portal
    portal.shot("item-panel-02-disabled")

    page.click("#item-enable")
    wait_for(lambda: page.locator("#item-enable").inner_text() == "Disable", timeout=60,
             what="the button to turn to Disable")
    wait_for(lambda: page.locator("#item-light").get_attribute("data-light") == "running",
             timeout=30, what="the panel's light back to running")
    assert _pids(page).isdigit()
    wait_for(lambda: panel.counts(target="Echo").get("completed", 0) == completed + 1,
             timeout=60, what="the waiting greeting to be handled once enabled")
    assert _not_reloaded(page)


def test_log_messages_and_queue_tabs(panel: Panel) -> None:
    page = panel.open("log")
    ids = [int(x) for x in page.locator("#item-log tbody tr").evaluate_all(
        "rows => rows.map(r => r.getAttribute('data-id'))")]
    assert len(ids) == 20 and ids == sorted(ids, reverse=True)  # newest first
    newest = page.locator("#item-log tbody tr").first.inner_text()
    assert f"greeting g{panel.sent}" in newest  # the greeting handled after enabling
    page.click("#item-tabs a[data-tab='messages']")
    page.wait_for_url("**tab=messages**")
    rows = page.locator("#item-rows tbody tr[data-id]")
    assert rows.count() == 20  # the tab's limit: the viewer has the rest
    page.click("#messages-to")
    page.wait_for_url("**/messages?target=Echo**")
    page.go_back()
    page.click("#item-tabs a[data-tab='queue']")
    page.wait_for_url("**tab=queue**")
    assert "is empty" in page.inner_text("#item-rows")
    assert page.locator("#queue-link").get_attribute("href") == "/ns/USER/queues/Echo"
    page.click("#queue-link")  # the item's own queue page
    page.wait_for_url("**/queues/Echo")
    assert "Echo" in page.inner_text("h1, h2")


def test_viewer_sees_no_action_and_is_refused(panel: Panel) -> None:
    portal, page = panel.portal, panel.portal.page
    page.click("form[action='/logout'] button")
    portal.login(VIEWER)
    page = panel.open()
    assert page.locator("#item-actions").count() == 1
    assert page.locator("#item-restart, #item-enable").count() == 0
    panel.open("test")
    assert page.locator("form.test-form").count() == 0
    assert "needs the operator role" in page.inner_text("#settings-panel")
    csrf = page.locator("form[action='/logout'] input[name=csrf]").get_attribute("value")
    for action, extra in (("test", {}), ("restart", {}), ("enable", {"enabled": "0"})):
        answer = page.request.post(portal.url + f"/ns/USER/items/{action}", form={
            "csrf": csrf, "production": PRODUCTION, "item": "Echo", **extra},
            headers={"Origin": portal.url.rstrip("/")}, max_redirects=0)
        assert answer.status == 403, action
        assert "needs the operator role" in answer.text()
    jobs = panel.portal.engine.iop_local("--jobs")
    assert "Echo" in jobs.stdout  # the refused disable changed nothing


def test_test_refused_when_testing_is_disabled(panel: Panel) -> None:
    portal, page = panel.portal, panel.portal.page
    page.click("form[action='/logout'] button")
    portal.login()
    panel.migrate(testing=False)
    page = panel.open("test")
    refused = page.locator("#testing-refused")
    assert "Testing is not enabled for production Panel.Production" in refused.inner_text()
    assert page.locator("form.test-form").count() == 0
    before = sum(panel.counts(target="Echo").values())
    csrf = page.locator("form[action='/logout'] input[name=csrf]").get_attribute("value")
    answer = page.request.post(portal.url + "/ns/USER/items/test", form={
        "csrf": csrf, "production": PRODUCTION, "item": "Echo", "mode": "json", "body": "{}",
        "classname": "panel_components.Greeting"},
        headers={"Origin": portal.url.rstrip("/"), "Accept": "application/json"},
        max_redirects=0)
    assert answer.status == 409
    assert "TestingEnabled" in answer.json()["error"]
    assert sum(panel.counts(target="Echo").values()) == before  # nothing was sent
