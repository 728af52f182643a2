"""The Production DSL: instance and class styles, ports and routes, the IRIS export shape."""

import copy
import re

import pytest

import iop.production as production_module
from iop.components.settings import target
from iop.production import (
    PRODUCTION_SETTING_NAMES,
    ComponentItem,
    ComponentRef,
    OperationItem,
    Port,
    ProcessItem,
    Production,
    ProductionError,
    Route,
    RouteEdge,
    ServiceItem,
    UnknownComponent,
)

# IoP names a Python class Python.<module>.<Class> without underscores.
MODULE = __name__.replace("_", "")


class FileService:
    """Stand-in for a PollingBusinessService with a declared port."""

    _iop_kind = "service"
    Output = target()

    @classmethod
    def get_adapter_type(cls):
        return "Ens.InboundAdapter"


class OrderOperation:
    _iop_kind = "operation"


class AuditOperation:
    _iop_kind = "operation"


class RouterProcess:
    _iop_kind = "process"
    Valid = target()
    Invalid = target("AuditOperation")


class FileInboundAdapter:
    _iop_kind = "inbound_adapter"


def _item(name, class_name, settings=(), **attrs):
    entry = {
        "@Name": name,
        "@Category": "",
        "@ClassName": class_name,
        "@PoolSize": "1",
        "@Enabled": "true",
        "@Foreground": "false",
        "@Comment": "",
        "@LogTraceEvents": "false",
        "@Schedule": "",
    }
    entry.update(attrs)
    entry["Setting"] = [
        {"@Target": t, "@Name": n, "#text": v} if v else {"@Target": t, "@Name": n}
        for t, n, v in settings
    ]
    return entry


# -- instance style ---------------------------------------------------------------------------


def _seed_instance_production():
    prod = Production("Demo.Production")
    file = prod.service("FileInput", FileService)
    orders = prod.operation(OrderOperation)
    prod.connect(file.Output, orders)
    return prod


def test_seed_instance_example():
    prod = _seed_instance_production()
    file, orders = prod.item("FileInput"), prod.item("OrderOperation")
    assert (file.kind, orders.kind) == ("service", "operation")
    assert file.class_name == f"Python.{MODULE}.FileService"
    assert orders.class_name == f"Python.{MODULE}.OrderOperation"
    assert file.component_class is FileService
    assert file.host_settings == {"Output": "OrderOperation"}
    assert prod.routes() == [RouteEdge("FileInput", "Output", "OrderOperation")]


def test_port_identity_and_resolve():
    prod = _seed_instance_production()
    port = prod.item("FileInput").Output
    assert isinstance(port, Port)
    assert str(port) == "FileInput.Output"
    assert port.resolve() == "OrderOperation"
    assert port == prod.item("FileInput").port("Output")


def test_unconnected_declared_port_resolves_to_its_default():
    prod = Production("P")
    router = prod.process(RouterProcess)
    with pytest.raises(ValueError, match="^Production target setting is not connected: "
                                         "RouterProcess.Valid$"):
        router.Valid.resolve()
    assert router.Invalid.resolve() == "AuditOperation"
    # As in IoP, a target("X") default is written into the item's Host settings.
    assert router.host_settings == {"Invalid": "AuditOperation"}
    assert prod.routes() == [RouteEdge("RouterProcess", "Invalid", "AuditOperation")]


def test_fluent_production_and_component_methods():
    prod = Production("Demo.Production").testing().tracing().actor_pool(2).describe("Orders")
    orders = prod.operation(OrderOperation)
    file = (
        prod.service("FileInput", FileService)
        .pool(2)
        .host_setting("Limit", 10)
        .adapter_setting("Charset", "utf-8")
        .connect("Output", orders)
    )
    assert isinstance(file, ComponentRef)
    assert (prod.testing_enabled, prod.log_general_trace_events) == (True, True)
    assert (prod.actor_pool_size, prod.description) == (2, "Orders")
    assert file.pool_size == 2
    assert file.host_settings == {"Limit": "10", "Output": "OrderOperation"}
    assert file.adapter_settings == {"Charset": "utf-8"}


def test_component_fluent_flags():
    prod = Production("P")
    ref = (
        prod.operation(OrderOperation)
        .disable()
        .run_foreground()
        .trace()
        .schedule_on("START:*-*-*T08:00:00,STOP:*-*-*T18:00:00")
        .comment_as("night off")
        .category_as("orders,files")
    )
    assert (ref.enabled, ref.foreground, ref.log_trace_events) == (False, True, True)
    assert ref.schedule.startswith("START:")
    assert (ref.comment, ref.category) == ("night off", "orders,files")
    assert ref.enable().enabled is True
    ref.setting("Flag", True).settings_update({"Count": 3, "Empty": "", "Unset": None})
    assert ref.host_settings == {"Flag": "true", "Count": "3", "Empty": ""}
    ref.adapter_settings_update({"A": 1}).host_settings_update({"B": 2.5})
    assert (ref.adapter_settings, ref.host_settings["B"]) == ({"A": "1"}, "2.5")


