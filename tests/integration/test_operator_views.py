"""The operator's views on LocalClient (what the portal and /api/iop's extension call):
validated item saves, resend, message pages, log search, queue ages, jobs."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from iop.client.item_config import InvalidConfiguration
from iop.client.local import LocalClient
from iop.engine.errors import EngineError
from iop.store import records as r

REPO = Path(__file__).resolve().parents[2]
PRODUCTION = "Demo.Production"


@pytest.fixture
def client(run_iop: Any, tmp_path: Path, iop_home: Path) -> Any:
    demo = tmp_path / "demo"
    shutil.copytree(REPO / "examples" / "demo", demo, ignore=shutil.ignore_patterns("__pycache__"))
    run_iop("-m", demo / "settings.py")
    run_iop("-d", PRODUCTION)
    local = LocalClient()
    yield local
    local.store.close()


def test_save_item_validates_everything_and_keeps_the_store_on_error(client: Any) -> None:
    before = client.export(PRODUCTION)
    with pytest.raises(InvalidConfiguration) as refused:
        client.save_item(PRODUCTION, "OrderProcess", {
            "pool_size": "two", "schedule": "whenever",
            "host": {"Limit": "abc", "PricingTarget": "Nobody", "AuditTarget": "OrderPoller"}})
    text = str(refused.value)
    assert text.startswith("item OrderProcess was not saved: ")
    for part in ("pool size must be a whole number", "'whenever' is not a schedule entry",
                 "'abc' is not a valid float", "Nobody is not an item of production",
                 "OrderPoller is a business service"):
        assert part in text
    assert client.export(PRODUCTION) == before
    with pytest.raises(InvalidConfiguration, match="'Klingon' is not a known character set"):
        client.save_item(PRODUCTION, "AuditOperation", {"host": {"Charset": "Klingon"}})
    with pytest.raises(EngineError, match="item Ghost is not in production"):
        client.save_item(PRODUCTION, "Ghost", {"comment": "x"})

    done = client.save_item(PRODUCTION, "OrderProcess", {
        "enabled": "0", "pool_size": "3", "schedule": "START:*-*-*T08:00:00,STOP:*-*-*T17:00",
        "host": {"Limit": "250", "PricingTarget": "PricingOperation"}})
    assert done == {"production": PRODUCTION, "item": "OrderProcess",
                    "changed": ["Enabled", "PoolSize", "Schedule", "Limit", "PricingTarget"],
                    "update_needed": False}
    # The DSL writes PricingTarget's target() default into the stored export, as IoP does;
    # a value equal to the class default is not kept as a copy, so the save removes it.
    item = next(i for i in client.export(PRODUCTION)["Production"]["Item"]
                if i["@Name"] == "OrderProcess")
    assert (item["@Enabled"], item["@PoolSize"]) == ("false", "3")
    audit = {"@Target": "Host", "@Name": "AuditTarget", "#text": "AuditOperation"}
    assert item["Setting"] == [audit, {"@Target": "Host", "@Name": "Limit", "#text": "250"}]
    # back to the default value: the override is removed, not stored as a copy
    client.save_item(PRODUCTION, "OrderProcess", {"host": {"Limit": "1000"}})
    item = next(i for i in client.export(PRODUCTION)["Production"]["Item"]
                if i["@Name"] == "OrderProcess")
    assert item["Setting"] == [audit]


def test_configuration_names_each_settings_editor(client: Any) -> None:
    config = client.configuration(PRODUCTION)
    audit = next(i for i in config["items"] if i["name"] == "AuditOperation")
    editors = {row["name"]: (row["section"], row["widget"]["kind"]) for row in audit["host"]}
    assert editors["ArchiveDirectory"] == ("Connection", "directory")
    assert editors["Charset"] == ("Connection", "charset")
    assert editors["AlertOnError"] == ("Alerting", "bool")  # the engine's own settings too
    process = next(i for i in config["items"] if i["name"] == "OrderProcess")
    assert process["connections"] == ["PricingOperation", "AuditOperation"]
    assert process["kind"] == "process"


def test_resend_refuses_responses_and_unknown_targets_and_sends_nothing(client: Any) -> None:
    store = client.store
    request, = store.send([r.MessageDraft("OrderPoller", "OrderProcess", "x.Order",
                                          '{"order_id": "a"}', status=r.COMPLETED,
                                          enqueue=False)])
    response, = store.send([r.MessageDraft("OrderProcess", "OrderPoller", "x.Answer", "{}",
                                           type=r.RESPONSE, corresponding_id=request,
                                           session_id=request, enqueue=False,
                                           status=r.COMPLETED)])
    stray, = store.send([r.MessageDraft("OrderPoller", "Gone", "x.Order", "{}",
                                        enqueue=False, status=r.ERROR)])
    count = len(store.query_headers(limit=0))
    with pytest.raises(EngineError, match=f"message {response} is a response"):
        client.resend([request, response])
    with pytest.raises(EngineError, match="Gone, which is not an item"):
        client.resend([stray])
    with pytest.raises(EngineError, match="message 999999 does not exist"):
        client.resend([999999])
    assert len(store.query_headers(limit=0)) == count  # all or nothing

    done = client.resend([request], new_session=True, user="ops")
    resent = store.get_header(done[0]["resent"])
    assert resent.session_id == resent.id and done[0]["session_id"] == resent.id
    assert resent.description == f"Resent from message {request} by ops"
    assert store.queue_counts() == {"OrderProcess": 1}  # queued for its target
    log = client.search_log({"session_id": str(resent.id)})
    assert log[0]["text"] == f"message {request} resent to OrderProcess as message {resent.id} by ops"
    trace = client.trace(resent.id)
    assert [m["id"] for m in trace["messages"]] == [resent.id]
    assert trace["messages"][0]["resent_from"] == request


def test_message_pages_log_search_and_queue_ages(client: Any) -> None:
    store = client.store
    ids = [store.send([r.MessageDraft("S", "OrderProcess", "x.M", f'{{"n": {n}}}')])[0]
           for n in range(7)]
    first = client.search_messages({}, limit=3)
    assert [m["id"] for m in first["messages"]] == ids[::-1][:3]
    assert first["has_older"] and not first["has_newer"]
    second = client.search_messages({}, before_id=first["messages"][-1]["id"], limit=3)
    assert [m["id"] for m in second["messages"]] == ids[::-1][3:6] and second["has_newer"]
    back = client.search_messages({}, after_id=second["messages"][0]["id"], limit=3)
    assert back["messages"] == first["messages"]
    last = client.search_messages({}, before_id=second["messages"][-1]["id"], limit=3)
    assert [m["id"] for m in last["messages"]] == ids[:1] and not last["has_older"]
    with pytest.raises(EngineError, match="status 'lost' is not one of"):
        client.search_messages({"status": "lost"})
    with pytest.raises(EngineError, match="since 'yesterday' is not a time"):
        client.search_messages({"since": "yesterday"})
    assert client.search_messages({"since": "2000-01-01 00:00"})["messages"]

    queues = {q["item"]: q for q in client.queue_details()["items"]}
    assert queues["OrderProcess"]["count"] == 7 and queues["OrderProcess"]["oldest_age"] >= 0
    assert queues["AuditOperation"] == {"item": "AuditOperation", "count": 0, "oldest": "",
                                        "oldest_age": None, "in_production": True}
    assert client.jobs() == []
    message = client.message(ids[2])
    assert message["body"] == '{"n": 2}' and message["header"]["target"] == "OrderProcess"
    overview = client.productions_overview()
    assert overview == [{"name": PRODUCTION, "status": "stopped", "default": True,
                         "last_start": "", "last_stop": "", "update_needed": False}]


def test_save_item_checks_the_engines_failure_settings(client: Any) -> None:
    before = client.export(PRODUCTION)
    with pytest.raises(InvalidConfiguration) as refused:
        client.save_item(PRODUCTION, "PricingOperation", {"host": {
            "ReplyCodeActions": "E=R,E#6301=Q", "RetryInterval": "-1", "FailureTimeout": "-5",
            "QueueCountAlert": "-2"}})
    text = str(refused.value)
    for part in ("actions 'Q' must be letters among C, W, R, S, D, F",
                 "'RetryInterval' must be 0 or more", "'FailureTimeout' must be -1 or more",
                 "'QueueCountAlert' must be 0 or more"):
        assert part in text
    with pytest.raises(InvalidConfiguration, match="unknown reply code 'Z'"):
        client.save_item(PRODUCTION, "PricingOperation", {"host": {"ReplyCodeActions": "Z=F"}})
    assert client.export(PRODUCTION) == before

    done = client.save_item(PRODUCTION, "PricingOperation", {"host": {
        "ReplyCodeActions": "E#6301=F,(E*timeout,X)=RS", "FailureTimeout": "-1",
        "AlertOnError": "1"}})
    assert done["changed"] == ["ReplyCodeActions", "FailureTimeout", "AlertOnError"]
    pricing = next(i for i in client.configuration(PRODUCTION)["items"]
                   if i["name"] == "PricingOperation")
    rows = {row["name"]: row for row in pricing["host"]}
    assert rows["ReplyCodeActions"]["widget"]["kind"] == "reply_actions"
    assert "actions: C W R S D F" in rows["ReplyCodeActions"]["hint"]
    assert rows["ReplyCodeActions"]["value"] == "E#6301=F,(E*timeout,X)=RS"
    assert (rows["FailureTimeout"]["section"], rows["QueueWaitAlert"]["section"]) == \
        ("Additional", "Alerting")


def test_production_settings_are_validated_and_saved_all_or_nothing(client: Any) -> None:
    before = client.export(PRODUCTION)
    with pytest.raises(EngineError) as refused:
        client.save_production_settings(PRODUCTION, {
            "ShutdownTimeout": "1.5", "PurgeKeepDays": "many", "PurgeBodies": "maybe",
            "AlertNotificationOperation": "Nobody", "UpdateTimeout": "20"})
    text = str(refused.value)
    assert text.startswith(f"production {PRODUCTION} settings were not saved: ")
    for part in ("ShutdownTimeout must be a whole number, got '1.5'",
                 "PurgeKeepDays must be a number, got 'many'", "PurgeBodies must be 1 or 0",
                 "AlertNotificationOperation: Nobody is not an item of the production"):
        assert part in text
    assert client.export(PRODUCTION) == before
    with pytest.raises(EngineError, match="production Ghost does not exist"):
        client.save_production_settings("Ghost", {"PurgeKeepDays": "1"})

    done = client.save_production_settings(PRODUCTION, {
        "ShutdownTimeout": "120", "PurgeKeepDays": "0.5", "PurgeBodies": "on",
        "AlertNotificationOperation": "AuditOperation", "AlertNotificationRecipients": " ops "})
    assert done == {"production": PRODUCTION, "update_needed": False, "changed": [
        "PurgeKeepDays", "PurgeBodies", "AlertNotificationOperation",
        "AlertNotificationRecipients"]}  # ShutdownTimeout 120 is its default: not stored
    settings = client.export(PRODUCTION)["Production"]["Setting"]
    assert [(s["@Target"], s["@Name"], s["#text"]) for s in settings] == [
        ("Production", "PurgeKeepDays", "0.5"), ("Production", "PurgeBodies", "1"),
        ("Production", "AlertNotificationOperation", "AuditOperation"),
        ("Production", "AlertNotificationRecipients", "ops")]
    rows = {r["name"]: r for r in client.configuration(PRODUCTION)["production_settings"]}
    assert rows["PurgeKeepDays"]["value"] == "0.5" and rows["ShutdownTimeout"]["value"] is None
    assert client.save_production_settings(PRODUCTION, {"PurgeBodies": "1"})["changed"] == []
