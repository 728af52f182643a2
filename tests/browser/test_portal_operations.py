"""The portal when things go wrong, in a real browser: suspended messages (list, resubmit,
discard, edit and resubmit), alerts in the event log, the engine's failure settings in the
settings editor, production settings, purge, and a troubled production recovered.

One server, one browser and one production for the module; the tests run in order, each
starting from what the previous one left, as an operator's session would. The operation
stands for a remote system that refuses every message while a file named ``down`` exists;
with ``ReplyCodeActions`` ``E=RS``, ``FailureTimeout`` 1 and ``RetryInterval`` 0.2 a message
is retried for a second, then suspended.
"""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from portal_support import Portal, browser_page
from remote_server import start_engine, stop_engine

from iop.store import records as r

PRODUCTION = "Ops.Production"

COMPONENTS = '''
import json
import os
from dataclasses import dataclass

from iop import BusinessOperation, Message, PollingBusinessService, setting


@dataclass
class Order(Message):
    n: int = 0
    note: str = ""


@dataclass
class Receipt(Message):
    n: int = 0
    note: str = ""


class Inbox(PollingBusinessService):
    """Sends the Order of the first JSON file in Folder, then removes the file: one a poll,
    so that each order has a session of its own."""

    Folder = setting("")

    def on_poll(self):
        for name in sorted(os.listdir(self.Folder)):
            if name.endswith(".json"):
                path = os.path.join(self.Folder, name)
                with open(path) as fh:
                    data = json.load(fh)
                os.remove(path)
                self.send_request_async("Remote", Order(**data))
                return


class Remote(BusinessOperation):
    """A remote system that refuses every order while a file named "down" is in Folder."""

    Folder = setting("")

    def on_message(self, request):
        if os.path.exists(os.path.join(self.Folder, "down")):
            raise ConnectionError("remote system down")
        return Receipt(request.n, request.note)
'''

SETTINGS = '''
from ops_components import Inbox, Remote

from iop import Production

prod = Production("{production}")
prod.service("Inbox", Inbox).host_setting("Folder", {inbox!r}).adapter_setting("CallInterval", "1")
prod.operation("Remote", Remote).host_settings_update({{
    "Folder": {remote!r}, "ReplyCodeActions": "E=RS", "FailureTimeout": 1,
    "RetryInterval": 0.2, "AlertOnError": 1}})
PRODUCTIONS = [prod]
'''


@dataclass
class Ops:
    """The portal on the failing production, and the folders that drive it."""

    portal: Portal
    inbox: Path
    remote: Path

    def send(self, *orders: dict[str, Any]) -> None:
        for order in orders:
            path = self.inbox / f"order-{order['n']}.json"
            path.with_suffix(".tmp").write_text(json.dumps(order))
            path.with_suffix(".tmp").rename(path)  # never read half-written


@pytest.fixture(scope="module")
def ops(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ops]:
    root = tmp_path_factory.mktemp("ops")
    project, inbox, remote = root / "project", root / "inbox", root / "remote"
    for folder in (project, inbox, remote):
        folder.mkdir()
    (project / "ops_components.py").write_text(COMPONENTS)
    (project / "settings.py").write_text(SETTINGS.format(
        production=PRODUCTION, inbox=str(inbox), remote=str(remote)))
    engine = start_engine(root / "home")
    try:
        for args in (("-m", str(project / "settings.py")), ("-d", PRODUCTION),
                     ("-s", PRODUCTION, "-D")):
            done = engine.iop_local(*args)
            assert done.returncode == 0, done.stderr
        with browser_page() as page:
            yield Ops(Portal(engine, page, root), inbox, remote)
    finally:
        stop_engine(engine)


def _flash(portal: Portal) -> str:
    return portal.page.inner_text("main .flash")


def _by_n(store: Any, status: str) -> dict[int, Any]:
    """Requests to Remote with ``status``, by the order number in their body."""
    found = {}
    for header in store.query_headers(target="Remote", status=status, limit=0):
        if header.type == r.REQUEST:
            found[json.loads(store.get_body(header))["n"]] = header
    return found


def _row(portal: Portal, message_id: int) -> Any:
    return portal.page.locator(f"#suspended-table tbody tr[data-id='{message_id}']")