def test_pool_size_must_be_a_non_negative_integer():
    ref = Production("P").operation(OrderOperation)
    assert ref.pool(0).pool_size == 0
    with pytest.raises(ProductionError, match="OrderOperation"):
        ref.pool(-1)


def test_other_setting_with_explicit_target():
    ref = Production("P").operation(OrderOperation)
    ref.other_setting("Host", "H", 1).other_setting("Adapter", "A", "a")
    ref.other_setting("Custom", "C", "c").other_setting("Custom", "C", "d")
    assert ref.host_settings == {"H": "1"}
    assert ref.adapter_settings == {"A": "a"}
    assert ref.other_settings == [("Custom", "C", "d")]


def test_builtin_components_with_manual_ports():
    prod = Production("Demo.FileProduction")
    out = prod.operation("FileOut", class_name="EnsLib.File.PassthroughOperation")
    inp = (
        prod.service("FileIn", class_name="EnsLib.File.PassthroughService")
        .adapter_setting("FilePath", "/tmp/in")
        .connect("TargetConfigNames", out)
    )
    assert out.class_name == "EnsLib.File.PassthroughOperation"
    assert out.component_class is None
    assert inp.host_settings == {"TargetConfigNames": "FileOut"}
    assert str(inp.port("TargetConfigNames")) == "FileIn.TargetConfigNames"
    assert inp.TargetConfigNames.resolve() == "FileOut"
    assert prod.routes() == [RouteEdge("FileIn", "TargetConfigNames", "FileOut")]


def test_production_connect_with_a_manual_port():
    prod = Production("P")
    file = prod.service("FileIn", class_name="EnsLib.File.PassthroughService")
    out = prod.operation("FileOut", class_name="EnsLib.File.PassthroughOperation")
    assert prod.connect(file.port("TargetConfigNames"), out) is None
    prod.operation("Other", class_name="EnsLib.File.PassthroughOperation")
    prod.connect("FileIn.target_config_names", "Other")
    assert file.host_settings == {"TargetConfigNames": "Other"}
    with pytest.raises(ValueError, match="^Production item does not exist: Nowhere$"):
        prod.connect(file.port("TargetConfigNames"), "Nowhere")


def test_connect_add_fans_out_without_duplicates():
    prod = Production("P")
    file = prod.service("FileIn", class_name="EnsLib.File.PassthroughService")
    prod.operation("A", class_name="Demo.A")
    prod.operation("B", class_name="Demo.B")
    file.connect_add("TargetConfigNames", "A").connect_add("TargetConfigNames", "B")
    prod.connect_add("FileIn.TargetConfigNames", "A")
    assert file.host_settings["TargetConfigNames"] == "A,B"
    assert file.port("TargetConfigNames").targets() == ["A", "B"]
    assert [e.target for e in prod.routes()] == ["A", "B"]


def test_class_name_override_and_string_class():
    prod = Production("P")
    ref = prod.operation("Orders", OrderOperation, class_name="Python.OrderOperation")
    assert (ref.class_name, ref.component_class) == ("Python.OrderOperation", OrderOperation)
    plain = prod.operation("Out", "EnsLib.File.PassthroughOperation")
    assert plain.class_name == "EnsLib.File.PassthroughOperation"
    with pytest.raises(ValueError, match="^component_class or class_name is required$"):
        prod.operation("Python.FileOperation")


def test_kind_mismatch_and_adapter_items_are_refused():
    prod = Production("P")
    with pytest.raises(ProductionError, match="OrderOperation is a operation, not a service"):
        prod.service(OrderOperation)
    with pytest.raises(ProductionError, match="adapter"):
        prod.component(FileInboundAdapter)
    assert prod.component(OrderOperation).kind == "operation"
    assert prod.component("X", class_name="Some.Thing").kind == "component"


def test_duplicate_item_names_are_refused():
    prod = Production("P")
    prod.operation(OrderOperation)
    with pytest.raises(ProductionError, match="^Production item already exists: OrderOperation$"):
        prod.operation(OrderOperation)


def test_adapter_metadata():
    prod = Production("P")
    file = prod.service("FileInput", FileService, adapter_class=FileInboundAdapter)
    assert file.adapter_class_name == f"Python.{MODULE}.FileInboundAdapter"
    assert file.component_class is FileService
    inferred = prod.service("Other", FileService)
    assert inferred.adapter_class_name == "Ens.InboundAdapter"
    assert prod.operation(OrderOperation).adapter_class_name is None


def test_python_classes_lists_items_and_adapters():
    prod = Production("P")
    prod.service("FileInput", FileService, adapter_class=FileInboundAdapter)
    prod.operation(OrderOperation)
    prod.operation("Out", class_name="EnsLib.File.PassthroughOperation")
    assert prod.python_classes() == {
        f"Python.{MODULE}.FileService": FileService,
        f"Python.{MODULE}.FileInboundAdapter": FileInboundAdapter,
        f"Python.{MODULE}.OrderOperation": OrderOperation,
    }


def test_python_classes_refuses_one_class_name_for_two_classes():
    prod = Production("P")
    prod.operation("A", OrderOperation, class_name="Python.Same")
    with pytest.raises(ProductionError, match="produce the same IRIS proxy class name 'Python.Same'"):
        prod.operation("B", AuditOperation, class_name="Python.Same")


