"""The production as a directed multigraph: items, and the routes their target settings name."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from iop.components import kinds
from iop.production.ports import split_targets

if TYPE_CHECKING:
    from iop.production.production import Production

__all__ = ["AUTHORED", "INFERRED", "RUNTIME", "GraphEdge", "GraphNode", "ProductionGraph",
           "RouteEdge", "production_edges", "production_routes"]

# Where a graph edge comes from (seed 001: "origin (authored, runtime, or inferred)").
AUTHORED = "authored"   # set by the Python definition
RUNTIME = "runtime"     # read from the deployed production, or seen in its message traffic
INFERRED = "inferred"   # derived without a configured value: a target() default, an import
SETTING_INTERACTION = "setting"

_GROUPS = (
    (kinds.SERVICE, "services"),
    (kinds.PROCESS, "processes"),
    (kinds.OPERATION, "operations"),
    ("component", "components"),
)


class RouteEdge(NamedTuple):
    """A possible route: ``source`` item sends through ``port`` to ``target`` item."""

    source: str
    port: str
    target: str


class GraphEdge(NamedTuple):
    """A route edge with its metadata: where it comes from and how it was established."""

    source: str
    port: str
    target: str
    origin: str
    interaction: str

    @property
    def route(self) -> RouteEdge:
        """The edge without its metadata."""
        return RouteEdge(self.source, self.port, self.target)


class GraphNode(NamedTuple):
    """One item as the graph shows it."""

    name: str
    kind: str
    class_name: str
    enabled: bool


def production_routes(production: Production) -> list[RouteEdge]:
    """Every route edge, in item order then port order; fan-out gives one edge per target."""
    edges = []
    for ref in production:
        for port_name in ref.route_ports():
            for target in ref.port(port_name).targets():
                edges.append(RouteEdge(ref.name, port_name, target))
    return edges


def production_edges(production: Production) -> list[GraphEdge]:
    """Every route edge with its origin and interaction; traffic-only routes come last."""
    origin = getattr(production, "_route_origin", AUTHORED)
    names = set(production.item_names())
    edges = []
    seen = set()
    for ref in production:
        ports = ref.route_ports()
        for port_name in ports:
            configured = port_name in ref.host_settings
            for target in ref.port(port_name).targets():
                edges.append(GraphEdge(ref.name, port_name, target,
                                       origin if configured else INFERRED, SETTING_INTERACTION))
                seen.add((ref.name, target))
        if origin == AUTHORED:
            continue
        # An import may not know an item's ports: a setting naming only items is likely one.
        for key, value in ref.host_settings.items():
            targets = split_targets(value)
            if key in ports or key.startswith("%") or not targets or not names.issuperset(targets):
                continue
            for target in targets:
                edges.append(GraphEdge(ref.name, key, target, INFERRED, SETTING_INTERACTION))
                seen.add((ref.name, target))
    observed: dict[tuple[str, str], str] = getattr(production, "_observed_routes", {})
    for (source, target), interaction in observed.items():
        if (source, target) not in seen:
            edges.append(GraphEdge(source, "", target, RUNTIME, interaction))
    return edges


class ProductionGraph:
    """Items grouped by kind with their outgoing routes; ``str()`` gives a readable listing."""

    def __init__(self, name: str, nodes: list[GraphNode], edges: list[RouteEdge],
                 graph_edges: list[GraphEdge] | None = None) -> None:
        self.name = name
        self.nodes = nodes
        self.edges = edges
        # The same routes with origin and interaction, plus routes seen only in traffic.
        self.graph_edges = graph_edges if graph_edges is not None else [
            GraphEdge(*edge, AUTHORED, SETTING_INTERACTION) for edge in edges]

    @classmethod
    def of(cls, production: Production) -> ProductionGraph:
        """The graph of a production as it is now."""
        nodes = [GraphNode(r.name, r.kind, r.class_name, r.enabled) for r in production]
        return cls(production.name or "", nodes, production_routes(production),
                   production_edges(production))

    def to_dict(self) -> dict[str, object]:
        """Plain data for JSON output."""
        return {
            "production": self.name,
            "items": [node._asdict() for node in self.nodes],
            "routes": [edge._asdict() for edge in self.edges],
            "edges": [edge._asdict() for edge in self.graph_edges],
        }

    def __str__(self) -> str:
        known = {node.name for node in self.nodes}
        lines = [f"Production {self.name}"]
        for kind, title in _GROUPS:
            group = [n for n in self.nodes if n.kind == kind or
                     (kind == "component" and n.kind not in kinds.HOST_KINDS)]
            if not group:
                continue
            lines.append(f"  {title}:")
            for node in group:
                state = "" if node.enabled else " (disabled)"
                lines.append(f"    {node.name} [{node.class_name}]{state}")
                for edge in self.graph_edges:
                    if edge.source == node.name:
                        missing = "" if edge.target in known else " (not in production)"
                        origin = "" if edge.origin == AUTHORED else f" [{edge.origin}]"
                        port = edge.port or f"({edge.interaction})"
                        lines.append(f"      {port} -> {edge.target}{missing}{origin}")
        if not self.nodes:
            lines.append("  (no items)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"ProductionGraph({self.name!r}, {len(self.nodes)} items, {len(self.edges)} routes)"