def _wait_troubled(portal: Portal, wait_for: Any) -> Any:
    """The production's row once the productions page shows it troubled."""
    row = portal.page.locator(f"tr[data-production='{PRODUCTION}']")

    def troubled() -> bool:
        portal.page.goto(portal.url + "/ns/USER/productions")
        return bool(row.locator(".status").inner_text() == "troubled")

    wait_for(troubled, timeout=30, interval=0.3, what="the production to show troubled")
    return row


def test_failed_messages_are_suspended_and_listed(ops: Ops, wait_for: Any) -> None:
    portal, page = ops.portal, ops.portal.page
    portal.login()
    page.goto(portal.url + "/ns/USER/suspended")
    assert "No suspended messages" in page.inner_text("#suspended-empty")
    assert page.locator("#suspended-badge").count() == 0
    portal.shot("ops-01-suspended-empty")

    (ops.remote / "down").touch()
    ops.send({"n": 1}, {"n": 2}, {"n": 3, "note": "needs a fix"})
    store = portal.store()
    wait_for(lambda: len(_by_n(store, r.SUSPENDED)) == 3, timeout=60,
             what="three orders retried for a second, then suspended")
    page.reload()
    assert page.inner_text("#suspended-badge") == "3"
    suspended = _by_n(store, r.SUSPENDED)
    for n, header in suspended.items():
        row = _row(portal, header.id)
        assert "remote system down" in row.locator(".error-text").inner_text()
        assert json.loads(row.locator(".body-preview").inner_text())["n"] == n
        assert row.locator(".trace-link").get_attribute("href") == \
            f"/ns/USER/trace/{header.session_id}"
    portal.shot("ops-02-suspended-list")


def test_resubmit_after_fixing_the_remote_then_discard(ops: Ops, wait_for: Any) -> None:
    portal, page = ops.portal, ops.portal.page
    store = portal.store()
    suspended = _by_n(store, r.SUSPENDED)
    (ops.remote / "down").unlink()  # the remote system is back

    _row(portal, suspended[1].id).locator("input[name=ids]").check()
    page.click("#resubmit-button")
    assert f"Resubmitted 1 message(s): #{suspended[1].id}" in _flash(portal)
    wait_for(lambda: store.get_header(suspended[1].id).status == r.COMPLETED, timeout=60,
             what="the resubmitted order to complete")
    assert _row(portal, suspended[1].id).count() == 0

    _row(portal, suspended[2].id).locator("input[name=ids]").check()
    page.once("dialog", lambda dialog: dialog.accept())  # "Discard the selected messages?"
    page.click("#discard-button")
    assert f"Discarded 1 message(s): #{suspended[2].id}" in _flash(portal)
    assert store.get_header(suspended[2].id).status == r.DISCARDED
    assert page.locator("#suspended-table tbody tr").count() == 1
    assert page.inner_text("#suspended-badge") == "1"


def test_edit_a_body_and_resubmit_it(ops: Ops, wait_for: Any) -> None:
    portal, page = ops.portal, ops.portal.page
    store = portal.store()
    original = _by_n(store, r.SUSPENDED)[3]
    _row(portal, original.id).locator(".edit-link").click()
    assert "remote system down" in page.inner_text("#editor-error-text")
    assert json.loads(page.input_value("#edit-body")) == {"n": 3, "note": "needs a fix"}

    broken = '{"n": 3, "note": "fixed by hand",}'
    page.fill("#edit-body", broken)
    assert "not JSON yet" in page.inner_text("#edit-body-state")  # said while typing
    page.click("#edit-resubmit")
    assert "is not valid JSON" in page.inner_text("#edit-error")  # and refused on the server
    assert page.input_value("#edit-body") == broken  # kept, to be fixed
    assert store.get_header(original.id).status == r.SUSPENDED  # nothing changed
    portal.shot("ops-03-edit-refused")

    page.fill("#edit-body", '{"n": 3, "note": "fixed by hand"}')
    page.click("#edit-resubmit")
    found = re.search(rf"#{original.id} resubmitted with the edited body as new message "
                      r"#(\d+)", _flash(portal))
    assert found, _flash(portal)
    new_id = int(found.group(1))
    assert page.get_attribute("#sent-link", "href") == f"/ns/USER/messages/{new_id}"
    wait_for(lambda: store.get_header(new_id).status == r.COMPLETED, timeout=60,
             what="the edited order to complete")
    new = store.get_header(new_id)
    assert json.loads(store.get_body(new)) == {"n": 3, "note": "fixed by hand"}
    assert (new.session_id, new.target) == (original.session_id, "Remote")
    assert store.get_header(original.id).status == r.DISCARDED
    receipt = store.find_response(new_id)
    assert receipt is not None and json.loads(receipt[1])["note"] == "fixed by hand"

    page.goto(portal.url + "/ns/USER/suspended")
    assert "No suspended messages" in page.inner_text("#suspended-empty")
    assert page.locator("#suspended-badge").count() == 0
    portal.shot("ops-04-suspended-done")


