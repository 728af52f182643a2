"""The portal in a real browser, as an operator uses it on the example production
(examples/demo): log in, configure, start, trace, filter, resend, read the log.

The tests run in order on one server and one browser page (a module-scoped fixture), each
starting from what the previous one left, as an operator's session would; every step checks
what the page shows and, where something is saved, what the store holds.
"""

from __future__ import annotations

import json
import re
from typing import Any

from portal_support import Portal
from remote_server import ADMIN

from iop.store import records as r
from iop.store.queries import MessageFilter


def _flash(portal: Portal) -> str:
    return portal.page.inner_text("main .flash")


def _item_setting(store: Any, item: str, name: str) -> str | None:
    definition = store.get_production("Demo.Production")
    for entry in definition["Production"]["Item"]:
        if entry["@Name"] == item:
            for setting in entry.get("Setting") or []:
                if setting["@Name"] == name:
                    return str(setting.get("#text", ""))
    return None


def _reload_until(portal: Portal, selector: str, wait_for: Any, what: str) -> None:
    wait_for(lambda: (portal.page.reload(), portal.page.locator(selector).count() > 0)[1],
             timeout=60, interval=0.5, what=what)


def test_login_refuses_a_wrong_password_then_shows_the_productions(portal: Portal) -> None:
    page = portal.page
    page.goto(portal.url + "/ns/USER/messages")
    assert "/login" in page.url  # every page needs a login
    page.fill("input[name=username]", ADMIN[0])
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    assert "Wrong user name or password" in page.inner_text(".flash-error")
    portal.shot("01-login-refused")
    portal.login()
    row = page.locator("tr[data-production='Demo.Production']")
    assert row.locator(".status").inner_text() == "stopped"
    assert "default" in row.inner_text()
    portal.shot("02-productions")


def test_configuration_shows_the_diagram_and_settings_by_category(portal: Portal) -> None:
    page = portal.page
    page.click("tr[data-production='Demo.Production'] a:has-text('Configure')")
    page.wait_for_selector("#config-diagram")
    # three columns, every item, and a route line for each target setting
    titles = page.locator("#config-diagram .col-title").all_text_contents()
    assert titles == ["Services", "Processes", "Operations"]
    items = set(page.locator("#config-diagram [data-item]").evaluate_all(
        "links => links.map(a => a.getAttribute('data-item'))"))
    assert items == {"OrderService", "OrderPoller", "OrderProcess", "PricingOperation",
                     "AuditOperation"}
    routes = set(page.locator("#config-diagram path.route").evaluate_all(
        "ps => ps.map(p => p.dataset.source + '>' + p.dataset.target)"))
    assert routes == {"OrderService>OrderProcess", "OrderPoller>OrderProcess",
                      "OrderProcess>PricingOperation", "OrderProcess>AuditOperation"}

    page.click("#config-diagram [data-item='AuditOperation']")
    page.wait_for_selector("#item-title:has-text('AuditOperation')")
    assert page.locator("fieldset[data-section='Connection'] legend").inner_text() == "Connection"
    assert page.locator("#f-host-Charset").evaluate("e => e.tagName") == "SELECT"  # charset
    # The directory picker browses the allowed roots only, and fills the field.
    page.click("button[data-for='f-host-ArchiveDirectory']")
    page.wait_for_selector("#picker-list a")
    roots = page.locator("#picker-list a").all_inner_texts()
    # the namespace's own folder, then the configured root; nothing else of the server
    assert roots == [str(portal.engine.home / "USER"), str(portal.archive.parent)]
    page.click(f"#picker-list a[data-path='{portal.archive.parent}']")
    page.click("#picker-list a:text-is('archive')")
    page.wait_for_selector(f"#picker-path:has-text('{portal.archive}')")
    portal.shot("03-directory-picker")
    page.click("#picker-choose")
    # The dialog fills the field in its "close" event, which the browser fires a moment later.
    page.wait_for_function("([sel, value]) => document.querySelector(sel).value === value",
                           arg=["#f-host-ArchiveDirectory", str(portal.archive)])
    assert page.input_value("#f-host-ArchiveDirectory") == str(portal.archive)
    page.click("#save-button")
    assert "ArchiveDirectory changed" in _flash(portal)
    assert _item_setting(portal.store(), "AuditOperation", "ArchiveDirectory") == \
        str(portal.archive)


