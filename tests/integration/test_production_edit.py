"""Structural edits of a stored production (what the portal's Configuration page saves):
add / copy / remove an item and change its connections, each through the change plan with a
backup; refusals that store nothing; a concurrent change refused; rollback by backup id."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from iop.client import production_edit
from iop.client.local import LocalClient
from iop.engine.errors import EngineError
from iop.errors import IopError
from iop.production.plan import PlanError

REPO = Path(__file__).resolve().parents[2]
PRODUCTION = "Demo.Production"


@pytest.fixture
def client(run_iop: Any, tmp_path: Path, iop_home: Path) -> Any:
    demo = tmp_path / "demo"
    shutil.copytree(REPO / "examples" / "demo", demo, ignore=shutil.ignore_patterns("__pycache__"))
    run_iop("-m", demo / "settings.py")
    local = LocalClient()
    yield local
    local.store.close()


def _items(client: Any) -> dict[str, dict[str, Any]]:
    return {i["@Name"]: i for i in client.export(PRODUCTION)["Production"]["Item"]}


def _class_of(client: Any, item: str) -> str:
    return str(_items(client)[item]["@ClassName"])


def test_edits_go_through_the_plan_and_leave_a_backup(client: Any, iop_home: Path) -> None:
    classes = {c["class"]: c["kind"] for c in client.host_classes()}
    pricing = _class_of(client, "PricingOperation")
    assert classes[pricing] == "operation"
    assert "message" not in classes.values()

    done = client.edit_production(PRODUCTION, {
        "action": "add", "class_name": pricing, "name": "Pricing Two", "pool_size": "3",
        "enabled": "0", "settings": "# the rest later\n\n"})
    assert done["summary"] == f"added item Pricing Two ({pricing})"
    backup = Path(done["backup"])
    assert backup.parent == iop_home / "USER" / "backups"
    assert json.loads((backup / "plan.json").read_text())["source"] == "portal"
    added = _items(client)["Pricing Two"]
    assert (added["@PoolSize"], added["@Enabled"]) == ("3", "false")

    client.edit_production(PRODUCTION, {"action": "connect", "item": "OrderProcess",
                                        "setting": "PricingTarget",
                                        "targets": ["Pricing Two"]})
    settings = {s["@Name"]: s.get("#text") for s in _items(client)["OrderProcess"]["Setting"]}
    assert settings["PricingTarget"] == "Pricing Two"

    client.edit_production(PRODUCTION, {"action": "copy", "item": "AuditOperation",
                                        "name": "AuditCopy"})
    items = _items(client)
    assert {k: v for k, v in items["AuditCopy"].items() if k != "@Name"} == \
        {k: v for k, v in items["AuditOperation"].items() if k != "@Name"}

    removed = client.edit_production(PRODUCTION, {"action": "remove", "item": "AuditCopy"})
    assert "AuditCopy" not in _items(client)
    listed = client.production_backups(PRODUCTION)
    assert [b["id"] for b in listed][0] == removed["backup_id"]
    assert len(listed) == 4

    client.rollback_edit(PRODUCTION, removed["backup_id"])
    assert "AuditCopy" in _items(client)


@pytest.mark.parametrize(("edit", "said"), [
    ({"action": "add", "class_name": "os.system", "name": "X"}, "is not a bound service"),
    ({"action": "add", "class_name": "PRICING", "name": "OrderProcess"}, "already exists"),
    ({"action": "add", "class_name": "PRICING", "name": "a;b"}, "it contains ';'"),
    ({"action": "add", "class_name": "PRICING", "name": "X", "pool_size": "-1"},
     "pool size must be a whole number from 0 to 100"),
    ({"action": "add", "class_name": "PRICING", "name": "X", "settings": "no equals"},
     "settings line 1: write Name=value"),
    ({"action": "add", "class_name": "PRICING", "name": "X", "settings": "Bogus=1"},
     "has no host setting Bogus"),
    ({"action": "connect", "item": "OrderProcess", "setting": "PricingTarget",
      "targets": ["OrderPoller"]}, "OrderPoller is a business service"),
    ({"action": "connect", "item": "OrderProcess", "setting": "PricingTarget",
      "targets": ["OrderProcess"]}, "cannot send to itself"),
    ({"action": "connect", "item": "OrderProcess", "setting": "Limit", "targets": []},
     "Limit is not a target setting of OrderProcess"),
    ({"action": "copy", "item": "Ghost", "name": "X"}, "item Ghost is not in production"),
    ({"action": "drop"}, "the edit must be one of add, copy, remove, connect"),
])
def test_refused_edits_store_nothing(client: Any, iop_home: Path, edit: dict[str, Any],
                                     said: str) -> None:
    if edit.get("class_name") == "PRICING":
        edit = {**edit, "class_name": _class_of(client, "PricingOperation")}
    before = client.export(PRODUCTION)
    with pytest.raises(EngineError) as refused:
        client.edit_production(PRODUCTION, edit)
    assert said in str(refused.value)
    assert "\n" not in str(refused.value)
    assert client.export(PRODUCTION) == before
    assert not (iop_home / "USER" / "backups").exists()


def test_a_change_made_meanwhile_is_not_overwritten(client: Any) -> None:
    checked = production_edit.check_edit(client.store, PRODUCTION,
                                         {"action": "remove", "item": "AuditOperation"})
    client.save_item(PRODUCTION, "OrderProcess", {"comment": "changed meanwhile"})
    with pytest.raises(PlanError, match="changed while the edit was checked"):
        production_edit.apply_edit(client.store, PRODUCTION, checked)
    assert "AuditOperation" in _items(client)


@pytest.mark.parametrize("backup", ["../../etc", "/tmp", "20260101T000000Z-0123456789ab"])
def test_rollback_takes_only_a_backup_of_its_own(client: Any, backup: str) -> None:
    with pytest.raises(IopError, match="is not a backup of this portal|does not exist"):
        client.rollback_edit(PRODUCTION, backup)


@pytest.mark.slow
def test_an_edit_updates_the_running_production(client: Any, run_iop: Any,
                                                wait_for: Any) -> None:
    run_iop("-s", PRODUCTION, "-D")
    try:
        wait_for(lambda: any(j["item"] == "AuditOperation" and j["state"] == "running"
                             for j in client.jobs()), timeout=60, what="AuditOperation's job")
        done = client.edit_production(PRODUCTION, {"action": "copy", "item": "AuditOperation",
                                                   "name": "AuditCopy"})
        assert done["updated_running"] is True and done["update_needed"] is False
        wait_for(lambda: any(j["item"] == "AuditCopy" and j["state"] == "running"
                             for j in client.jobs()), timeout=60, what="the copy's job")
    finally:
        run_iop("-S")
