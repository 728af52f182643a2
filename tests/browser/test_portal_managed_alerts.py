"""Managed alerts in a real browser: an operation of a running production raises alerts, the
navigation counts the open ones, an operator acknowledges, assigns, notes and closes them on
the Alerts pages; a viewer reads but cannot act (no buttons, a POST answered 403); the REST
API's remote client lists and acts with the same role checks.

One server, one browser and one production for the module; the tests run in order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from portal_support import Portal, served_production
from remote_server import ADMIN, OPERATOR, VIEWER

from iop.client.remote import RemoteClient
from iop.errors import RemoteError

PRODUCTION = "Alerts.Production"

COMPONENTS = '''
from iop import BusinessOperation


class Watcher(BusinessOperation):
    """Raises an alert for every message it receives."""

    def on_message(self, request):
        self.log_alert(f"watcher saw {request.StringValue}")
        return None
'''

SETTINGS = '''
from alert_components import Watcher

from iop import Production

prod = Production("{production}")
prod.operation("Watcher", Watcher)
PRODUCTIONS = [prod]
'''


@dataclass
class Alerts:
    portal: Portal

    def remote(self, user: tuple[str, str] = ADMIN) -> RemoteClient:
        return RemoteClient(self.portal.url, *user, namespace="USER")

    def raise_alert(self, text: str) -> None:
        self.remote().test("Watcher", "Ens.StringRequest", {"StringValue": text})


@pytest.fixture(scope="module")
def alerts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Alerts]:
    with served_production(tmp_path_factory.mktemp("alerts"), PRODUCTION,
                           ("alert_components.py", COMPONENTS), SETTINGS) as served:
        yield Alerts(served.portal)


def _rows(page: Any) -> list[tuple[int, str]]:
    rows = page.locator("#alerts-table tbody tr")
    return [(int(rows.nth(i).get_attribute("data-id")), rows.nth(i).get_attribute("data-state"))
            for i in range(rows.count())]


def _flash(page: Any) -> str:
    page.wait_for_load_state()
    return str(page.inner_text("main .flash"))


def test_raised_alerts_are_counted_and_listed(alerts: Alerts) -> None:
    portal, page = alerts.portal, alerts.portal.page
    portal.login()
    page.goto(portal.url + "/ns/USER/monitor")
    assert page.locator("#alerts-badge").count() == 0  # nothing open yet
    alerts.raise_alert("order 1")
    alerts.raise_alert("order 2")
    page.reload()
    assert page.inner_text("#alerts-badge") == "2"
    page.click("#manage-alerts")  # the monitor's open alerts link to the managed ones
    page.wait_for_url("**/alerts")
    page.click("header nav a[data-nav='alerts']")
    page.wait_for_url("**/alerts")
    rows = _rows(page)
    assert [state for _, state in rows] == ["new", "new"]
    assert "watcher saw order 2" in page.inner_text("#alerts-table tbody tr >> nth=0")
    assert page.inner_text("#alert-tabs a[data-tab='open']") == "Open (2)"
    portal.shot("alerts-01-open")


def test_an_operator_acknowledges_assigns_notes_and_closes(alerts: Alerts) -> None:
    portal, page = alerts.portal, alerts.portal.page
    (newest, _), (oldest, _) = _rows(page)
    page.click(f"#alerts-table tr[data-id='{oldest}'] button[value='acknowledge']")
    assert f"Alert {oldest} acknowledged." in _flash(page)
    assert dict(_rows(page))[oldest] == "acknowledged"
    assert page.inner_text("#alerts-badge") == "2"  # acknowledged is still open

    page.click(f"#alerts-table tr[data-id='{newest}'] a.alert-link")
    page.wait_for_url(f"**/alerts/{newest}")
    assert page.inner_text("#alert-state") == "new"
    assert page.inner_text("#alert-text") == "watcher saw order 2"
    page.fill("#owner-input", "operator on duty")
    page.click("#assign-button")
    assert f"Alert {newest} assigned." in _flash(page)
    assert page.inner_text("#alert-owner") == "operator on duty"
    page.fill("#note-input", "the partner resends order 2 tonight")
    page.click("#note-button")
    assert f"Alert {newest} noted." in _flash(page)
    page.fill("#note-input", "resent and received")
    page.click("#close-button")
    assert f"Alert {newest} closed." in _flash(page)
    assert page.inner_text("#alert-state") == "closed"
    history = page.inner_text("#alert-notes")
    for words in ("assigned to operator on duty", "the partner resends order 2 tonight",
                  "resent and received", "admin"):
        assert words in history
    assert page.inner_text("#alerts-badge") == "1"
    assert page.locator("#reopen-button").count() == 1
    portal.shot("alerts-02-closed")

    page.goto(portal.url + "/ns/USER/alerts?state=closed")
    assert [i for i, _ in _rows(page)] == [newest]
    found = portal.store().get_alert(newest)
    assert (found.state, found.owner) == ("closed", "operator on duty")


def test_bad_input_gets_one_clear_line(alerts: Alerts) -> None:
    portal, page = alerts.portal, alerts.portal.page
    page.goto(portal.url + "/ns/USER/alerts")
    (open_id, _), = _rows(page)
    page.goto(portal.url + f"/ns/USER/alerts/{open_id}")
    page.click("#note-button")  # no words
    assert "a note needs some words" in _flash(page)
    page.goto(portal.url + "/ns/USER/alerts/999999")
    assert "alert 999999 does not exist" in page.inner_text("main")


def test_a_viewer_reads_but_cannot_act(alerts: Alerts) -> None:
    portal, page = alerts.portal, alerts.portal.page
    page.click("form[action='/logout'] button")
    portal.login(VIEWER)
    page.goto(portal.url + "/ns/USER/alerts")
    (open_id, state), = _rows(page)
    assert state == "acknowledged"
    assert page.inner_text("#alerts-badge") == "1"
    assert page.locator("#alerts-table button").count() == 0
    page.goto(portal.url + f"/ns/USER/alerts/{open_id}")
    assert page.locator("#alert-actions").count() == 0
    assert "need the operator role" in page.inner_text("#read-only")
    csrf = page.locator("form[action='/logout'] input[name=csrf]").get_attribute("value")
    answer = page.request.post(portal.url + "/ns/USER/alerts/action", form={
        "csrf": csrf, "id": str(open_id), "action": "close"},
        headers={"Origin": portal.url.rstrip("/")}, max_redirects=0)
    assert answer.status == 403 and "needs the operator role" in answer.text()
    assert portal.store().get_alert(open_id).state == "acknowledged"


def test_the_rest_api_lists_and_acts_with_role_checks(alerts: Alerts) -> None:
    viewer, operator = alerts.remote(VIEWER), alerts.remote(OPERATOR)
    alerts.raise_alert("order 3")
    listing = viewer.alerts()
    assert listing["counts"]["open"] == 2
    newest = listing["alerts"][0]
    assert (newest["text"], newest["state"], newest["item"]) == (
        "watcher saw order 3", "new", "Watcher")
    assert newest["production"] == PRODUCTION
    with pytest.raises(RemoteError, match="operator"):
        viewer.alert_action(newest["id"], "acknowledge")
    done = operator.alert_action(newest["id"], "assign", owner="someone else")
    assert done["owner"] == "someone else"
    assert done["notes"][-1]["user"] == "operator"  # the server's account, not a sent name
    closed = operator.alert_action(newest["id"], "close", text="seen")
    assert closed["state"] == "closed"
    with pytest.raises(RemoteError, match="is closed; reopen it first"):
        operator.alert_action(newest["id"], "acknowledge")
    with pytest.raises(RemoteError, match="unknown alert action"):
        operator.alert_action(newest["id"], "shred")
    assert viewer.alert(newest["id"])["notes"][-1]["text"] == "seen"
    assert [a["id"] for a in viewer.alerts("closed")["alerts"]][0] == newest["id"]