def test_production_level_settings():
    prod = (
        Production("Demo.Production")
        .timeouts(shutdown=120, update=10)
        .alerting(
            manager="Alerts.Manager",
            operation="Alerts.Operation",
            recipients="ops@example.com",
            action_window=60,
        )
    )
    assert prod.production_settings == {
        "ShutdownTimeout": "120",
        "UpdateTimeout": "10",
        "AlertNotificationManager": "Alerts.Manager",
        "AlertNotificationOperation": "Alerts.Operation",
        "AlertNotificationRecipients": "ops@example.com",
        "AlertActionWindow": "60",
    }
    assert tuple(prod.production_settings) == PRODUCTION_SETTING_NAMES


def test_namespace_and_director_are_not_part_of_the_shape():
    director = object()
    prod = Production("P").in_namespace("DEMO").with_director(director)
    assert (prod.namespace, prod.director) == ("DEMO", director)
    assert prod.to_dict() == Production("P").to_dict()


# -- lookups ------------------------------------------------------------------------------------


def test_component_ref_lookups():
    prod = _seed_instance_production()
    file, orders = prod.item("FileInput"), prod.item("OrderOperation")
    assert prod.component_ref("OrderOperation") is orders
    assert prod.get_component(orders) is orders
    assert prod.component_ref(file.Output) is orders
    assert prod.component_ref("FileInput.Output") is orders
    assert prod.component_ref(FileService.Output) is orders
    assert prod.get_component(OperationItem("OrderOperation", OrderOperation)) is orders


def test_dotted_item_names_win_over_port_paths():
    prod = Production("P")
    ref = prod.operation("Python.FileOperation", class_name="Demo.FileOperation")
    assert prod.component_ref("Python.FileOperation") is ref


def test_lookup_errors_name_the_problem():
    prod = _seed_instance_production()
    with pytest.raises(UnknownComponent, match="^Production item does not exist: Missing$"):
        prod.item("Missing")
    with pytest.raises(UnknownComponent, match="^Production item does not exist: Missing$"):
        prod.component_ref("Missing")
    prod.operation("Other", OrderOperation, class_name="Demo.Other")
    prod.item("FileInput").connect_add("Output", "Other")
    with pytest.raises(ProductionError, match="ambiguous: FileInput.Output resolves to multiple "
                                              "targets \\('OrderOperation', 'Other'\\)"):
        prod.component_ref("FileInput.Output")
    router = prod.process("Router", RouterProcess)
    with pytest.raises(UnknownComponent, match="not connected: Router.Valid$"):
        prod.component_ref(router.Valid)
    with pytest.raises(ProductionError, match="Item.Port"):
        prod.connect("NoSuchItem.Port", "X")


def test_unknown_port_attribute():
    ref = Production("P").operation(OrderOperation)
    with pytest.raises(AttributeError, match="no attribute or port 'Output'"):
        _ = ref.Output


def test_port_of_another_class_is_refused():
    prod = Production("P")
    orders = prod.operation(OrderOperation)
    with pytest.raises(ProductionError, match="belongs to test_production_dsl.FileService, not "):
        orders.connect(FileService.Output, "X")
    file = prod.service("FileInput", FileService)
    with pytest.raises(ProductionError, match="does not belong to item OrderOperation"):
        orders.connect(file.Output, "X")


def test_item_iteration_and_removal():
    prod = _seed_instance_production()
    assert [r.name for r in prod] == prod.item_names() == ["FileInput", "OrderOperation"]
    assert len(prod) == 2 and "FileInput" in prod
    removed = prod.remove("OrderOperation")
    assert removed.name == "OrderOperation" and "OrderOperation" not in prod


# -- class style --------------------------------------------------------------------------------

ORDER_OPERATION = OperationItem("OrderOperation", OrderOperation)