def test_a_bad_value_is_refused_in_the_page_and_a_good_one_persists(portal: Portal) -> None:
    page = portal.page
    page.click("#config-diagram [data-item='OrderProcess']")
    page.wait_for_selector("#item-title:has-text('OrderProcess')")
    # a production-item selector offers only items that can receive messages
    options = page.locator("#f-host-PricingTarget option").all_inner_texts()
    assert "PricingOperation" in options and "OrderPoller" not in options
    before = portal.store().get_production("Demo.Production")

    page.fill("#f-host-Limit", "lots")
    page.fill("#f-pool_size", "-3")
    page.click("#save-button")
    error = page.inner_text("#save-error")
    assert "'lots' is not a valid float" in error and "pool size" in error
    assert page.input_value("#f-host-Limit") == "lots"  # what was typed stays to be fixed
    assert portal.store().get_production("Demo.Production") == before  # nothing saved
    portal.shot("04-configuration-error")

    page.fill("#f-host-Limit", "500")
    page.fill("#f-pool_size", "1")
    page.fill("#f-comment", "checked by the browser test")
    page.click("#save-button")
    assert "Limit changed" in _flash(portal)
    store = portal.store()
    assert _item_setting(store, "OrderProcess", "Limit") == "500"
    item = next(i for i in store.get_production("Demo.Production")["Production"]["Item"]
                if i["@Name"] == "OrderProcess")
    assert item["@Comment"] == "checked by the browser test"
    assert page.input_value("#f-host-Limit") == "500"
    portal.shot("05-configuration")


def test_start_then_open_a_session_trace(portal: Portal, wait_for: Any) -> None:
    page = portal.page
    page.click("button[name=action][value=start]")
    assert "started" in _flash(portal)
    page.goto(portal.url + "/ns/USER/productions")
    assert page.locator("tr[data-production='Demo.Production'] .status").inner_text() == \
        "running"
    page.goto(portal.url + "/ns/USER/messages?source=OrderPoller")
    _reload_until(portal, "#message-table tbody tr", wait_for, "the poller's first order")
    # The saved ArchiveDirectory is what runs: the audit operation writes there.
    wait_for(lambda: (portal.archive / "audit.log").exists(), timeout=60,
             what="audit.log in the archive folder chosen with the picker")

    session = page.locator("#message-table tbody tr").last.get_attribute("data-id")
    wait_for(lambda: len(portal.store().query_headers(session_id=int(session or 0))) >= 6,
             timeout=60, what="the whole first session")
    page.click(f"#message-table tbody tr[data-id='{session}'] a[title^='visual trace']")
    page.wait_for_selector("#trace-diagram")
    lanes = page.locator("#trace-lanes .lane").evaluate_all(
        "gs => gs.map(g => g.dataset.host)")
    assert lanes == ["OrderPoller", "OrderProcess", "PricingOperation", "AuditOperation"]
    arrows = page.locator("#trace-diagram g.msg")
    assert arrows.count() >= 6
    assert page.locator("#trace-diagram g.msg.request").count() >= 3
    assert page.locator("#trace-diagram g.msg.response").count() >= 3
    assert "ms" in (page.locator("#trace-diagram g.msg .detail").first.text_content() or "")
    assert page.locator("#trace-log").count() == 1  # the session's own log lines
    portal.shot("06-trace")


def test_filter_the_message_viewer(portal: Portal, wait_for: Any) -> None:
    page = portal.page
    page.goto(portal.url + "/ns/USER/messages")
    page.fill("#message-filters input[name=target]", "PricingOperation")
    page.select_option("#message-filters select[name=type]", "request")
    page.click("#message-filters button[type=submit]")
    page.wait_for_selector("#message-table")
    targets = set(page.locator("#message-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.target)"))
    assert targets == {"PricingOperation"}
    assert "target=PricingOperation" in page.url
    portal.shot("07-messages-filtered")

    page.fill("#message-filters input[name=text]", "POLL-2\"")  # text in body, any case
    page.click("#message-filters button[type=submit]")
    rows = page.locator("#message-table tbody tr")
    assert rows.count() == 1
    message_id = int(rows.first.get_attribute("data-id") or 0)
    body = portal.store().get_body(portal.store().get_header(message_id))
    assert json.loads(body)["order_id"] == "poll-2"

    page.fill("#message-filters input[name=session_id]", "not-a-number")
    page.click("#message-filters button[type=submit]")
    assert "session must be a whole number" in page.inner_text(".flash-error")


