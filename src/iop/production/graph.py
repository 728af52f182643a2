"""The production as a directed multigraph: items, and the routes their target settings name."""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, NamedTuple

from iop.components import kinds
from iop.production.ports import split_targets

if TYPE_CHECKING:
    from iop.production.production import Production

__all__ = ["AUTHORED", "INFERRED", "RUNTIME", "GraphEdge", "GraphNode", "ProductionGraph",
           "RouteEdge", "production_edges", "production_mermaid", "production_routes"]

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

    @property
    def source_item(self) -> str:
        """The sending item (IoP's name)."""
        return self.source

    @property
    def source_target_setting(self) -> str:
        """The port the route leaves by (IoP's name)."""
        return self.port


class GraphEdge(NamedTuple):
    """A route edge with its metadata: where it comes from and how it was established."""

    source: str
    port: str
    target: str
    origin: str
    interaction: str

    @property
    def source_item(self) -> str:
        """The sending item (IoP's name)."""
        return self.source

    @property
    def source_target_setting(self) -> str:
        """The port the edge leaves by, empty for a route seen only in traffic (IoP's name)."""
        return self.port

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


_MERMAID_GROUPS = (("service", "Services"), ("process", "Processes"),
                   ("operation", "Operations"), ("component", "Other Components"))
_DIRECTIONS = frozenset({"TB", "TD", "BT", "RL", "LR"})


def _mermaid_text(value: str) -> str:
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    return html.escape(" ".join(part.strip() for part in text.split("\n")), quote=True)


def _mermaid_ids(names: list[str]) -> dict[str, str]:
    used: set[str] = set()
    ids: dict[str, str] = {}
    for name in names:
        base = "node_" + (re.sub(r"\W+", "_", name).strip("_") or "node")
        candidate, index = base, 2
        while candidate in used:
            candidate, index = f"{base}_{index}", index + 1
        used.add(candidate)
        ids[name] = candidate
    return ids


def _group_of(kind: str) -> str:
    return kind if kind in kinds.HOST_KINDS else "component"


def production_mermaid(production: Production, direction: str = "LR") -> str:
    """The production as a Mermaid flowchart: items grouped by kind, one arrow per route,
    laid out as IoP lays it out."""
    chosen = str(direction or "").strip().upper()
    if chosen not in _DIRECTIONS:
        raise ValueError(f"Unsupported Mermaid flowchart direction: {direction!r}")
    nodes = list(production)
    edges = production_edges(production)
    names = [ref.name for ref in nodes]
    for edge in edges:
        names += [n for n in (edge.source, edge.target) if n not in names]
    ids = _mermaid_ids(names)
    lines = [f"flowchart {chosen}", f"  %% Production: {str(production.name).replace(chr(10), ' ')}"]
    first: list[str] = []
    for kind, title in _MERMAID_GROUPS:
        group = [ref for ref in nodes if _group_of(ref.kind) == kind]
        if not group:
            continue
        first.append(ids[group[0].name])
        lines += [f'  subgraph group_{kind}["{title}"]', "    direction TB"]
        for ref in group:
            label = _mermaid_text(ref.name)
            if ref.class_name:
                label += f"<br/>{_mermaid_text(ref.class_name)}"
            lines.append(f'    {ids[ref.name]}["{label}"]')
        lines.append("  end")
    known = set(production.item_names())
    for name in sorted({n for e in edges for n in (e.source, e.target) if n not in known}):
        lines.append(f'  {ids[name]}["{_mermaid_text(name)}<br/>(unresolved)"]')
    lines += [f"  {left} ~~~ {right}" for left, right in zip(first, first[1:], strict=False)]
    for edge in sorted(edges, key=lambda e: (e.source, e.port, e.target, e.origin,
                                              _interaction(e))):
        parts = [edge.port or "(runtime)"]
        if edge.origin != AUTHORED:
            parts.append(edge.origin)
        interaction = _interaction(edge)
        if interaction not in ("", "request"):
            parts.append(interaction)
        label = _mermaid_text(" | ".join(parts))
        arrow = "<--" if interaction.lower() == "sync" else "--"
        lines.append(f'  {ids[edge.source]} {arrow} "{label}" --> {ids[edge.target]}')
    return "\n".join(lines) + "\n"


def _interaction(edge: GraphEdge) -> str:
    # A route configured by a setting is what IoP calls a request route.
    return "request" if edge.interaction == SETTING_INTERACTION else edge.interaction