class DemoProduction(Production):
    name = "Demo.Production"
    testing_enabled = True

    services = (
        ServiceItem("FileInput", FileService, routes=(Route(FileService.Output, ORDER_OPERATION),)),
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


def test_class_style_matches_instance_style():
    prod = DemoProduction()
    assert isinstance(prod, Production)
    assert prod.name == "Demo.Production" and prod.testing_enabled
    expected = _seed_instance_production().testing()
    assert prod.to_dict() == expected.to_dict()
    assert prod.item("FileInput").Output.resolve() == "OrderOperation"


def test_class_style_with_builtin_class_names():
    prod = FileProduction()
    data = prod.to_dict()["Demo.FileProduction"]
    assert [i["@ClassName"] for i in data["Item"]] == [
        "EnsLib.File.PassthroughService", "EnsLib.File.PassthroughOperation",
    ]
    assert data["Item"][0]["Setting"] == [
        {"@Target": "Host", "@Name": "TargetConfigNames", "#text": "FileOut"},
        {"@Target": "Adapter", "@Name": "FilePath", "#text": "/tmp/in"},
    ]
    assert prod.item("FileIn").kind == "service"
    assert prod.routes() == [RouteEdge("FileIn", "TargetConfigNames", "FileOut")]


def test_fan_out_route_joins_targets():
    audit = OperationItem("AuditOperation", "Demo.AuditOperation")
    orders = OperationItem("OrderOperation", "Demo.OrderOperation")

    class FanOut(Production):
        name = "Demo.FanOut"
        services = (ServiceItem("In", "EnsLib.File.PassthroughService",
                                routes=(Route("target_config_names", (audit, orders)),)),)
        operations = (audit, orders)

    prod = FanOut()
    assert prod.item("In").host_settings == {"TargetConfigNames": "AuditOperation,OrderOperation"}
    assert [e.target for e in prod.routes()] == ["AuditOperation", "OrderOperation"]


def test_route_aliases_and_targets():
    route = Route("target_config_names", ["A", ORDER_OPERATION])
    assert route.port_name == "TargetConfigNames"
    assert route.target_names == ("A", "OrderOperation")
    assert Route(FileService.Output, "X").port_owner is FileService
    assert Route("Other_name", "X").port_name == "Other_name"  # only known aliases change
    with pytest.raises(ProductionError, match="requires at least one target"):
        Route("TargetConfigNames", ())


def test_port_in_host_settings_and_route_is_an_error():
    message = ("Service item 'FileIn' declares route target setting(s) in Host settings: "
               "'TargetConfigNames'. Declare route target settings with Route only.")
    with pytest.raises(ProductionError, match=re.escape(message)):
        ServiceItem(
            "FileIn",
            "EnsLib.File.PassthroughService",
            settings={"TargetConfigNames": "FileOut"},
            routes=(Route("TargetConfigNames", FILE_OUT),),
        )
    # The alias and the IRIS name are the same port.
    with pytest.raises(ProductionError, match=re.escape(message)):
        ServiceItem("FileIn", "EnsLib.File.PassthroughService",
                    host_settings={"target_config_names": "FileOut"},
                    routes=(Route("TargetConfigNames", FILE_OUT),))
    with pytest.raises(ProductionError, match="in Host settings: 'Output'"):
        ServiceItem("FileInput", FileService, host_settings={"Output": "X"},
                    routes=(Route(FileService.Output, "Y"),))
    # Non-route host settings sit next to routes.
    item = ServiceItem("FileIn", "EnsLib.File.PassthroughService", host_settings={"Limit": 3},
                       routes=(Route("TargetConfigNames", FILE_OUT),))
    assert item.host_settings == {"Limit": "3"}


def test_two_routes_for_one_port_are_refused():
    with pytest.raises(ProductionError, match="port TargetConfigNames has two Routes"):
        ServiceItem("FileIn", "EnsLib.File.PassthroughService",
                    routes=(Route("TargetConfigNames", "A"), Route("target_config_names", "B")))


def test_item_declaration_checks():
    with pytest.raises(ProductionError, match="requires a component class or class_name"):
        OperationItem("X")
    with pytest.raises(ProductionError, match="declares conflicting component and class_name values"):
        OperationItem("X", "A.B", class_name="C.D")
    with pytest.raises(ProductionError, match="declares duplicate Host setting keys: 'Limit'"):
        OperationItem("X", "A.B", settings={"Limit": 1}, host_settings={"Limit": 2})
    item = ComponentItem("X", OrderOperation, settings={"A": 1}, host_settings={"B": True},
                         routes=Route("Out", "Y"))
    assert item.kind == "operation"
    assert item.host_settings == {"A": "1", "B": "true"}
    assert ComponentItem("Y", "Some.Class").kind == "component"
    assert ProcessItem("Z", "Some.Class").kind == "process"


def test_declaration_group_must_match_the_item_kind():
    class Wrong(Production):
        name = "Wrong"
        services = (OperationItem("Out", "EnsLib.File.PassthroughOperation"),)

    with pytest.raises(TypeError, match="^services must contain ServiceItem declarations$"):
        Wrong()


def test_class_style_items_keep_every_attribute():
    class Full(Production):
        name = "Full"
        description = "all fields"
        actor_pool_size = 4
        production_settings = {"ShutdownTimeout": 60}
        components = (
            ComponentItem("Generic", "Some.Component", pool_size=3, enabled=False,
                          foreground=True, comment="c", category="cat",
                          log_trace_events=True, schedule="s", host_settings={"H": "h"},
                          other_settings=(("Custom", "C", "v"),)),
        )
        processes = (ProcessItem("Router", RouterProcess,
                                 routes=(Route(RouterProcess.Valid, "Generic"),)),)

    prod = Full()
    generic = prod.item("Generic")
    assert (generic.kind, generic.pool_size, generic.enabled, generic.foreground) == (
        "component", 3, False, True,
    )
    assert (generic.comment, generic.category, generic.log_trace_events, generic.schedule) == (
        "c", "cat", True, "s",
    )
    assert generic.other_settings == [("Custom", "C", "v")]
    assert prod.production_settings == {"ShutdownTimeout": "60"}
    assert (prod.description, prod.actor_pool_size) == ("all fields", 4)
    assert prod.routes() == [
        RouteEdge("Router", "Valid", "Generic"),
        RouteEdge("Router", "Invalid", "AuditOperation"),
    ]


def test_production_without_a_name_is_named_after_its_class():
    class Unnamed(Production):
        pass

    assert Unnamed().name == f"{__name__}.Unnamed"
    assert Production().name == "iop.production.production.Production"


def test_shared_declarations_are_not_mutated():
    DemoProduction().item("FileInput").host_setting("Output", "Elsewhere")
    assert DemoProduction().item("FileInput").host_settings == {"Output": "OrderOperation"}
    assert ORDER_OPERATION.host_settings == {}


# -- export shape ---------------------------------------------------------------------------------


def test_to_dict_is_the_iris_export_shape():
    prod = Production("IoP.Production", testing_enabled=True).actor_pool(2)
    (
        prod.operation("Python.FileOperation", class_name="Python.FileOperation")
        .trace()
        .adapter_setting("Charset", "utf-8")
        .adapter_setting("FilePath", "/irisdev/app/output/")
        .host_setting("%settings", "path=/irisdev/app/output/")
    )
    assert prod.to_dict() == {
        "IoP.Production": {
            "@Name": "IoP.Production",
            "@TestingEnabled": "true",
            "@LogGeneralTraceEvents": "false",
            "Description": "",
            "ActorPoolSize": "2",
            "Item": [
                {
                    "@Name": "Python.FileOperation",
                    "@Category": "",
                    "@ClassName": "Python.FileOperation",
                    "@PoolSize": "1",
                    "@Enabled": "true",
                    "@Foreground": "false",
                    "@Comment": "",
                    "@LogTraceEvents": "true",
                    "@Schedule": "",
                    "Setting": [
                        {"@Target": "Host", "@Name": "%settings",
                         "#text": "path=/irisdev/app/output/"},
                        {"@Target": "Adapter", "@Name": "Charset", "#text": "utf-8"},
                        {"@Target": "Adapter", "@Name": "FilePath",
                         "#text": "/irisdev/app/output/"},
                    ],
                }
            ],
        }
    }


def test_to_dict_production_settings_and_empty_values():
    # As IoP: a production setting at IRIS's default is left out; one that differs has no
    # @Target; an empty setting keeps an empty #text; an item without settings has no Setting.
    prod = Production("P").timeouts(shutdown=120, update=5)
    prod.operation(OrderOperation).host_setting("Empty", "")
    prod.operation("Bare", class_name="Demo.Bare")
    data = prod.to_dict().popitem()[1]
    assert data["Setting"] == [{"@Name": "UpdateTimeout", "#text": "5"}]
    assert data["Item"][0]["Setting"] == [{"@Target": "Host", "@Name": "Empty", "#text": ""}]
    assert "Setting" not in data["Item"][1]
    assert "Setting" not in Production("Q").to_dict().popitem()[1]


def _rich_production():
    prod = (
        Production("Demo.Rich", testing_enabled=True)
        .tracing()
        .actor_pool(3)
        .describe("rich")
        .timeouts(shutdown=90)
    )
    orders = prod.operation(OrderOperation).disable().comment_as("c").schedule_on("s")
    prod.service("FileInput", FileService).pool(0).category_as("k").connect("Output", orders)
    prod.service("FileIn", class_name="EnsLib.File.PassthroughService").adapter_setting(
        "FilePath", "/tmp/in"
    ).connect_add("TargetConfigNames", orders).connect_add("TargetConfigNames", "Audit")
    prod.component("Custom", class_name="X.Y").other_setting("Mystery", "M", "m").host_setting(
        "Blank", ""
    )
    return prod


def test_from_dict_round_trip():
    prod = _rich_production()
    data = prod.to_dict()
    rebuilt = Production.from_dict(copy.deepcopy(data))
    assert rebuilt.to_dict() == data
    assert Production.from_dict(rebuilt.to_dict()).to_dict() == data
    assert rebuilt.item("FileInput").kind == "component"
    assert rebuilt.item("FileInput").component_class is None


def test_from_dict_accepts_name_keyed_form_and_single_objects():
    data = {
        "Demo.Single": {
            "@TestingEnabled": "1",
            "Description": None,
            "Setting": {"@Target": "Production", "@Name": "UpdateTimeout", "#text": "5"},
            "Item": _item("FileIn", "EnsLib.File.PassthroughService")
            | {"Setting": {"@Target": "Host", "@Name": "TargetConfigNames", "#text": "Out"}},
        }
    }
    prod = Production.from_dict(data)
    assert prod.name == "Demo.Single" and prod.testing_enabled
    assert prod.description == "" and prod.actor_pool_size == 2
    assert prod.production_settings == {"UpdateTimeout": "5"}
    assert prod.item("FileIn").host_settings == {"TargetConfigNames": "Out"}
    assert prod.routes() == [RouteEdge("FileIn", "TargetConfigNames", "Out")]


def test_from_dict_minimal_item_uses_iris_defaults():
    prod = Production.from_dict({"Production": {"@Name": "M", "Item": {"@Name": "A",
                                                                        "@ClassName": "B.C"}}})
    ref = prod.item("A")
    assert (ref.pool_size, ref.enabled, ref.foreground, ref.log_trace_events) == (
        1, True, False, False,
    )
    assert ref.host_settings == {} and ref.adapter_settings == {}


def test_from_dict_kind_and_class_resolvers():
    data = _seed_instance_production().to_dict()
    kinds_by_class = {f"Python.{MODULE}.FileService": "service"}
    by_kind = Production.from_dict(data, kinds_by_class.get)
    assert by_kind.item("FileInput").kind == "service"
    assert by_kind.item("OrderOperation").kind == "component"

    classes = {f"Python.{MODULE}.FileService": FileService,
               f"Python.{MODULE}.OrderOperation": OrderOperation}
    by_class = Production.from_dict(data, resolve_class=classes.get)
    file = by_class.item("FileInput")
    assert (file.kind, file.component_class) == ("service", FileService)
    assert by_class.component_ref("FileInput.Output") is by_class.item("OrderOperation")
    assert by_class.to_dict() == data


def test_from_dict_keeps_unknown_fields():
    data = {"Production": {"@Name": "E", "@Extra": "x",
                           "Item": [_item("A", "B.C", **{"@InactivityTimeout": "0"})]}}
    out = Production.from_dict(data).to_dict().popitem()[1]
    assert out["@Extra"] == "x"
    assert out["Item"][0]["@InactivityTimeout"] == "0"


def test_from_dict_on_a_subclass_returns_a_plain_production():
    prod = DemoProduction.from_dict(Production("Other").to_dict())
    assert type(prod) is Production and len(prod) == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "must be an object"),
        ({"a": {}, "b": {}}, "expected"),
        ({"Production": {"@Name": "P", "Item": [{"@ClassName": "X"}]}}, "has no @Name"),
        ({"Production": {"@Name": "P", "Item": [{"@Name": "A"}]}}, "item A has no @ClassName"),
        ({"Production": {"@Name": "P", "ActorPoolSize": "two"}}, "ActorPoolSize: 'two'"),
        ({"Production": {"@Name": "P", "Item": [_item("A", "X", **{"@Enabled": "maybe"})]}},
         "item A @Enabled"),
        ({"Production": {"@Name": "P", "Item": "oops"}}, "Item must be an object"),
    ],
)
def test_from_dict_errors_name_the_problem(data, message):
    with pytest.raises(ProductionError, match=message):
        Production.from_dict(data)


