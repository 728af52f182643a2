"""Seed 001's Production DSL examples: to_dict(), to_python() and to_mermaid() byte for byte."""

from __future__ import annotations

from pathlib import Path

from compat_harness import differential

COMPONENTS = {"demo_components.py": '''
    from iop import BusinessOperation, PollingBusinessService, target

    class FileService(PollingBusinessService):
        Output = target()

        def on_poll(self):
            pass

    class OrderOperation(BusinessOperation):
        def on_message(self, request):
            return request
'''}

INSTANCE_STYLE = '''
    from iop import Production
    from demo_components import FileService, OrderOperation

    prod = Production("Demo.Production")
    file = prod.service("FileInput", FileService)
    orders = prod.operation(OrderOperation)
    prod.connect(file.Output, orders)
    check("to_dict", lambda: prod.to_dict())
    check("to_python", lambda: prod.to_python())
    check("to_mermaid", lambda: prod.to_mermaid())
'''


def test_instance_style_example(tmp_path: Path) -> None:
    differential(COMPONENTS, INSTANCE_STYLE, tmp_path)


def _exports(production: str, *extra: str) -> str:
    """Checks of one production's three exports (and ``to_class``), labelled by its name."""
    lines = [f'check("{production}.to_dict", lambda: {production}.to_dict())',
             f'check("{production}.to_python", lambda: {production}.to_python())',
             f'check("{production}.to_mermaid", lambda: {production}.to_mermaid())',
             f'check("{production}.to_class", lambda: {production}.to_class())']
    return "\n".join([*lines, *extra]) + "\n"


CLASS_STYLE = '''
from iop import OperationItem, Production, Route, ServiceItem
from demo_components import FileService, OrderOperation

ORDER_OPERATION = OperationItem("OrderOperation", OrderOperation)


class DemoProduction(Production):
    name = "Demo.Production"
    testing_enabled = True

    services = (
        ServiceItem(
            "FileInput",
            FileService,
            routes=(Route(FileService.Output, ORDER_OPERATION),),
        ),
    )
    operations = (ORDER_OPERATION,)


prod = DemoProduction()
check("type", lambda: type(prod).__name__)
''' + _exports("prod")


def test_class_style_example(tmp_path: Path) -> None:
    differential(COMPONENTS, CLASS_STYLE, tmp_path)


IRIS_CLASS_NAMES = '''
from iop import OperationItem, Production, Route, ServiceItem

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


prod = FileProduction()
''' + _exports("prod")


def test_class_style_with_iris_class_names(tmp_path: Path) -> None:
    differential(COMPONENTS, IRIS_CLASS_NAMES, tmp_path)


FAN_OUT = '''
from iop import OperationItem, Production, Route, ServiceItem

AUDIT = OperationItem("AuditOperation", "Demo.AuditOperation")
ORDERS = OperationItem("OrderOperation", "Demo.OrderOperation")


class FanOut(Production):
    name = "Demo.FanOut"
    services = (ServiceItem("FileIn", "EnsLib.File.PassthroughService",
                            routes=(Route("TargetConfigNames", (AUDIT, ORDERS)),)),)
    operations = (AUDIT, ORDERS)


class Aliased(Production):
    name = "Demo.Aliased"
    services = (ServiceItem("FileIn", "EnsLib.File.PassthroughService",
                            routes=Route("target_config_names", ("AuditOperation",))),)
    operations = (AUDIT,)


prod = FanOut()
aliased = Aliased()
check("route.target_names", lambda: Route("TargetConfigNames", (AUDIT, ORDERS)).target_names)
check("route.target_setting_name",
      lambda: Route("target_config_names", AUDIT).target_setting_name)
''' + _exports("prod") + _exports("aliased")


def test_route_fan_out(tmp_path: Path) -> None:
    differential(COMPONENTS, FAN_OUT, tmp_path)


FLUENT = '''
from iop import Production
from demo_components import FileService, OrderOperation

prod = (
    Production("Demo.Production")
    .testing()
    .tracing()
    .actor_pool(2)
    .describe("Order ingestion")
)

orders = prod.operation(OrderOperation)

file = (
    prod.service("FileInput", FileService)
    .pool(2)
    .host_setting("Limit", 10)
    .adapter_setting("Charset", "utf-8")
    .connect("Output", orders)
)
check("same ref", lambda: file is prod.item("FileInput"))
check("port", lambda: str(file.Output))
check("resolve", lambda: file.Output.resolve())
''' + _exports("prod")


def test_fluent_style(tmp_path: Path) -> None:
    differential(COMPONENTS, FLUENT, tmp_path)


MANUAL_PORTS = '''
from iop import Production

prod = Production("Demo.Manual")
out = prod.operation("FileOut", class_name="EnsLib.File.PassthroughOperation")

inp = (
    prod.service("FileIn", class_name="EnsLib.File.PassthroughService")
    .adapter_setting("FilePath", "/tmp/in")
    .connect("TargetConfigNames", out)
)
check("resolve", lambda: inp.TargetConfigNames.resolve())

other = Production("Demo.ManualPort")
file = other.service("FileIn", class_name="EnsLib.File.PassthroughService")
out2 = other.operation("FileOut", class_name="EnsLib.File.PassthroughOperation")
check("port()", lambda: str(file.port("TargetConfigNames")))
check("connect target_setting",
      lambda: other.connect(file.target_setting("TargetConfigNames"), out2))
''' + _exports("prod") + _exports("other")


def test_manual_port_names(tmp_path: Path) -> None:
    differential(COMPONENTS, MANUAL_PORTS, tmp_path, intended={
        "port()": "seed 001 documents ComponentRef.port(name); IoP 4.1.1 lacks it (its "
                  "target_setting(name), which we also have, is the same)"})


PRODUCTION_SETTINGS = '''
from iop import Production

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
changed = Production("Demo.Changed").timeouts(shutdown=300).alerting(action_window=5)
check("attributes", lambda: [prod.shutdown_timeout, prod.update_timeout,
                             prod.alert_notification_manager, prod.alert_action_window])
''' + _exports("prod") + _exports("changed")


def test_production_level_settings(tmp_path: Path) -> None:
    differential(COMPONENTS, PRODUCTION_SETTINGS, tmp_path)
