"""diff() and graph_diff(): directional, blind to import metadata, aware of route origins."""

from __future__ import annotations

import copy

from iop import BusinessOperation, BusinessProcess, PollingBusinessService, Production, target
from iop.production import ProductionDiff
from iop.production.diff import canonical_export, diff_exports
from iop.production.export_shape import production_export


class FileService(PollingBusinessService):
    Output = target()


class RouterProcess(BusinessProcess):
    Valid = target()
    Invalid = target("AuditOperation")


class OrderOperation(BusinessOperation):
    pass


class AuditOperation(BusinessOperation):
    pass


def _production() -> Production:
    prod = Production("Demo.Diff", testing_enabled=True).timeouts(shutdown=120)
    file = prod.service("FileInput", FileService).adapter_setting("CallInterval", 2)
    router = prod.process("Router", RouterProcess)
    orders = prod.operation(OrderOperation).pool(2)
    prod.operation(AuditOperation)
    prod.connect(file.Output, router)
    router.connect("Valid", orders)
    return prod


def test_identical_productions_have_no_changes() -> None:
    delta = _production().diff(_production())
    assert isinstance(delta, ProductionDiff)
    assert not delta.has_changes and not delta and len(delta) == 0
    assert delta.to_dict() == {"production": "Demo.Diff", "has_changes": False, "changes": []}
    assert str(delta) == "Production Demo.Diff: no changes"


def test_diff_ignores_import_metadata() -> None:
    prod = _production()
    imported = Production.from_dict(prod.to_dict())
    assert {ref.kind for ref in imported} == {"component"}
    assert all(ref.component_class is None for ref in imported)
    assert imported._route_origin == "inferred"
    assert not prod.diff(imported).has_changes
    assert not imported.diff(prod).has_changes


def test_diff_ignores_order_and_flag_spelling() -> None:
    data = production_export(_production())
    shuffled = copy.deepcopy(data)
    body = shuffled["Production"]
    body["Item"].reverse()
    for item in body["Item"]:
        item.get("Setting", []).reverse()
        item["@Enabled"] = "1"
    body["@TestingEnabled"] = "1"
    del body["Description"]
    assert not diff_exports(data, shuffled).has_changes
    assert canonical_export(shuffled)["Production"]["@TestingEnabled"] == "true"


def test_diff_is_directional() -> None:
    desired = _production()
    deployed = _production()
    deployed.item("OrderOperation").pool(1)
    deployed.item("FileInput").adapter_setting("CallInterval", 9).host_setting("Extra", "x")
    deployed.operation("Legacy", "EnsLib.File.PassthroughOperation")
    deployed.remove("AuditOperation")
    deployed.production_setting("UpdateTimeout", 5)

    changes = {(c.action, c.scope, c.item, c.name): (c.before, c.after) for c in desired.diff(deployed)}
    assert changes == {
        ("change", "item_attribute", "OrderOperation", "@PoolSize"): ("1", "2"),
        ("change", "setting", "FileInput", "CallInterval"): ("9", "2"),
        ("remove", "setting", "FileInput", "Extra"): ("x", None),
        ("add", "item", None, "AuditOperation"): (None, desired.to_dict().popitem()[1]["Item"][3]),
        ("remove", "item", None, "Legacy"): (
            deployed.to_dict().popitem()[1]["Item"][-1], None),
        ("remove", "production_setting", None, "UpdateTimeout"): ("5", None),
    }
    reverse = {(c.action, c.scope, c.item, c.name) for c in deployed.diff(desired)}
    assert ("add", "item", None, "Legacy") in reverse
    assert ("remove", "item", None, "AuditOperation") in reverse
    text = str(desired.diff(deployed))
    assert text.startswith("Production Demo.Diff: 6 change(s)")
    assert "~ item FileInput Adapter setting CallInterval: '9' -> '2'" in text
    assert "- item Legacy [EnsLib.File.PassthroughOperation]" in text


def test_diff_against_nothing_adds_the_production() -> None:
    delta = diff_exports(production_export(_production()), None)
    [change] = delta.changes
    assert (change.action, change.scope, change.name) == ("add", "production", "Demo.Diff")
    assert change.after["Production"]["@Name"] == "Demo.Diff"


def test_unknown_export_fields_are_compared() -> None:
    data = production_export(_production())
    other = copy.deepcopy(data)
    other["Production"]["Item"][0]["@Custom"] = "x"
    other["Production"]["Extra"] = {"a": 1}
    scopes = {(c.action, c.scope, c.name) for c in diff_exports(data, other)}
    assert scopes == {("remove", "item_field", "@Custom"), ("remove", "production_field", "Extra")}


# -- graph_diff ---------------------------------------------------------------------------------


def test_graph_edges_carry_their_origin() -> None:
    prod = _production()
    origins = {(e.source, e.port, e.target): e.origin for e in prod.graph().graph_edges}
    assert origins == {
        ("FileInput", "Output", "Router"): "authored",
        ("Router", "Valid", "OrderOperation"): "authored",
        # A target() default is written into the item's settings, as IoP does: authored.
        ("Router", "Invalid", "AuditOperation"): "authored",
    }
    assert all(e.interaction == "setting" for e in prod.graph().graph_edges)
    assert "Invalid -> AuditOperation\n" in str(prod.graph()) + "\n"
    data = prod.graph().to_dict()
    assert {"source": "Router.Invalid", "source_item": "Router", "source_target_setting":
            "Invalid", "target": "AuditOperation", "origin": "authored",
            "interaction": "request"} in data["edges"]


def test_graph_diff_reports_origin_changes_that_diff_ignores() -> None:
    prod = _production()
    imported = Production.from_dict(prod.to_dict())
    assert not prod.diff(imported).has_changes
    gdiff = prod.graph_diff(imported)
    assert gdiff.has_changes
    # The target() default is in the export's settings, so the import infers all three routes.
    assert gdiff.added == [] and gdiff.removed == []
    assert {(a.port, a.origin, b.origin) for a, b in gdiff.changed} == {
        ("Output", "authored", "inferred"), ("Valid", "authored", "inferred"),
        ("Invalid", "authored", "inferred")}
    assert "~ FileInput.Output -> Router: inferred/setting -> authored/setting" in str(gdiff)
    assert not prod.graph_diff(_production()).has_changes
    assert gdiff.to_dict()["has_changes"] is True


def test_graph_diff_shows_runtime_only_routes() -> None:
    prod = _production()
    observed = Production.from_dict(prod.to_dict())
    observed._route_origin = "runtime"
    observed._observed_routes = {("FileInput", "AuditOperation"): "async"}
    gdiff = prod.graph_diff(observed)
    assert [(e.source, e.port, e.target, e.origin, e.interaction) for e in gdiff.removed] == [
        ("FileInput", "", "AuditOperation", "runtime", "async")]
    assert "(runtime) -> AuditOperation [runtime, async]" in str(observed.graph())