# -- graph ----------------------------------------------------------------------------------------


def test_graph_lists_items_with_their_routes():
    prod = _rich_production()
    text = str(prod.graph())
    assert text.splitlines()[0] == "Demo.Rich"
    assert "  FileInput [Python.testproductiondsl.FileService]\n    Output -> OrderOperation" \
        in text
    assert "    TargetConfigNames -> Audit (unresolved)" in text
    data = prod.graph().to_dict()
    assert data["production"] == "Demo.Rich"
    assert {"source": "FileIn.TargetConfigNames", "source_item": "FileIn",
            "source_target_setting": "TargetConfigNames", "target": "Audit",
            "origin": "authored", "interaction": "request"} in data["edges"]
    assert {"name": "OrderOperation", "class_name": "Python.testproductiondsl.OrderOperation",
            "kind": "operation", "enabled": False, "category": ""} in data["nodes"]


def test_graph_of_an_empty_production():
    assert str(Production("Empty").graph()) == "Empty"


def test_package_exports():
    for name in production_module.__all__:
        assert hasattr(production_module, name)


# -- seed 001's fluent method lists, one by one ------------------------------------------------


def test_every_production_fluent_method_returns_the_production_and_shows_in_the_export():
    director = object()
    prod = Production("Demo.Fluent")
    calls = [
        ("testing", (), {}), ("tracing", (), {}), ("actor_pool", (5,), {}),
        ("describe", ("Order ingestion",), {}), ("timeouts", (), {"shutdown": 120, "update": 10}),
        ("alerting", (), {"manager": "Alerts.Manager", "operation": "Alerts.Operation",
                          "recipients": "ops@example.com", "action_window": 60}),
        ("in_namespace", ("DEMO",), {}), ("with_director", (director,), {}),
    ]
    for method, args, kwargs in calls:
        assert getattr(prod, method)(*args, **kwargs) is prod, method
    body = prod.to_dict().popitem()[1]
    assert (body["@TestingEnabled"], body["@LogGeneralTraceEvents"]) == ("true", "true")
    assert (body["ActorPoolSize"], body["Description"]) == ("5", "Order ingestion")
    # As IoP writes them: settings at IRIS's defaults (120, 10, 60) are left out.
    assert body["Setting"] == [
        {"@Name": "AlertNotificationManager", "#text": "Alerts.Manager"},
        {"@Name": "AlertNotificationOperation", "#text": "Alerts.Operation"},
        {"@Name": "AlertNotificationRecipients", "#text": "ops@example.com"},
    ]
    assert (prod.shutdown_timeout, prod.alert_action_window) == (120, 60)
    assert (prod.namespace, prod.director) == ("DEMO", director)
    prod.testing(False).tracing(False)
    body = prod.to_dict().popitem()[1]
    assert (body["@TestingEnabled"], body["@LogGeneralTraceEvents"]) == ("false", "false")


