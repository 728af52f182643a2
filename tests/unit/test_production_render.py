"""Drafts of a production (-e --format python|class|graph|mermaid) re-import to an equal one."""

from __future__ import annotations

import ast

import pytest

from iop import (
    BusinessOperation,
    OperationItem,
    PollingBusinessService,
    Production,
    Route,
    ServiceItem,
    target,
)
from iop.production.mermaid import render_mermaid
from iop.production.render import render_class, render_python


class FileService(PollingBusinessService):
    Output = target()

    def on_poll(self):
        pass


class OrderOperation(BusinessOperation):
    def on_message(self, request):
        return request


ORDER_OPERATION = OperationItem("OrderOperation", OrderOperation)


class DemoProduction(Production):
    name = "Demo.Production"
    testing_enabled = True

    services = (
        ServiceItem("FileInput", FileService,
                    routes=(Route(FileService.Output, ORDER_OPERATION),)),
    )
    operations = (ORDER_OPERATION,)


FILE_OUT = OperationItem("FileOut", "EnsLib.File.PassthroughOperation")


class FileProduction(Production):
    name = "Demo.FileProduction"

    services = (
        ServiceItem(
            "FileIn",
            "EnsLib.File.PassthroughService",
            adapter_settings={"FilePath": "/tmp/in"},
            routes=(Route("TargetConfigNames", FILE_OUT),),
        ),
    )
    operations = (FILE_OUT,)


def _seed_fluent() -> Production:
    prod = (Production("Demo.Fluent").testing().tracing().actor_pool(3)
            .describe("Order 'ingestion'\nsecond line")
            .timeouts(shutdown=120, update=10)
            .alerting(manager="Alerts.Manager", operation="Alerts.Operation",
                      recipients="ops@example.com", action_window=60))
    orders = prod.operation(OrderOperation)
    audit = prod.operation("Audit-Op 2", "Demo.AuditOperation").disable().comment_as("old")
    (prod.service("FileInput", FileService).pool(2).host_setting("Limit", 10)
     .adapter_setting("Charset", "utf-8").connect("Output", orders))
    router = prod.process("Router", class_name="Demo.Router").category_as("core,routing") \
        .schedule_on("START:*-*-*T08:00:00").trace().run_foreground()
    router.connect("TargetConfigNames", orders).connect_add("TargetConfigNames", audit)
    orders.connect("TargetConfigName", router)  # a cycle
    prod.operation("Spaces", class_name="Demo.Op").host_setting("TargetConfigNames", "A, B") \
        .other_setting("Custom", "Weird", "v").host_setting("Empty", "")
    prod.operation("Dangling", class_name="Demo.Op").connect("TargetConfigNames", "Nowhere")
    prod.component("class", class_name="Demo.Keyword")
    return prod


PRODUCTIONS = {
    "seed-instance": lambda: _seed_instance(),
    "seed-class": DemoProduction,
    "seed-builtins": FileProduction,
    "fluent": _seed_fluent,
    "empty": lambda: Production("Empty"),
}


def _seed_instance() -> Production:
    prod = Production("Demo.Production")
    file = prod.service("FileInput", FileService)
    orders = prod.operation(OrderOperation)
    prod.connect(file.Output, orders)
    return prod


def _reimport(source: str, name: str) -> Production:
    ast.parse(source)  # the draft is valid Python
    namespace: dict = {"__name__": "draft"}
    exec(compile(source, f"<{name}>", "exec"), namespace)
    [prod] = namespace["PRODUCTIONS"]
    assert isinstance(prod, Production)
    return prod


@pytest.mark.parametrize("render", [render_python, render_class], ids=["python", "class"])
@pytest.mark.parametrize("key", list(PRODUCTIONS))
def test_draft_reimports_to_an_equal_production(render, key) -> None:
    original = PRODUCTIONS[key]()
    for source_production in (original, Production.from_dict(original.to_dict())):
        draft = render(source_production)
        again = _reimport(draft, key)
        assert not original.diff(again).has_changes, str(original.diff(again))
        assert not again.diff(original).has_changes


