"""ProductionChangePlan: risk classes, save/load, editing the export shape, backups."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iop import BusinessOperation, BusinessService, Production, ProductionChangePlan, target
from iop.production import PlanError, ProductionValidationError
from iop.production.apply import (
    apply_operations,
    operation_state,
    read_backup,
    select_operations,
    write_backup,
)
from iop.production.export_shape import production_export
from iop.production.plan import build_plan, fingerprint


class Service(BusinessService):
    Output = target()


class Operation(BusinessOperation):
    pass


def _desired() -> Production:
    prod = Production("Demo.Plan", testing_enabled=True).timeouts(shutdown=60)
    a, b = prod.operation("A", Operation), prod.operation("B", Operation).pool(2)
    prod.service("In", Service).adapter_setting("CallInterval", "1").connect("Output", a) \
        .connect_add("Output", b)
    prod.operation("New", "EnsLib.File.PassthroughOperation").adapter_setting("FilePath", "/o")
    return prod


def _deployed() -> dict:
    prod = Production("Demo.Plan", testing_enabled=False)
    prod.production_setting("AlertActionWindow", "30")
    a, b = prod.operation("A", "Legacy.Operation"), prod.operation("B", Operation)
    prod.service("In", Service).adapter_setting("CallInterval", "5") \
        .adapter_setting("Legacy", "x").connect("Output", a).connect_add("Output", b) \
        .connect_add("Output", "Old")
    prod.operation("Old", "EnsLib.File.PassthroughOperation")
    data = production_export(prod)  # the stored shape: {"Production": {...}}
    data["Production"]["Item"][0]["@Custom"] = "kept"
    return data


def _ops(plan: ProductionChangePlan) -> dict[tuple[str, str | None, str], str]:
    return {(op.op, op.item, op.name): op.risk for op in plan.operations}


def test_risk_classes() -> None:
    plan = _desired().plan(_deployed())
    assert _ops(plan) == {
        ("set_production_attribute", None, "@TestingEnabled"): "safe",
        ("set_production_setting", None, "ShutdownTimeout"): "safe",
        ("remove_production_setting", None, "AlertActionWindow"): "blocked",
        ("replace_item_class", "A", "@ClassName"): "destructive",
        ("remove_field", "A", "@Custom"): "blocked",
        ("set_item_attribute", "B", "@PoolSize"): "safe",
        ("set_setting", "In", "CallInterval"): "safe",
        ("remove_setting", "In", "Legacy"): "blocked",
        ("set_setting", "In", "Output"): "destructive",  # drops the route to Old
        ("add_item", None, "New"): "safe",
        ("remove_item", None, "Old"): "blocked",
    }
    assert plan.counts == {"safe": 5, "destructive": 2, "blocked": 4, "unsupported": 0}
    assert plan.base_fingerprint == fingerprint(_deployed())
    assert plan.desired_fingerprint == fingerprint(production_export(_desired()))
    text = str(plan)
    assert "BLOCKED: kept unless --allow-destructive" in text
    assert "[destructive] set Host setting Output of item In: 'A,B,Old' -> 'A,B' " \
           "(drops route(s) to Old)" in text
    assert "[blocked] remove item Old [EnsLib.File.PassthroughOperation]" in text


def test_plan_against_nothing_creates_the_production() -> None:
    plan = build_plan(_desired(), None)
    assert [(op.op, op.risk) for op in plan.operations] == [("create_production", "safe")]
    assert plan.base_fingerprint is None
    assert "create production Demo.Plan with 4 item(s)" in str(plan)
    assert apply_operations(None, plan.operations) == production_export(_desired())


def test_runtime_only_routes_are_unsupported() -> None:
    deployed = Production.from_dict(_deployed())
    deployed._observed_routes = {("In", "A"): "async", ("A", "B"): "sync"}
    plan = _desired().plan(deployed)
    runtime = [op for op in plan.operations if op.op == "runtime_route"]
    assert [(op.name, op.risk) for op in runtime] == [("A -> B", "unsupported")]


def test_plan_refuses_a_production_with_a_broken_route() -> None:
    prod = _desired()
    prod.item("In").connect_add("Output", "Ghost")
    with pytest.raises(ProductionValidationError, match="routes to Ghost"):
        prod.plan(_deployed())


def test_save_and_load(tmp_path: Path) -> None:
    plan = _desired().plan(_deployed())
    path = plan.save(tmp_path / "sub" / "plan.json")
    data = json.loads(Path(path).read_text())
    assert data["format"] == "iop-production-change-plan" and data["version"] == 1
    assert data["counts"] == plan.counts
    loaded = ProductionChangePlan.load(path)
    assert loaded.to_dict() == plan.to_dict()
    assert str(loaded) == str(plan)


@pytest.mark.parametrize("content, message", [
    ("{not json", "is not valid JSON"),
    ('{"format": "other"}', "is not a production change plan"),
    ('{"format": "iop-production-change-plan", "version": 9, "production": "P"}',
     "plan version 9"),
    ('{"format": "iop-production-change-plan", "version": 1, "production": "P", '
     '"operations": [{"id": 1}]}', "operation 1 is malformed"),
    ('{"format": "iop-production-change-plan", "version": 1, "production": "P", '
     '"operations": [{"id": 1, "op": "add_item", "risk": "maybe", "name": "X"}]}',
     "unknown risk 'maybe'"),
])
def test_bad_plan_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "plan.json"
    path.write_text(content)
    with pytest.raises(PlanError, match=message):
        ProductionChangePlan.load(path)
    with pytest.raises(PlanError, match="cannot read plan"):
        ProductionChangePlan.load(tmp_path / "missing.json")


def test_apply_safe_operations_keeps_what_python_does_not_declare() -> None:
    deployed = _deployed()
    plan = _desired().plan(deployed)
    chosen, skipped = select_operations(plan, allow_destructive=False)
    assert {op.risk for op in chosen} == {"safe"}
    assert {op.risk for op, _ in skipped} == {"destructive", "blocked"}
    result = apply_operations(deployed, chosen)
    assert deployed == _deployed()  # the input is not modified
    items = {i["@Name"]: i for i in result["Production"]["Item"]}
    assert set(items) == {"A", "B", "In", "Old", "New"}
    assert items["A"]["@ClassName"] == "Legacy.Operation" and items["A"]["@Custom"] == "kept"
    assert {"@Target": "Adapter", "@Name": "Legacy", "#text": "x"} in items["In"]["Setting"]
    assert {"@Target": "Adapter", "@Name": "CallInterval", "#text": "1"} in items["In"]["Setting"]
    assert items["B"]["@PoolSize"] == "2"
    states = {op.id: operation_state(result, op) for op in plan.operations}
    assert all(states[op.id] == "converged" for op in chosen)
    assert all(states[op.id] == "pending" for op, _ in skipped)


def test_apply_everything_reaches_the_desired_production() -> None:
    plan = _desired().plan(_deployed())
    chosen, skipped = select_operations(plan, allow_destructive=True)
    assert skipped == []
    result = apply_operations(_deployed(), chosen)
    assert not _desired().diff(result).has_changes
    assert all(operation_state(result, op) == "converged" for op in plan.operations)


def test_backup_round_trip(tmp_path: Path) -> None:
    plan = _desired().plan(_deployed())
    path = write_backup(tmp_path / "backups", plan, _deployed(), "USER")
    name = Path(path).name
    assert name.endswith("-" + fingerprint(_deployed())[:12]) and name[8] == "T"
    assert sorted(p.name for p in Path(path).iterdir()) == [
        "manifest.json", "metadata.json", "plan.json", "production.json"]  # metadata: IoP's
    manifest, definition = read_backup(path)
    assert definition == _deployed()
    assert manifest["production"] == "Demo.Plan" and manifest["namespace"] == "USER"
    second = write_backup(tmp_path / "backups", plan, _deployed(), "USER")
    assert second != path  # same second, distinct directory
    (Path(path) / "production.json").write_text(json.dumps({"Production": {"@Name": "X"}}))
    with pytest.raises(PlanError, match="does not match its fingerprint"):
        read_backup(path)
    with pytest.raises(PlanError, match="does not exist"):
        read_backup(tmp_path / "nope")