def test_every_component_fluent_method_returns_the_ref_and_shows_in_the_export():
    prod = Production("Demo.Fluent")
    target_ref = prod.operation("Audit", class_name="Demo.Audit")
    ref = prod.service("FileIn", class_name="EnsLib.File.PassthroughService")
    calls = [
        ("pool", (3,), {}), ("disable", (), {}), ("enable", (), {}), ("run_foreground", (), {}),
        ("trace", (), {}), ("schedule_on", ("START:*-*-*T08:00:00",), {}),
        ("comment_as", ("nightly",), {}), ("category_as", ("files,in",), {}),
        ("host_setting", ("Limit", 10), {}), ("host_settings_update", ({"Retry": True},), {}),
        ("setting", ("ArchivePath", "/arch"), {}), ("settings_update", ({"Count": 2},), {}),
        ("adapter_setting", ("FilePath", "/tmp/in"), {}),
        ("adapter_settings_update", ({"FileSpec": "*.txt"},), {}),
        ("other_setting", ("Custom", "Mode", "x"), {}),
        ("connect", ("TargetConfigNames", "Orders"), {}),
        ("connect_add", ("TargetConfigNames", target_ref), {}),
    ]
    for method, args, kwargs in calls:
        assert getattr(ref, method)(*args, **kwargs) is ref, method
    entry = prod.to_dict().popitem()[1]["Item"][1]
    assert {k: entry[k] for k in ("@PoolSize", "@Enabled", "@Foreground", "@LogTraceEvents",
                                  "@Schedule", "@Comment", "@Category")} == {
        "@PoolSize": "3", "@Enabled": "true", "@Foreground": "true", "@LogTraceEvents": "true",
        "@Schedule": "START:*-*-*T08:00:00", "@Comment": "nightly", "@Category": "files,in",
    }
    assert entry["Setting"] == [
        {"@Target": "Host", "@Name": "Limit", "#text": "10"},
        {"@Target": "Host", "@Name": "Retry", "#text": "true"},
        {"@Target": "Host", "@Name": "ArchivePath", "#text": "/arch"},
        {"@Target": "Host", "@Name": "Count", "#text": "2"},
        {"@Target": "Host", "@Name": "TargetConfigNames", "#text": "Orders,Audit"},
        {"@Target": "Adapter", "@Name": "FilePath", "#text": "/tmp/in"},
        {"@Target": "Adapter", "@Name": "FileSpec", "#text": "*.txt"},
        {"@Target": "Custom", "@Name": "Mode", "#text": "x"},
    ]
    assert ref.disable() is ref and ref.enabled is False
    assert ref.enable(False) is ref and ref.enabled is False
    assert ref.run_foreground(False).foreground is False and ref.trace(False).log_trace_events \
        is False