def test_resend_a_message_and_see_it_in_trace_and_log(portal: Portal, wait_for: Any) -> None:
    page = portal.page
    page.goto(portal.url + "/ns/USER/messages?target=PricingOperation&type=request")
    row = page.locator("#message-table tbody tr").last
    original = int(row.get_attribute("data-id") or 0)
    row.locator("input[name=ids]").check()
    page.click("#resend-button")
    flash = _flash(portal)
    found = re.search(rf"#{original} → #(\d+)", flash)
    assert found, flash
    resent = int(found.group(1))

    store = portal.store()
    old, new = store.get_header(original), store.get_header(resent)
    assert (new.source, new.target, new.type) == (old.source, old.target, r.REQUEST)
    assert store.get_body(new) == store.get_body(old) and new.body_class == old.body_class
    assert new.description == f"Resent from message {original} by {ADMIN[0]}"
    assert new.session_id == old.session_id
    wait_for(lambda: store.get_header(resent).status == r.COMPLETED, timeout=60,
             what="the resent message to be handled")

    page.goto(f"{portal.url}/ns/USER/messages/{resent}")
    assert f"Resent from message {original}" in page.inner_text("#header-view")
    page.click(".tabs a:text-is('Body')")
    assert "order_id" in page.inner_text("#body-view")
    page.click(".tabs a:text-is('Contents')")
    assert json.loads(page.inner_text("#contents-view")) == json.loads(store.get_body(new))
    portal.shot("08-message")

    page.goto(f"{portal.url}/ns/USER/trace/{old.session_id}")
    resent_arrow = page.locator(f"#trace-diagram g.msg[data-id='{resent}']")
    assert f"resent from #{original}" in (resent_arrow.text_content() or "")
    portal.shot("09-trace-with-resend")
    assert [h.id for h in store.search_messages(MessageFilter(text="poll"), limit=1)]


def test_event_log_links_to_the_trace_and_tails_live(portal: Portal, wait_for: Any) -> None:
    page = portal.page
    page.goto(portal.url + "/ns/USER/log?text=resent")
    row = page.locator("#log-table tbody tr").first
    assert "resent to PricingOperation as message" in row.inner_text()
    portal.shot("10-log-filtered")
    row.locator("a[title='visual trace']").click()
    page.wait_for_selector("#trace-diagram")
    assert "/trace/" in page.url

    page.goto(portal.url + "/ns/USER/log")
    newest = int(page.locator("#log-table tbody tr").first.get_attribute("data-id") or 0)
    # The poller logs every second: new entries must appear without a reload.
    page.wait_for_function(
        f"() => parseInt(document.querySelector('#log-table tbody tr').dataset.id) > {newest}",
        timeout=60_000)
    assert page.locator("#log-table tbody tr.flash-new").count() >= 1
    portal.shot("11-log-live")


def test_update_needed_marker_then_update(portal: Portal, wait_for: Any) -> None:
    page = portal.page
    page.goto(portal.url + "/ns/USER/config?production=Demo.Production&item=PricingOperation")
    page.fill("#f-host-TaxRate", "1.5")
    page.click("#save-button")
    assert "update it to apply" in page.inner_text(".flash-update")
    page.goto(portal.url + "/ns/USER/productions")
    row = page.locator("tr[data-production='Demo.Production']")
    assert row.locator(".update-needed").count() == 1
    portal.shot("12-update-needed")
    row.locator("button[value=update]").click()
    assert "updated" in _flash(portal)
    assert page.locator("tr[data-production='Demo.Production'] .update-needed").count() == 0


def test_queues_jobs_and_bindings(portal: Portal) -> None:
    page = portal.page
    page.goto(portal.url + "/ns/USER/queues")
    queued = set(page.locator("#queue-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.item)"))
    assert {"OrderProcess", "PricingOperation", "AuditOperation"} <= queued
    portal.shot("13-queues")
    page.goto(portal.url + "/ns/USER/jobs")
    jobs = page.locator("#job-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.item)")
    assert jobs.count("PricingOperation") == 2  # pool size 2 in the demo
    pids = {int(p) for p in page.locator("#job-table tbody td.mono:nth-child(3)")
            .all_inner_texts()}
    assert pids == {j.pid for j in portal.store().list_jobs()}
    portal.shot("14-jobs")
    page.goto(portal.url + "/ns/USER/bindings")
    assert "Python.democomponents.OrderProcess" in page.inner_text("#binding-table")
    portal.shot("15-bindings")

    page.goto(portal.url + "/ns/USER/productions")
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.click("tr[data-production='Demo.Production'] button[value=stop]")
    assert "stopped" in _flash(portal)
    assert asked and asked[0].startswith("Stop Demo.Production?")  # Stop asks first
    page.goto(portal.url + "/ns/USER/jobs")
    assert "No job is running" in page.inner_text("main")
    portal.shot("16-jobs-empty")