def test_alerts_in_the_event_log_and_failure_settings_in_the_editor(ops: Ops) -> None:
    portal, page = ops.portal, ops.portal.page
    page.goto(portal.url + "/ns/USER/log")
    page.select_option("#log-filters select[name=type]", "Alert")
    page.click("#log-filters button")
    types = set(page.locator("#log-table tbody .status").all_text_contents())
    assert types == {"Alert"}, types
    assert "remote system down" in page.inner_text("#log-table tbody")
    portal.shot("ops-05-log-alerts")

    page.goto(portal.url + f"/ns/USER/config?production={PRODUCTION}&item=Remote")
    alerting = page.locator("fieldset[data-section='Alerting']")
    for name in ("AlertOnError", "QueueCountAlert", "QueueWaitAlert", "InactivityTimeout",
                 "AlertRetryGracePeriod"):
        assert alerting.locator(f"[data-setting='{name}']").count() == 1, name
    assert page.is_checked("#f-host-AlertOnError")
    additional = page.locator("fieldset[data-section='Additional']")
    for name in ("ReplyCodeActions", "RetryInterval", "FailureTimeout"):
        assert additional.locator(f"[data-setting='{name}']").count() == 1, name
    assert page.input_value("#f-host-ReplyCodeActions") == "E=RS"
    assert "E#<status>" in page.inner_text("#f-host-ReplyCodeActions-hint")

    before = portal.store().get_production(PRODUCTION)
    page.fill("#f-host-ReplyCodeActions", "E=RS,E#6301=Q")
    page.click("#save-button")
    assert "actions 'Q' must be letters among" in page.inner_text("#save-error")
    assert portal.store().get_production(PRODUCTION) == before
    portal.shot("ops-06-reply-code-actions-refused")
    page.fill("#f-host-ReplyCodeActions", "E#6301=F,E=RS")
    page.click("#save-button")
    assert "ReplyCodeActions changed" in _flash(portal)
    item = portal.store().get_production(PRODUCTION)["Production"]["Item"][1]
    assert {"@Target": "Host", "@Name": "ReplyCodeActions", "#text": "E#6301=F,E=RS"} \
        in item["Setting"]


def test_production_settings_are_edited_on_the_configuration_page(ops: Ops) -> None:
    portal, page = ops.portal, ops.portal.page
    page.goto(portal.url + f"/ns/USER/config?production={PRODUCTION}")
    sections = page.locator("#production-settings-form legend").all_inner_texts()
    assert sections == ["Basic", "Alerting", "Purge"]
    assert page.input_value("#p-ShutdownTimeout") == "120"  # the default, shown
    before = portal.store().get_production(PRODUCTION)
    page.fill("#p-PurgeKeepDays", "-2")
    page.fill("#p-UpdateTimeout", "soon")
    page.click("#production-save")
    error = page.inner_text("#production-save-error")
    assert "PurgeKeepDays must be 0 or more" in error and "UpdateTimeout must be a number" \
        in error
    assert page.input_value("#p-UpdateTimeout") == "soon"  # what was typed stays
    assert portal.store().get_production(PRODUCTION) == before

    page.fill("#p-PurgeKeepDays", "30")
    page.fill("#p-UpdateTimeout", "20")
    page.check("#p-PurgeBodies")
    page.click("#production-save")
    assert f"Saved production {PRODUCTION}: UpdateTimeout, PurgeKeepDays, PurgeBodies " \
        "changed." in _flash(portal)
    settings = portal.store().get_production(PRODUCTION)["Production"]["Setting"]
    assert {(s["@Target"], s["@Name"], s["#text"]) for s in settings} == {
        ("Production", "UpdateTimeout", "20"), ("Production", "PurgeKeepDays", "30"),
        ("Production", "PurgeBodies", "1")}
    assert page.input_value("#p-PurgeKeepDays") == "30" and page.is_checked("#p-PurgeBodies")
    portal.shot("ops-07-production-settings")