def test_component_ref_settings_and_foreground_are_public_data_attributes():
    prod = Production("P")
    ref = prod.service("FileInput", FileService).host_setting("Limit", 1) \
        .adapter_setting("Charset", "utf-8").run_foreground()
    # Plain data, readable and writable, never shadowed by the fluent methods.
    assert ref.host_settings == {"Limit": "1"} and isinstance(ref.host_settings, dict)
    assert ref.adapter_settings == {"Charset": "utf-8"} and isinstance(ref.adapter_settings, dict)
    assert ref.foreground is True
    ref.host_settings["Direct"] = "2"
    ref.foreground = False
    entry = prod.to_dict().popitem()[1]["Item"][0]
    assert {"@Target": "Host", "@Name": "Direct", "#text": "2"} in entry["Setting"]
    assert entry["@Foreground"] == "false"
    for method in ("host_settings_update", "adapter_settings_update", "run_foreground"):
        assert callable(getattr(ref, method))
    assert ref.component_class is FileService
    assert ref.adapter_class_name == "Ens.InboundAdapter"


def test_port_string_is_the_authoring_identity_and_resolve_the_dispatch_target():
    prod = Production("P")
    inp = prod.service("FileIn", class_name="EnsLib.File.PassthroughService")
    port = inp.port("target_config_names")
    assert str(port) == "FileIn.TargetConfigNames" and repr(port) == \
        "Port('FileIn.TargetConfigNames')"
    with pytest.raises(ValueError, match="not connected: FileIn.TargetConfigNames"):
        port.resolve()
    inp.connect(port, "A")
    assert port.resolve() == "A"
    inp.connect_add(port, "B")
    assert str(port) == "FileIn.TargetConfigNames"  # unchanged by the routes
    assert port.targets() == ["A", "B"]
    with pytest.raises(ValueError, match="ambiguous: FileIn.TargetConfigNames resolves to "
                                         "multiple targets \\('A', 'B'\\)"):
        port.resolve()
    assert f"{port}" == "FileIn.TargetConfigNames"


