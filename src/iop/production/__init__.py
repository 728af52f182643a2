"""The production authoring DSL: items, settings, routes, and the IRIS export shape."""

from iop.production.component import ComponentRef
from iop.production.errors import ProductionError, UnknownComponent
from iop.production.graph import GraphNode, ProductionGraph, RouteEdge
from iop.production.items import ComponentItem, OperationItem, ProcessItem, Route, ServiceItem
from iop.production.ports import ROUTE_ALIASES, ROUTE_SETTING_NAMES, Port
from iop.production.production import PRODUCTION_SETTING_NAMES, Production

__all__ = [
    "PRODUCTION_SETTING_NAMES",
    "ROUTE_ALIASES",
    "ROUTE_SETTING_NAMES",
    "ComponentItem",
    "ComponentRef",
    "GraphNode",
    "OperationItem",
    "Port",
    "ProcessItem",
    "Production",
    "ProductionError",
    "ProductionGraph",
    "Route",
    "RouteEdge",
    "ServiceItem",
    "UnknownComponent",
]
