"""The production as a directed multigraph: items, and the routes their target settings name."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from iop.components import kinds

if TYPE_CHECKING:
    from iop.production.production import Production

__all__ = ["GraphNode", "ProductionGraph", "RouteEdge", "production_routes"]

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


class ProductionGraph:
    """Items grouped by kind with their outgoing routes; ``str()`` gives a readable listing."""

    def __init__(self, name: str, nodes: list[GraphNode], edges: list[RouteEdge]) -> None:
        self.name = name
        self.nodes = nodes
        self.edges = edges

    @classmethod
    def of(cls, production: Production) -> ProductionGraph:
        """The graph of a production as it is now."""
        nodes = [GraphNode(r.name, r.kind, r.class_name, r.enabled) for r in production]
        return cls(production.name or "", nodes, production_routes(production))

    def to_dict(self) -> dict[str, object]:
        """Plain data for JSON output."""
        return {
            "production": self.name,
            "items": [node._asdict() for node in self.nodes],
            "routes": [edge._asdict() for edge in self.edges],
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
                for edge in self.edges:
                    if edge.source == node.name:
                        missing = "" if edge.target in known else " (not in production)"
                        lines.append(f"      {edge.port} -> {edge.target}{missing}")
        if not self.nodes:
            lines.append("  (no items)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"ProductionGraph({self.name!r}, {len(self.nodes)} items, {len(self.edges)} routes)"