def test_python_draft_uses_component_and_connect() -> None:
    draft = render_python(DemoProduction())
    assert "from iop import Production" in draft
    assert "file_input = prod.component(\n    'FileInput',\n    class_name='Python." in draft
    assert "    kind='service',\n" in draft
    assert "prod.connect(file_input.port('Output'), order_operation)" in draft
    assert "# TODO: Python.testproductionrender.FileService is a Python component:" in draft
    assert draft.rstrip().endswith("PRODUCTIONS = [prod]")


def test_python_draft_connects_fan_out() -> None:
    draft = render_python(_seed_fluent())
    assert "prod.connect(router.port('TargetConfigNames'), order_operation)" in draft
    assert "prod.connect_add(router.port('TargetConfigNames'), audit_op_2)" in draft
    assert "spaces.host_setting('TargetConfigNames', 'A, B')" in draft  # kept verbatim
    assert "dangling.connect('TargetConfigNames', 'Nowhere')" in draft
    assert "item_class = prod.component('class', class_name='Demo.Keyword')" in draft


def test_class_draft_declares_items_and_routes() -> None:
    draft = render_class(FileProduction())
    assert "from iop import OperationItem, Production, Route, ServiceItem" in draft
    assert "FILE_OUT = OperationItem(\n    'FileOut',\n    'EnsLib.File.PassthroughOperation',\n)" \
        in draft
    assert "routes=(Route('TargetConfigNames', FILE_OUT),)," in draft
    assert draft.index("FILE_OUT = ") < draft.index("FILE_IN = ")  # targets first
    assert "class DemoFileProduction(Production):" in draft
    assert "    services = (FILE_IN,)" in draft and "    operations = (FILE_OUT,)" in draft


def test_class_draft_without_role_metadata_uses_component_item() -> None:
    imported = Production.from_dict(FileProduction().to_dict())
    draft = render_class(imported)
    assert "FILE_IN = ComponentItem(" in draft
    assert "# TODO: no role metadata" in draft
    assert "    components = (FILE_OUT, FILE_IN,)" in draft or \
        "    components = (FILE_IN, FILE_OUT,)" in draft


def test_class_draft_fan_out_and_cycles() -> None:
    draft = render_class(_seed_fluent())
    # Router and OrderOperation route to each other: one of them names the other by string.
    assert "Route('TargetConfigNames', ('OrderOperation', AUDIT_OP_2,))" in draft
    assert "Route('TargetConfigName', ROUTER)" in draft
    assert "    production_settings = {\n        'ShutdownTimeout': '120',\n" in draft


def test_mermaid_groups_roles_left_to_right() -> None:
    text = render_mermaid(_seed_fluent())
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    titles = [line.strip() for line in lines if line.strip().startswith("subgraph")]
    assert titles == ["subgraph services[Services]", "subgraph processes[Processes]",
                      "subgraph operations[Operations]", "subgraph components[Components]"]
    ids = {name: f"n{i}" for i, name in enumerate(_seed_fluent().item_names())}
    assert f'    {ids["FileInput"]} -->|"Output"| {ids["OrderOperation"]}' in lines
    assert f'        {ids["Audit-Op 2"]}["Audit-Op 2 (disabled)"]' in lines
    [missing] = [line.split("[")[0].strip() for line in lines if '"Nowhere (not in' in line]
    assert f'    {ids["Dangling"]} -->|"TargetConfigNames"| {missing}' in lines


def test_mermaid_shows_target_defaults_as_configured_routes() -> None:
    class Router(PollingBusinessService):
        Next = target("OrderOperation")

    prod = Production("Demo.Inferred")
    prod.operation(OrderOperation)
    prod.service("Router", Router)
    # As in IoP, the target("OrderOperation") default is written into Router's settings.
    assert prod.item("Router").host_settings == {"Next": "OrderOperation"}
    text = render_mermaid(prod)
    assert '    n1 -->|"Next"| n0' in text.splitlines()