def test_class_style_route_fan_out_with_a_declared_port():
    valid = OperationItem("Valid", "Demo.Valid")
    copy_op = OperationItem("Copy", "Demo.Copy")

    class Fan(Production):
        name = "Demo.Fan"
        processes = (ProcessItem("Router", RouterProcess,
                                 routes=(Route(RouterProcess.Valid, (valid, copy_op)),
                                         Route(RouterProcess.Invalid, "Copy"))),)
        operations = (valid, copy_op)

    prod = Fan()
    router = prod.item("Router")
    assert router.host_settings == {"Valid": "Valid,Copy", "Invalid": "Copy"}
    assert router.Valid.targets() == ["Valid", "Copy"]
    assert prod.routes() == [RouteEdge("Router", "Valid", "Valid"),
                             RouteEdge("Router", "Valid", "Copy"),
                             RouteEdge("Router", "Invalid", "Copy")]
    with pytest.raises(ProductionError, match="Router.Valid resolves to multiple targets"):
        prod.component_ref("Router.Valid")
    assert prod.get_component("Router.Invalid") is prod.item("Copy")


def test_route_to_an_undeclared_item_is_a_validation_error():
    class Broken(Production):
        name = "Demo.Broken"
        services = (ServiceItem("In", "EnsLib.File.PassthroughService",
                                routes=(Route("TargetConfigNames",
                                              OperationItem("Ghost", "Demo.Ghost")),)),)

    prod = Broken()  # building it is fine: the route is only wrong for this production
    from iop.production import ProductionValidationError

    with pytest.raises(ProductionValidationError,
                       match="TargetConfigNames: Target setting references missing production "
                             "item 'Ghost'"):
        prod.validate(strict=True)


def test_none_unsets_a_setting():
    prod = Production("P").timeouts(shutdown=30)
    ref = prod.operation("Out", class_name="Demo.Op").host_setting("A", 1).adapter_setting("B", 2) \
        .other_setting("Custom", "C", 3)
    ref.host_setting("A", None).adapter_settings_update({"B": None}).other_setting("Custom", "C",
                                                                                  None)
    prod.production_setting("ShutdownTimeout", None)
    assert (ref.host_settings, ref.adapter_settings, ref.other_settings) == ({}, {}, [])
    assert "Setting" not in prod.to_dict().popitem()[1]["Item"][0]
    assert "Setting" not in prod.to_dict().popitem()[1]
    item = OperationItem("X", "Demo.Op", settings={"A": None, "B": ""}, adapter_settings={"C": None},
                         other_settings=({"@Target": "Custom", "@Name": "D", "#text": "d"},
                                         ("Custom", "E", 5)))
    assert (item.host_settings, item.adapter_settings) == ({"B": ""}, {})
    assert item.other_settings == (("Custom", "D", "d"), ("Custom", "E", "5"))
    with pytest.raises(ProductionError, match="other_settings entries"):
        OperationItem("X", "Demo.Op", other_settings=("Custom",))


class DeclaringService:
    """A host that names its Python adapter, IoP style."""

    _iop_kind = "service"

    @classmethod
    def get_adapter_type(cls):
        return "Python.FileInboundAdapter"


class PlainOperation:
    _iop_kind = "operation"


def test_adapter_class_is_bound_under_the_name_the_host_declares():
    import warnings

    prod = Production("P")
    file = prod.service("FileInput", DeclaringService, adapter_class=FileInboundAdapter)
    assert file.component_class is DeclaringService  # the host, not the adapter
    assert file.adapter_class is FileInboundAdapter
    assert file.adapter_class_name == "Python.FileInboundAdapter"
    assert prod.python_classes()["Python.FileInboundAdapter"] is FileInboundAdapter
    assert prod.service("Other", DeclaringService).adapter_class_name == \
        "Python.FileInboundAdapter"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert prod.validate().issues == ()

    # A host declaring a built-in adapter, or none, keeps running without the Python one.
    odd = Production("Q")
    odd.service("FileInput", FileService, adapter_class=FileInboundAdapter)
    odd.operation("Out", PlainOperation, adapter_class=FileInboundAdapter)
    assert odd.item("FileInput").adapter_class_name == f"Python.{MODULE}.FileInboundAdapter"
    with pytest.warns(UserWarning):
        texts = sorted(issue.message for issue in odd.validate().issues)
    assert texts == [
        "Adapter class FileInboundAdapter is not the adapter FileService.get_adapter_type() "
        "declares; the engine uses Ens.InboundAdapter.",
        "Adapter class FileInboundAdapter is not the adapter PlainOperation.get_adapter_type() "
        "declares; the engine runs the host without it.",
    ]


def test_store_shape_holds_the_same_definition_as_to_dict():
    from iop.production.export_shape import production_export

    prod = _rich_production()
    # The store, plans and diffs keep {"Production": ...}; to_dict is IoP's {name: ...}.
    assert production_export(prod) == {"Production": prod.to_dict()["Demo.Rich"]}
    assert Production.from_dict(prod.to_dict()).to_dict() == \
        Production.from_dict(production_export(prod)).to_dict()


def test_auto_class_names_drop_underscores_and_bind_the_class():
    from iop import BusinessOperation

    class Order_Op(BusinessOperation):
        pass

    prod = Production("P")
    ref = prod.operation(Order_Op)
    # As IoP: Python.<module>.<Class> without underscores (my_mod.Order_Op -> mymod.OrderOp).
    assert ref.class_name.startswith(f"Python.{MODULE}.") and ref.class_name.endswith(".OrderOp")
    assert "_" not in ref.class_name
    assert prod.python_classes() == {ref.class_name: Order_Op}  # what migration binds
