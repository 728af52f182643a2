"""The production authoring DSL: items, settings, routes, the IRIS export shape, and the change
workflow (diff, plan, apply, verify, rollback)."""

from iop.components.settings import PortDeclaration as TargetSetting
from iop.components.settings import target
from iop.production.apply import (
    ApplyResult,
    ProductionApplyResult,
    ProductionVerifyResult,
    VerifyResult,
)
from iop.production.component import ComponentRef
from iop.production.diff import Change, ProductionDiff, ProductionDiffEntry
from iop.production.errors import ProductionError, UnknownComponent
from iop.production.graph import GraphEdge, GraphNode, ProductionGraph, RouteEdge
from iop.production.items import ComponentItem, OperationItem, ProcessItem, Route, ServiceItem
from iop.production.plan import (
    PlanError,
    PlanOperation,
    ProductionChangePlan,
    ProductionPlanOperation,
)
from iop.production.ports import ROUTE_ALIASES, ROUTE_SETTING_NAMES, Port, TargetSettingRef
from iop.production.production import PRODUCTION_SETTING_NAMES, Production
from iop.production.validation import (
    ProductionValidationError,
    ProductionValidationIssue,
    ProductionValidationReport,
    ProductionValidationWarning,
    ValidationIssue,
)

__all__ = [
    "PRODUCTION_SETTING_NAMES",
    "ROUTE_ALIASES",
    "ROUTE_SETTING_NAMES",
    "ApplyResult",
    "Change",
    "ComponentItem",
    "ComponentRef",
    "GraphEdge",
    "GraphNode",
    "OperationItem",
    "PlanError",
    "PlanOperation",
    "Port",
    "ProcessItem",
    "Production",
    "ProductionApplyResult",
    "ProductionChangePlan",
    "ProductionDiff",
    "ProductionDiffEntry",
    "ProductionError",
    "ProductionGraph",
    "ProductionPlanOperation",
    "ProductionValidationError",
    "ProductionValidationIssue",
    "ProductionValidationReport",
    "ProductionValidationWarning",
    "ProductionVerifyResult",
    "Route",
    "RouteEdge",
    "ServiceItem",
    "TargetSetting",
    "TargetSettingRef",
    "UnknownComponent",
    "ValidationIssue",
    "VerifyResult",
    "target",
]
