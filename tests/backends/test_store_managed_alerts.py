"""Managed alerts on both backends: every event log entry of type alert becomes one (by the
schema's trigger, whoever logs it), actions change state and owner and are recorded, and a
store of the schema before managed alerts takes its old alerts over when upgraded."""

from __future__ import annotations

import time
from typing import Any

import pytest

from iop.engine import managed_alerts as ma
from iop.store import records as r
from iop.store.base import Store
from iop.store.postgres.schema import SCHEMA_VERSION as PG_VERSION
from iop.store.sqlite.schema import SCHEMA_VERSION as SQLITE_VERSION


def _alert(store: Store, text: str, item: str = "Op", session: int | None = None) -> None:
    store.log([r.LogEntry("alert", text, item, session_id=session)])


def test_every_alert_log_entry_becomes_a_new_managed_alert(store: Store) -> None:
    _alert(store, "disk almost full", session=7)
    store.log([r.LogEntry("error", "not an alert", "Op"), r.LogEntry("info", "nor this")])
    with store.transaction() as tx:  # an alert logged inside a delivery's transaction too
        tx.log([r.LogEntry("alert", "queue too long", "Proc")])
    found = store.list_alerts()
    assert [(a.item, a.text, a.state, a.owner) for a in found] == [
        ("Proc", "queue too long", "new", ""), ("Op", "disk almost full", "new", "")]
    assert found[1].session_id == 7 and found[1].log_id is not None
    assert ma.counts(store) == {"new": 2, "acknowledged": 0, "closed": 0, "open": 2}


def test_actions_change_state_owner_and_keep_a_history(store: Store) -> None:
    _alert(store, "the partner's server refused us")
    alert_id = store.list_alerts()[0].id
    ma.act(store, alert_id, "acknowledge", "olivia")
    ma.act(store, alert_id, "assign", "olivia", owner="bob")
    ma.act(store, alert_id, "note", "bob", text="called the partner; they restart at 3")
    done = ma.act(store, alert_id, "close", "bob", text="fixed on their side")
    assert done["state"] == "closed" and done["owner"] == "bob"
    assert [(n["user"], n["action"], n["text"]) for n in done["notes"]] == [
        ("olivia", "acknowledge", ""), ("olivia", "assign", "assigned to bob"),
        ("bob", "note", "called the partner; they restart at 3"),
        ("bob", "close", "fixed on their side")]
    assert ma.counts(store) == {"new": 0, "acknowledged": 0, "closed": 1, "open": 0}
    assert ma.counts(store, open_only=True)["closed"] == 0  # not read for the badge
    assert [a.id for a in store.list_alerts(states=("closed",))] == [alert_id]
    assert store.list_alerts(states=ma.OPEN_STATES) == []
    assert ma.act(store, alert_id, "reopen", "olivia")["state"] == "acknowledged"


@pytest.mark.parametrize(("action", "kwargs", "said"), [
    ("explode", {}, "unknown alert action 'explode'"),
    ("note", {}, "a note needs some words"),
    ("note", {"text": "x" * (ma.MAX_NOTE + 1)}, f"at most {ma.MAX_NOTE} characters"),
    ("assign", {"owner": "a\nb"}, "printable name"),
])
def test_bad_input_is_refused_and_changes_nothing(store: Store, action: str,
                                                  kwargs: dict[str, Any], said: str) -> None:
    _alert(store, "a")
    alert_id = store.list_alerts()[0].id
    with pytest.raises(ma.BadAlertInput, match=said):
        ma.act(store, alert_id, action, "olivia", **kwargs)
    found = store.get_alert(alert_id)
    assert found is not None and found.state == "new" and found.notes == []


def test_what_the_state_forbids_is_refused(store: Store) -> None:
    _alert(store, "a")
    alert_id = store.list_alerts()[0].id
    ma.act(store, alert_id, "acknowledge", "olivia")
    with pytest.raises(ma.AlertRefused, match="already acknowledged"):
        ma.act(store, alert_id, "acknowledge", "olivia")
    ma.act(store, alert_id, "close", "olivia")
    with pytest.raises(ma.AlertRefused, match="closed; reopen it first"):
        ma.act(store, alert_id, "note", "olivia", text="late")
    with pytest.raises(ma.UnknownAlert, match="alert 999999 does not exist"):
        ma.act(store, 999999, "close", "olivia")


def test_a_page_of_alerts_pages_on_newest_first(store: Store) -> None:
    for n in range(5):
        _alert(store, f"alert {n}")
    first = ma.alert_page(store, "open", limit=2)
    assert [a["text"] for a in first["alerts"]] == ["alert 4", "alert 3"]
    rest = ma.alert_page(store, "all", before_id=first["next_before_id"], limit=10)
    assert [a["text"] for a in rest["alerts"]] == ["alert 2", "alert 1", "alert 0"]
    assert rest["next_before_id"] is None and rest["counts"]["open"] == 5
    with pytest.raises(ma.BadAlertInput, match="unknown alert state 'pending'"):
        ma.alert_page(store, "pending")


def test_a_purge_keeps_open_alerts_and_removes_closed_ones(store: Store) -> None:
    _alert(store, "kept open")
    _alert(store, "closed")
    closed = store.list_alerts()[0].id
    ma.act(store, closed, "close", "olivia", text="done")
    assert store.purge(time.time() - 3600)["alerts"] == 0  # closed too recently
    counts = store.purge(time.time() + 60, include_incomplete=True)
    assert counts["alerts"] == 1 and counts["log"] >= 1
    assert [a.text for a in store.list_alerts()] == ["kept open"]
    assert store.get_alert(closed) is None


def test_upgrade_takes_the_alerts_already_logged_over(backend: Any, store: Store) -> None:
    """A store of the schema before managed alerts gets them, its old alerts as new ones,
    and the trigger, when opened by this iop-engine."""
    _alert(store, "before the upgrade")
    before = 3 if backend.name == "sqlite" else 4  # the versions before managed alerts
    with store.transaction() as tx:
        tx.run("DROP TRIGGER IF EXISTS log_alert_managed"  # type: ignore[attr-defined]
               + ("" if backend.name == "sqlite" else " ON log"))
        tx.run("DROP TABLE managed_alerts")  # type: ignore[attr-defined]
        tx.run("DROP TABLE alert_notes")  # type: ignore[attr-defined]
        tx.run("UPDATE meta SET value = ? WHERE key = 'schema_version'",  # type: ignore[attr-defined]
               (str(before),))
    upgraded = backend.open()
    assert upgraded.schema_version() == (SQLITE_VERSION if backend.name == "sqlite"
                                         else PG_VERSION)
    assert [(a.text, a.state) for a in upgraded.list_alerts()] == [("before the upgrade", "new")]
    _alert(upgraded, "after the upgrade")
    assert [a.text for a in upgraded.list_alerts()] == ["after the upgrade",
                                                         "before the upgrade"]
