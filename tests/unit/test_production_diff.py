"""diff() and graph_diff(): directional, blind to import metadata, aware of route origins, in
IoP's ProductionDiff shape (tests/compat/test_plan_diff.py compares them with IoP's); the export
diff the change plan is built on."""

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
    assert str(delta) == "Production diff: Demo.Diff\n  no changes"


def test_diff_ignores_import_metadata() -> None:
    prod = _production()
    imported = Production.from_dict(prod.to_dict())
    assert {ref.kind for ref in imported} == {"component"}
    assert all(ref.component_class is None for ref in imported)
    assert imported._route_origin == "inferred"
    # The Invalid port's target() default is written into the export (as IoP writes it), so
    # the import knows that route even without the class.
    assert not prod.diff(imported).has_changes
    prod.item("Router").connect("Invalid", "AuditOperation")
    imported = Production.from_dict(prod.to_dict())
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

    changes = [(c.action, c.kind, c.path, c.before, c.after) for c in desired.diff(deployed)]
    assert changes == [
        ("change", "production", "production.update_timeout", "5", "10"),
        ("remove", "item", "items.Legacy", _signature(deployed, "Legacy"), None),
        ("add", "item", "items.AuditOperation", None, _signature(desired, "AuditOperation")),
        ("remove", "setting", "items.FileInput.settings.Host.Extra", "x", None),
        ("change", "setting", "items.FileInput.settings.Adapter.CallInterval", "9", "2"),
        ("change", "item", "items.OrderOperation.pool_size", "1", "2"),
    ]
    reverse = {(c.action, c.path) for c in deployed.diff(desired)}
    assert ("add", "items.Legacy") in reverse
    assert ("remove", "items.AuditOperation") in reverse
    text = str(desired.diff(deployed))
    assert text.startswith("Production diff: Demo.Diff\n  change production "
                           "production.update_timeout: '5' -> '10'")
    assert "  change setting items.FileInput.settings.Adapter.CallInterval: '9' -> '2'" in text
    assert "  remove item items.Legacy: {" in text


def _signature(prod: Production, item: str) -> dict:
    from iop.production.diff import item_signature

    return item_signature(prod.item(item))


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
    prod.item("Router").connect("Invalid", "AuditOperation")
    imported = Production.from_dict(prod.to_dict())
    assert not prod.diff(imported).has_changes
    gdiff = prod.graph_diff(imported)
    assert gdiff.has_changes and gdiff.to_dict()["has_changes"] is True
    assert [(c.action, c.path) for c in gdiff] == [
        ("change", "connections.FileInput.Output"), ("change", "connections.Router.Invalid"),
        ("change", "connections.Router.Valid")]
    assert gdiff.changes[0].before == [{"target": "Router", "origin": "inferred",
                                        "interaction": "request",
                                        "metadata": {"source": "Host setting fallback"}}]
    assert gdiff.changes[0].after == [{"target": "Router", "origin": "authored",
                                       "interaction": "request"}]
    assert not prod.graph_diff(_production().item("Router").connect(
        "Invalid", "AuditOperation").production).has_changes


def test_graph_diff_shows_runtime_only_routes() -> None:
    prod = _production()
    observed = Production.from_dict(prod.to_dict())
    observed._route_origin = "runtime"
    observed._observed_routes = {("FileInput", "AuditOperation"): "async"}
    gdiff = prod.graph_diff(observed)
    [runtime_only] = [c for c in gdiff if c.path == "connections.FileInput"]
    assert (runtime_only.action, runtime_only.before) == (
        "remove", [{"target": "AuditOperation", "origin": "runtime", "interaction": "async"}])
    assert "(runtime) -> AuditOperation [runtime, async]" in str(observed.graph())