def test_purge_from_the_portal(ops: Ops) -> None:
    portal, page = ops.portal, ops.portal.page
    store = portal.store()
    sessions = {n: h.session_id for n, h in _by_n(store, r.COMPLETED).items()}
    sessions[2] = _by_n(store, r.DISCARDED)[2].session_id
    assert len(set(sessions.values())) == 3
    headers_before = len(store.query_headers(limit=0))

    page.goto(portal.url + "/ns/USER/purge")
    assert "purges complete sessions older than 30 day(s)" in page.inner_text("#purge-schedule")
    page.fill("#keep-days", "0")
    page.check("#purge-bodies")
    page.click("#purge-review")
    confirm = page.inner_text("#purge-confirm")
    assert "every complete session" in confirm and "message bodies too" in confirm
    assert store.query_headers(session_id=sessions[1], limit=0)  # nothing deleted yet
    portal.shot("ops-08-purge-confirm")

    page.click("#purge-now")
    found = re.search(r"(\d+) session\(s\), (\d+) message\(s\), (\d+) body\(ies\) and (\d+) "
                      r"event log line\(s\) deleted", _flash(portal))
    assert found, _flash(portal)
    purged_sessions, purged_headers, purged_bodies, _ = map(int, found.groups())
    assert purged_sessions >= 2 and purged_bodies >= 1
    assert len(store.query_headers(limit=0)) == headers_before - purged_headers
    # Orders 1 and 2 are gone from the store, with their bodies; of order 3's session the
    # newest message stays (ids must never repeat).
    for n in (1, 2):
        assert store.query_headers(session_id=sessions[n], limit=0) == [], n
    assert [h.session_id for h in store.query_headers(limit=0)] == [sessions[3]]
    portal.shot("ops-09-purged")


def test_a_troubled_production_is_recovered(ops: Ops, wait_for: Any) -> None:
    portal = ops.portal
    store = portal.store()
    os.kill(store.get_runtime().supervisor_pid, signal.SIGKILL)  # its jobs live on, orphaned
    row = _wait_troubled(portal, wait_for)
    assert "supervisor died" in row.locator(".state-note").inner_text()
    assert row.locator("button[value=start]").count() == 0
    portal.shot("ops-10-troubled")

    row.locator("button[value=recover]").click()
    assert f"Production {PRODUCTION} recovered" in _flash(portal)
    assert "now stopped" in _flash(portal)
    assert row.locator(".status").inner_text() == "stopped"
    assert row.locator("button[value=start]").count() == 1
    assert store.list_jobs() == []  # the orphaned jobs were ended
    portal.shot("ops-11-recovered")


def test_stopped_with_callers_waiting_is_suspended_and_starts_again(
        ops: Ops, wait_for: Any) -> None:
    portal, page = ops.portal, ops.portal.page
    store = portal.store()
    row = page.locator(f"tr[data-production='{PRODUCTION}']")
    row.locator("button[value=start]").click()
    assert "started" in _flash(portal)
    os.killpg(store.get_runtime().supervisor_pid, signal.SIGKILL)  # supervisor and jobs
    # A caller of another process sends a synchronous order meanwhile and waits for it.
    waiting, = store.send([r.MessageDraft(
        "Inbox", "Remote", "ops_components.Order", json.dumps({"n": 9}), priority=r.SYNC,
        response_required=True)])
    _wait_troubled(portal, wait_for)
    row.locator("button[value=recover]").click()
    assert "now suspended" in _flash(portal)
    assert row.locator(".status").inner_text() == "suspended"
    assert "synchronous requests were still queued" in row.locator(".state-note").inner_text()
    assert row.locator("button[value=recover]").count() == 0
    portal.shot("ops-12-suspended-production")

    row.locator("button[value=start]").click()  # it can be started again
    assert "started" in _flash(portal)
    assert row.locator(".status").inner_text() == "running"
    wait_for(lambda: store.get_header(waiting).status == r.COMPLETED, timeout=60,
             what="the waiting order to be delivered once started again")
