"""Mermaid flowchart text of a production graph: services, processes and operations left to right."""

from __future__ import annotations

from typing import TYPE_CHECKING

from iop.components import kinds
from iop.production.graph import INFERRED, RUNTIME

if TYPE_CHECKING:
    from iop.production.production import Production

__all__ = ["render_mermaid"]

_GROUPS = ((kinds.SERVICE, "Services"), (kinds.PROCESS, "Processes"),
           (kinds.OPERATION, "Operations"), (None, "Components"))


def _label(text: str) -> str:
    return '"' + text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;") + '"'


def render_mermaid(production: Production) -> str:
    """``flowchart LR`` with one subgraph per role; inferred routes dotted, runtime-only
    routes (seen in traffic, no setting) thick."""
    ids = {ref.name: f"n{index}" for index, ref in enumerate(production)}
    lines = ["flowchart LR"]
    for kind, title in _GROUPS:
        members = [ref for ref in production
                   if (ref.kind == kind if kind else ref.kind not in kinds.HOST_KINDS)]
        if not members:
            continue
        lines.append(f"    subgraph {title.lower()}[{title}]")
        lines.append("        direction TB")
        for ref in members:
            state = "" if ref.enabled else " (disabled)"
            lines.append(f"        {ids[ref.name]}[{_label(f'{ref.name}{state}')}]")
        lines.append("    end")
    missing: dict[str, str] = {}
    edges = []
    for edge in production.graph().graph_edges:
        target = ids.get(edge.target) or missing.setdefault(edge.target, f"missing{len(missing)}")
        label = edge.port or edge.interaction
        if edge.origin == INFERRED:
            edges.append(f"    {ids[edge.source]} -.->|{_label(label + ' (inferred)')}| {target}")
        elif edge.origin == RUNTIME and not edge.port:
            edges.append(f"    {ids[edge.source]} ==>|{_label(label + ' (runtime)')}| {target}")
        else:
            edges.append(f"    {ids[edge.source]} -->|{_label(label)}| {target}")
    for name, node in missing.items():
        lines.append(f"    {node}[{_label(name + ' (not in production)')}]")
    return "\n".join(lines + edges) + "\n"
