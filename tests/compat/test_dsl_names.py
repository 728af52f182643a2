"""The Production DSL's public names and call signatures, compared with IoP 4.1.1's.

Each object's IoP names are listed here once; both packages report which they have, and the
parameter names and kinds of each method they share.
"""

from __future__ import annotations

from pathlib import Path

from compat_harness import differential

COMPONENTS = {"names_components.py": '''
    from iop import BusinessOperation, BusinessProcess, target

    class Router(BusinessProcess):
        Output = target()
        Audit = target("AuditOp")

    class AuditOp(BusinessOperation):
        pass
'''}

# The names IoP 4.1.1 gives each object, in this helper's area (authoring, ports, exports).
# Lifecycle and director methods (start, stop, status, test, export, from_iris, ...) and the
# change workflow (validate, diff, plan, verify, apply, from_dict, ...) are compared by the
# tests of their own areas.
NAMES = '''
import inspect
from iop import (ComponentItem, ComponentRef, OperationItem, ProcessItem, Production, Route,
                 ServiceItem, Setting)
from iop.production import TargetSetting, TargetSettingRef
from names_components import AuditOp, Router

PRODUCTION = ["actor_pool", "actor_pool_size", "adapter_registrations", "add_component",
              "alert_action_window", "alert_notification_manager",
              "alert_notification_operation", "alert_notification_recipients", "alerting",
              "component", "component_ref", "component_registrations", "components",
              "connect", "delete_component", "describe", "description", "disconnect", "edges",
              "get_component", "graph", "in_namespace", "item", "items",
              "log_general_trace_events", "message", "message_registrations", "name",
              "namespace", "operation", "operations", "process", "processes",
              "resolve_target", "resolve_target_setting_ref", "service", "services",
              "shutdown_timeout", "testing", "testing_enabled", "timeouts", "to_class",
              "to_dict", "to_mermaid", "to_python", "to_xml", "tracing", "update_component",
              "update_timeout", "with_director"]
REF = ["adapter_class", "adapter_class_name", "adapter_setting", "adapter_settings",
       "adapter_settings_update", "category", "category_as", "class_name", "comment",
       "comment_as", "component_class", "connect", "disable", "enable", "enabled",
       "foreground", "host_setting", "host_settings", "host_settings_update", "inspect",
       "kind", "log_trace_events", "name", "other_setting", "other_settings", "pool",
       "pool_size", "production", "run_foreground", "runtime_metadata", "schedule",
       "schedule_on", "set_host_setting", "setting", "settings_update", "target_setting",
       "target_setting_names", "to_dict", "trace"]
ITEM = ["adapter_class", "adapter_class_name", "adapter_setting_values", "adapter_settings",
        "category", "class_name", "comment", "component", "enabled", "foreground",
        "host_setting_values", "host_settings", "kind", "log_trace_events",
        "other_setting_values", "other_settings", "pool_size", "route_values", "schedule",
        "settings", "name"]
ROUTE = ["target_names", "target_setting_name", "target_setting_owner", "target_setting",
         "targets"]
PORT = ["item_name", "path", "resolve", "name", "component", "production"]


def missing(obj, names):
    return [name for name in names if not hasattr(obj, name)]


def parameters(function):
    return [[p.name, p.kind.name] for p in inspect.signature(function).parameters.values()]


prod = Production("Demo.Names")
router = prod.process("Router", Router)
audit = prod.operation(AuditOp)
item = ServiceItem("In", "EnsLib.File.PassthroughService")
route = Route(Router.Output, "AuditOp")
port = router.Output

check("Production names", lambda: missing(prod, PRODUCTION))
check("ComponentRef names", lambda: missing(router, REF))
for item_class in (ServiceItem, ProcessItem, OperationItem, ComponentItem):
    declared = item_class("X", "Demo.X")
    check(f"{item_class.__name__} names", lambda declared=declared: missing(declared, ITEM))
check("Route names", lambda: missing(route, ROUTE))
check("TargetSettingRef names", lambda: missing(port, PORT))
check("TargetSettingRef is the port type", lambda: isinstance(port, TargetSettingRef))
check("TargetSetting is target()'s type", lambda: isinstance(Router.Output, TargetSetting))
check("TargetSetting is a Setting", lambda: issubclass(TargetSetting, Setting))
check("ProductionValidationWarning", lambda: __import__("iop").ProductionValidationWarning.__name__)
check("ComponentRef class", lambda: isinstance(router, ComponentRef))

SIGNED = {
    "Production": (Production, ["__init__", "component", "service", "process", "operation",
                                "connect", "disconnect", "delete_component", "message",
                                "to_mermaid", "testing", "tracing", "actor_pool", "describe",
                                "timeouts", "alerting", "in_namespace", "item",
                                "resolve_target", "to_dict", "to_python", "to_class",
                                "to_xml"]),
    "ComponentRef": (ComponentRef, ["connect", "inspect", "target_setting", "pool", "enable",
                                    "disable", "run_foreground", "trace", "schedule_on",
                                    "comment_as", "category_as", "host_setting",
                                    "adapter_setting", "other_setting", "setting",
                                    "set_host_setting", "to_dict"]),
    "TargetSettingRef": (TargetSettingRef, ["resolve"]),
}
for owner, (cls, methods) in SIGNED.items():
    for method in methods:
        check(f"{owner}.{method} parameters",
              lambda cls=cls, method=method: parameters(getattr(cls, method)))
'''

# Where the engine's signature differs from IoP's, and why.
INTENDED = {
    "ComponentRef.connect parameters":
        "IoP forwards **kwargs to Production.connect; ours names its one option, mode=",
    "Production.__init__ parameters":
        "also settings= (any production-level setting by its IRIS name), which the engine's "
        "portal and drafts use",
    "Production.component parameters":
        "also host_settings= (as ComponentItem has) besides IoP's settings=",
}


def test_names_and_signatures(tmp_path: Path) -> None:
    theirs = differential(COMPONENTS, NAMES, tmp_path, intended=INTENDED)
    # The intended differences are real differences, not stale entries.
    for label in INTENDED:
        assert label in theirs
