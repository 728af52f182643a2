"""iop: interoperability productions in pure Python, with the API of InterSystems IoP."""

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
from iop.production.lifecycle import use_director_class
from iop.runtime.director import Director
from iop.runtime.protocol import DirectorProtocol
from iop.version import __version__ as __version__

# A Production's lifecycle calls go through a Director on its namespace unless it was given
# a director: the production layer cannot import the Director (which works through the
# client layer above it), so the package wires it in here.
use_director_class(Director)

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
