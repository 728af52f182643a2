"""iop: interoperability productions in pure Python, with the API of InterSystems IoP."""

from typing import TYPE_CHECKING, Any

from iop.director_hook import use_director_loader
from iop.version import __version__ as __version__

# The public names, by the module that defines them. They are imported on first use (PEP
# 562): a process that needs a few of them (an engine job, a CLI command) does not pay for
# loading the rest (the production DSL, the Director and its HTTP client, ...).
_SOURCES = {
    "iop.components.adapters": ("InboundAdapter", "OutboundAdapter"),
    "iop.components.operation": ("BusinessOperation",),
    "iop.components.process": ("BusinessProcess",),
    "iop.components.service": ("BusinessService", "PollingBusinessService"),
    "iop.components.settings": ("Category", "Setting", "controls", "setting", "target"),
    "iop.messages": ("Field", "Message", "Model", "PersistentMessage", "PydanticMessage",
                     "handler"),
    "iop.migration.bindings": ("bind_component", "list_bindings", "register_component",
                               "unbind_component", "unregister_component"),
    "iop.production": (
        "ComponentItem", "ComponentRef", "OperationItem", "ProcessItem", "Production",
        "ProductionApplyResult", "ProductionChangePlan", "ProductionDiff",
        "ProductionDiffEntry", "ProductionGraph", "ProductionPlanOperation",
        "ProductionValidationError", "ProductionValidationIssue",
        "ProductionValidationReport", "ProductionValidationWarning",
        "ProductionVerifyResult", "Route", "ServiceItem", "TargetSetting", "TargetSettingRef"),
    "iop.runtime.director": ("Director",),
    "iop.runtime.protocol": ("DirectorProtocol",),
}
_MODULE_OF = {name: module for module, names in _SOURCES.items() for name in names}

if TYPE_CHECKING:
    from iop.components.adapters import InboundAdapter, OutboundAdapter
    from iop.components.operation import BusinessOperation
    from iop.components.process import BusinessProcess
    from iop.components.service import BusinessService, PollingBusinessService
    from iop.components.settings import Category, Setting, controls, setting, target
    from iop.messages import Field, Message, Model, PersistentMessage, PydanticMessage, handler
    from iop.migration.bindings import (
        bind_component,
        list_bindings,
        register_component,
        unbind_component,
        unregister_component,
    )
    from iop.production import (
        ComponentItem,
        ComponentRef,
        OperationItem,
        ProcessItem,
        Production,
        ProductionApplyResult,
        ProductionChangePlan,
        ProductionDiff,
        ProductionDiffEntry,
        ProductionGraph,
        ProductionPlanOperation,
        ProductionValidationError,
        ProductionValidationIssue,
        ProductionValidationReport,
        ProductionValidationWarning,
        ProductionVerifyResult,
        Route,
        ServiceItem,
        TargetSetting,
        TargetSettingRef,
    )
    from iop.runtime.director import Director
    from iop.runtime.protocol import DirectorProtocol


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'iop' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # found directly from now on
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_MODULE_OF})


def _director_class() -> type:
    from iop.runtime.director import Director

    return Director


# A Production's lifecycle calls go through a Director on its namespace unless it was given
# a director: the production layer cannot import the Director (which works through the
# client layer above it), so the package wires in where to find it, loaded on first use.
use_director_loader(_director_class)

__all__ = [
    "BusinessOperation", "BusinessProcess", "BusinessService", "Category", "ComponentItem",
    "ComponentRef", "Director", "DirectorProtocol", "Field", "InboundAdapter", "Message", "Model",
    "OperationItem",
    "OutboundAdapter", "PersistentMessage", "PollingBusinessService", "ProcessItem", "Production",
    "ProductionApplyResult", "ProductionChangePlan", "ProductionDiff", "ProductionDiffEntry",
    "ProductionGraph", "ProductionPlanOperation", "ProductionValidationError",
    "ProductionValidationIssue", "ProductionValidationReport", "ProductionValidationWarning",
    "ProductionVerifyResult", "PydanticMessage", "Route", "ServiceItem", "Setting",
    "TargetSetting", "TargetSettingRef", "bind_component", "controls", "handler",
    "list_bindings", "register_component", "setting", "target", "unbind_component",
    "unregister_component",
]
