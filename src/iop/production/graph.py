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
    """One item as the graph shows it (IoP's fields)."""

    name: str
    class_name: str
    kind: str = "component"
    enabled: bool = True
    category: str = ""
    adapter_class_name: str = ""

    def to_dict(self) -> dict[str, object]:
        """The node as IoP's graph dict lists it."""
        data: dict[str, object] = {"name": self.name, "class_name": self.class_name,
                                   "kind": self.kind, "enabled": self.enabled,
                                   "category": self.category}
        if self.adapter_class_name:
            data["adapter_class_name"] = self.adapter_class_name
        return data


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
    """Items and their route edges; ``str()`` lists each item with its outgoing routes, as
    IoP's ``to_text()`` does."""

    def __init__(self, name: str, nodes: list[GraphNode], edges: list[RouteEdge],
                 graph_edges: list[GraphEdge] | None = None) -> None:
        self.name = name
        self.nodes = tuple(nodes)
        self.routes = edges
        # The same routes with origin and interaction, plus routes seen only in traffic.
        self.graph_edges = graph_edges if graph_edges is not None else [
            GraphEdge(*edge, AUTHORED, SETTING_INTERACTION) for edge in edges]
        self.warnings: tuple[str, ...] = ()

    @property
    def production_name(self) -> str:
        """The production's name (IoP's attribute)."""
        return self.name

    @property
    def edges(self) -> tuple[GraphEdge, ...]:
        """Every edge with its origin and interaction."""
        return tuple(self.graph_edges)

    @classmethod
    def of(cls, production: Production) -> ProductionGraph:
        """The graph of a production as it is now."""
        nodes = [GraphNode(r.name, r.class_name, r.kind, r.enabled, r.category,
                           r.adapter_class_name or "") for r in production]
        return cls(production.name or "", nodes, production_routes(production),
                   production_edges(production))

    def to_dict(self) -> dict[str, object]:
        """Plain data for JSON output, in IoP's shape."""
        data: dict[str, object] = {"production": self.name,
                                   "nodes": [node.to_dict() for node in self.nodes],
                                   "edges": [edge_dict(edge) for edge in self.graph_edges]}
        if self.warnings:
            data["warnings"] = list(self.warnings)
        return data

    def to_text(self) -> str:
        """Each item with its class, then its outgoing routes by port."""
        known = {node.name for node in self.nodes}
        lines = [self.name]
        for node in self.nodes:
            lines.append(f"  {node.name}" + (f" [{node.class_name}]" if node.class_name else ""))
            leaving = sorted((e for e in self.graph_edges if e.source == node.name),
                             key=lambda e: (e.port, e.target))
            for edge in leaving:
                labels = [edge.origin] if edge.origin != AUTHORED else []
                if interaction_of(edge) not in ("", "request"):
                    labels.append(interaction_of(edge))
                lines.append(f"    {edge.port or '(runtime)'} -> {edge.target}"
                             + ("" if edge.target in known else " (unresolved)")
                             + (f" [{', '.join(labels)}]" if labels else ""))
        if self.warnings:
            lines += ["  warnings:", *(f"    {warning}" for warning in self.warnings)]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return f"ProductionGraph({self.name!r}, {len(self.nodes)} items, {len(self.routes)} routes)"


def interaction_of(edge: GraphEdge) -> str:
    """The edge's interaction as IoP names it: a route configured by a setting is a request."""
    return "request" if edge.interaction == SETTING_INTERACTION else edge.interaction


def edge_dict(edge: GraphEdge) -> dict[str, object]:
    """One edge as IoP's graph dict lists it."""
    data: dict[str, object] = {
        "source": f"{edge.source}.{edge.port}" if edge.port else edge.source,
        "source_item": edge.source, "source_target_setting": edge.port, "target": edge.target,
        "origin": edge.origin, "interaction": interaction_of(edge)}
    if edge.origin in (RUNTIME, INFERRED):
        data[edge.origin] = True
    return data


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
                                              interaction_of(e))):
        parts = [edge.port or "(runtime)"]
        if edge.origin != AUTHORED:
            parts.append(edge.origin)
        interaction = interaction_of(edge)
        if interaction not in ("", "request"):
            parts.append(interaction)
        label = _mermaid_text(" | ".join(parts))
        arrow = "<--" if interaction.lower() == "sync" else "--"
        lines.append(f'  {ids[edge.source]} {arrow} "{label}" --> {ids[edge.target]}')
    return "\n".join(lines) + "\n"


