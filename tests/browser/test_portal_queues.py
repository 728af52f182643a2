"""Queues you can act on, in a real browser: a disabled item's queue fills, the operator
drills down from the monitor, aborts one message and suspends another, enables the item and
resubmits the suspended one; a message in progress is refused; a viewer sees the queue but
cannot act (no buttons, a POST answered 403); the Client API's remote side does the same.

One server, one browser and one production for the module; the tests run in order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from portal_support import Portal, ServedProduction, served_production
from remote_server import ADMIN, OPERATOR, VIEWER

from iop.client.remote import RemoteClient
from iop.errors import RemoteError

PRODUCTION = "Queues.Production"

COMPONENTS = '''
import json
import os
import time
from dataclasses import dataclass

from iop import BusinessOperation, Message, PollingBusinessService, setting


@dataclass
class Order(Message):
    n: int = 0


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


class Worker(BusinessOperation):
    def on_message(self, request):
        return None


class Slow(BusinessOperation):
    """Holds each order while a file named "hold" is in Folder (so it stays in progress)."""

    Folder = setting("")

    def on_message(self, request):
        deadline = time.monotonic() + 120
        while os.path.exists(os.path.join(self.Folder, "hold")) and time.monotonic() < deadline:
            time.sleep(0.1)
        return None
'''

SETTINGS = '''
from queue_components import Inbox, Slow, Worker

from iop import Production

prod = Production("{production}")
prod.service("Inbox", Inbox).host_setting("Folder", {inbox!r}).adapter_setting("CallInterval", "0.3")
prod.operation("Parked", Worker, enabled=False)
prod.operation("Slow", Slow).host_setting("Folder", {inbox!r})
PRODUCTIONS = [prod]
'''


@dataclass
class Queues:
    served: ServedProduction

    @property
    def portal(self) -> Portal:
        return self.served.portal

    @property
    def inbox(self) -> Path:
        return self.served.inbox

    def send(self, target: str, *numbers: int) -> None:
        for n in numbers:
            self.served.drop(f"order-{n:04d}.json", {"n": n, "to": target})

    def remote(self, user: tuple[str, str] = ADMIN) -> RemoteClient:
        return RemoteClient(self.portal.url, *user, namespace="USER")

    def status(self, message_id: int) -> str:
        header = self.portal.store().get_header(message_id)
        assert header is not None
        return str(header.status)


@pytest.fixture(scope="module")
def queues(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Queues]:
    with served_production(tmp_path_factory.mktemp("queues"), PRODUCTION,
                           ("queue_components.py", COMPONENTS), SETTINGS) as served:
        try:
            yield Queues(served)
        finally:
            (served.inbox / "hold").unlink(missing_ok=True)


def _ids(page: Any) -> list[int]:
    rows = page.locator("#queue-messages tbody tr")
    return [int(rows.nth(i).get_attribute("data-id")) for i in range(rows.count())]


def _act(page: Any, message_id: int, button: str) -> str:
    page.check(f"#queue-messages input[name=ids][value='{message_id}']")
    page.click(button)
    page.wait_for_load_state()
    return str(page.inner_text("main .flash"))


def test_drill_down_from_the_monitor_abort_and_suspend(queues: Queues, wait_for: Any) -> None:
    portal, page = queues.portal, queues.portal.page
    page.on("dialog", lambda dialog: dialog.accept())  # Abort asks for confirmation
    portal.login()
    queues.send("Parked", 1, 2, 3, 4)
    page.goto(portal.url + "/ns/USER/monitor")
    row = page.locator("#monitor-queues tr[data-item='Parked']")
    wait_for(lambda: row.count() == 1 and row.locator("td").nth(1).inner_text() == "4",
             timeout=60, what="Parked's queue of 4 on the monitor")
    assert "disabled" in row.inner_text()
    page.goto(portal.url + "/ns/USER/queues")  # the Queues page marks it too and links to it
    assert page.inner_text("#queue-table tr[data-item='Parked'] .item-held") == "disabled"
    assert page.locator("#queue-table tr[data-item='Slow'] .item-held").count() == 0
    page.go_back()
    row.locator("a.queue-link").click()
    page.wait_for_url("**/queues/Parked")
    assert page.inner_text("#item-state") == "disabled"
    assert "nothing takes these messages" in page.inner_text("#queue-held")
    ids = _ids(page)
    assert len(ids) == 4 and ids == sorted(ids)
    assert page.locator("#queue-messages tr[data-state='waiting']").count() == 4
    link = page.locator(f"#queue-messages tr[data-id='{ids[0]}'] a.message-link")
    assert link.get_attribute("href") == f"/ns/USER/messages/{ids[0]}"
    portal.shot("queues-01-parked")

    flash = _act(page, ids[0], "#abort-button")
    assert f"Aborted 1 message(s): #{ids[0]}" in flash
    assert _ids(page) == ids[1:]
    assert queues.status(ids[0]) == "aborted"
    store = portal.store()
    assert any(f"message {ids[0]} aborted by admin from the queue of Parked" == e.text
               for e in store.newest_log("Parked", "info", limit=20))

    flash = _act(page, ids[1], "#suspend-button")
    assert f"Suspended 1 message(s): #{ids[1]}" in flash
    assert _ids(page) == ids[2:]
    assert queues.status(ids[1]) == "suspended"
    page.goto(portal.url + "/ns/USER/suspended")
    assert page.locator(f"#suspended-table tr[data-id='{ids[1]}']").count() == 1
    page.goto(portal.url + f"/ns/USER/messages/{ids[0]}")
    assert "aborted" in page.inner_text("main")


def test_enabled_item_drains_its_queue_and_resubmit_delivers(queues: Queues,
                                                             wait_for: Any) -> None:
    portal, page = queues.portal, queues.portal.page
    admin = queues.remote()
    saved = admin.save_item(PRODUCTION, "Parked", {"enabled": True})
    assert saved["changed"] == ["Enabled"]
    admin.update()
    waiting = [m["id"] for m in admin.queue_messages("Parked")["messages"]]
    wait_for(lambda: all(queues.status(i) == "completed" for i in waiting),
             timeout=60, what="the enabled item to take its queue")
    page.goto(portal.url + "/ns/USER/queues/Parked")
    assert page.locator("#queue-empty").count() == 1
    page.goto(portal.url + "/ns/USER/suspended")
    (row_id,) = [int(page.locator("#suspended-table tbody tr").nth(i).get_attribute("data-id"))
                 for i in range(page.locator("#suspended-table tbody tr").count())]
    page.check(f"#suspended-table input[name=ids][value='{row_id}']")
    page.click("#resubmit-button")
    page.wait_for_load_state()
    assert f"Resubmitted 1 message(s): #{row_id}" in page.inner_text("main .flash")
    wait_for(lambda: queues.status(row_id) == "completed", timeout=60,
             what="the resubmitted message to be delivered")


def test_a_message_in_progress_is_refused(queues: Queues, wait_for: Any) -> None:
    portal, page = queues.portal, queues.portal.page
    (queues.inbox / "hold").touch()
    queues.send("Slow", 10, 11)
    page.goto(portal.url + "/ns/USER/queues/Slow")

    def busy() -> bool:
        page.reload()
        # A job may claim both at once (a batch): then both are in progress.
        return page.locator("#queue-messages tr[data-state='in-progress']").count() >= 1
    wait_for(busy, timeout=60, what="a message in progress on Slow")
    held = page.locator("#queue-messages tr[data-state='in-progress']").first
    held_id = int(held.get_attribute("data-id"))
    assert held.locator("input[name=ids]").count() == 0
    owner = held.locator(".lease-owner").inner_text()
    assert ":Slow:" in owner  # the job's id: host, pid, item, slot
    portal.shot("queues-02-in-progress")
    csrf = page.locator("#queue-form input[name=csrf]").get_attribute("value")
    answer = page.request.post(portal.url + "/ns/USER/queues/action", form={
        "csrf": csrf, "item": "Slow", "action": "abort", "ids": str(held_id)},
        headers={"Origin": portal.url.rstrip("/")})
    assert answer.status == 200  # the redirect's page, saying why
    assert f"message {held_id} is in progress (held by job {owner})" in answer.text()
    assert "nothing was aborted" in answer.text()
    assert queues.status(held_id) == "delivered"
    (queues.inbox / "hold").unlink()


def test_the_client_api_lists_and_acts_remotely(queues: Queues, wait_for: Any) -> None:
    admin = queues.remote()
    saved = admin.save_item(PRODUCTION, "Parked", {"enabled": False})
    assert saved["changed"] == ["Enabled"]
    admin.update()
    queues.send("Parked", 20, 21, 22)
    operator, viewer = queues.remote(OPERATOR), queues.remote(VIEWER)
    wait_for(lambda: len(viewer.queue_messages("Parked")["messages"]) == 3, timeout=60,
             what="three orders in Parked's queue")
    first = viewer.queue_messages("Parked", limit=2)
    rest = viewer.queue_messages("Parked", after_id=first["next_after_id"], limit=2)
    ids = [m["id"] for m in first["messages"] + rest["messages"]]
    assert len(ids) == 3 and rest["next_after_id"] is None
    with pytest.raises(RemoteError, match="operator"):
        viewer.queue_action("Parked", ids[:1], "abort")
    assert operator.queue_action("Parked", ids[:1], "abort") == [
        {"id": ids[0], "status": "aborted"}]
    assert operator.queue_action("Parked", ids[1:2], "suspend") == [
        {"id": ids[1], "status": "suspended"}]
    with pytest.raises(RemoteError, match=f"message {ids[0]} is not waiting"):
        operator.queue_action("Parked", ids[:1], "suspend")
    log = [e.text for e in queues.portal.store().newest_log("Parked", "info", limit=20)]
    assert f"message {ids[0]} aborted by operator from the queue of Parked" in log


def test_a_viewer_sees_the_queue_but_cannot_act(queues: Queues) -> None:
    portal, page = queues.portal, queues.portal.page
    page.click("form[action='/logout'] button")
    portal.login(VIEWER)
    page.goto(portal.url + "/ns/USER/queues/Parked")
    (waiting,) = _ids(page)
    assert page.locator("#abort-button, #suspend-button, #queue-messages input").count() == 0
    csrf = page.locator("form[action='/logout'] input[name=csrf]").get_attribute("value")
    answer = page.request.post(portal.url + "/ns/USER/queues/action", form={
        "csrf": csrf, "item": "Parked", "action": "abort", "ids": str(waiting)},
        headers={"Origin": portal.url.rstrip("/")}, max_redirects=0)
    assert answer.status == 403 and "needs the operator role" in answer.text()
    assert queues.status(waiting) == "queued"
