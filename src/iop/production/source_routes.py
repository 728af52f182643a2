"""Routes a Python business host's source shows: ``send_request_sync("Target", ...)`` and the
like, read (never run) from the host's module, as IoP infers them when importing a production.

A target is a string literal, a name assigned a literal in the class, or ``self.Setting`` whose
configured value names the targets. Only items whose settings name their ``%module`` and
``%classname`` are read; the module is looked up under the item's ``%classpaths`` and the
current directory.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iop.production.ports import split_targets

__all__ = ["SourceRoute", "python_source_routes"]

_REQUEST_CALLS = frozenset({"send_request_sync", "send_request_async", "send_request_async_ng",
                            "send_generator_request"})
_MULTI_REQUEST_CALLS = frozenset({"send_multi_request_sync"})
_MAX_SOURCE_BYTES = 2_000_000  # a module larger than this is not read


@dataclass(frozen=True)
class SourceRoute:
    """``target`` as the source names it; ``detail`` says how (e.g. ``send_request_sync
    literal``); ``interaction`` is ``sync`` or ``async``."""

    target: str
    detail: str
    interaction: str


def _python_class(host_settings: dict[str, Any]) -> tuple[str, str] | None:
    # As IoP: only an item whose export names its Python module and class is read.
    module, classname = host_settings.get("%module"), host_settings.get("%classname")
    if module and classname:
        return str(module), str(classname)
    return None


def _source_file(module: str, host_settings: dict[str, Any]) -> Path | None:
    classpaths = str(host_settings.get("%classpaths") or "")
    separator = "|" if "|" in classpaths else os.pathsep
    roots = [Path(part.strip()) for part in classpaths.split(separator) if part.strip()]
    roots.append(Path.cwd())
    relative = Path(*module.split("."))
    for root in roots:
        for candidate in (root / relative.with_suffix(".py"), root / relative / "__init__.py"):
            if candidate.is_file() and candidate.stat().st_size <= _MAX_SOURCE_BYTES:
                return candidate
    return None


def _literal(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value:
        return node.value
    return None


def _reference(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
            and node.value.id == "self":
        return f"self.{node.attr}"
    return None


def _string_values(class_node: ast.ClassDef) -> dict[str, list[str]]:
    """Names assigned a string literal in the class body or its methods."""
    values: dict[str, list[str]] = {}

    def add(target: ast.AST, value: str | None, class_body: bool) -> None:
        name = _reference(target)
        if value is None or name is None:
            return
        names = [name, f"self.{name}"] if class_body and isinstance(target, ast.Name) else [name]
        for key in names:
            if value not in values.setdefault(key, []):
                values[key].append(value)

    for node in class_node.body:
        inner = [node] if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) \
            else list(ast.walk(node))
        class_body = inner == [node]
        for child in inner:
            if isinstance(child, ast.Assign):
                for target in child.targets:
                    add(target, _literal(child.value), class_body)
            elif isinstance(child, ast.AnnAssign):
                add(child.target, _literal(child.value), class_body)
    return values


def _call_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else None


def _targets_of(node: ast.AST, values: dict[str, list[str]], call: str, interaction: str,
                host_settings: dict[str, Any]) -> list[SourceRoute]:
    literal = _literal(node)
    if literal is not None:
        return [SourceRoute(literal, f"{call} literal", interaction)]
    name = _reference(node)
    if name is None:
        return []
    configured = split_targets(str(host_settings.get(name.removeprefix("self."), "") or "")) \
        if name.startswith("self.") else []
    return [SourceRoute(target, f"{call} {name}", interaction)
            for target in configured or values.get(name, [])]


def python_source_routes(class_name: str, host_settings: dict[str, Any]) -> list[SourceRoute]:
    """The routes the item's Python class sends on, in source order, without repeats."""
    found = _python_class(host_settings)
    path = _source_file(found[0], host_settings) if found else None
    if found is None or path is None:
        return []
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return []
    class_node = next((node for node in tree.body
                       if isinstance(node, ast.ClassDef) and node.name == found[1]), None)
    if class_node is None:
        return []
    values = _string_values(class_node)
    routes: list[SourceRoute] = []
    for node in ast.walk(class_node):
        if not isinstance(node, ast.Call):
            continue
        call = _call_name(node.func) or ""
        if call in _REQUEST_CALLS:
            interaction = "async" if "async" in call.lower() else "sync" \
                if "sync" in call.lower() else "request"
            target = next((k.value for k in node.keywords if k.arg == "target"),
                          node.args[0] if node.args else None)
            if target is not None:
                routes += _targets_of(target, values, call, interaction, host_settings)
        elif call in _MULTI_REQUEST_CALLS and node.args and \
                isinstance(node.args[0], (ast.List, ast.Tuple)):
            for element in node.args[0].elts:
                if isinstance(element, ast.Tuple) and element.elts:
                    routes += _targets_of(element.elts[0], values, call, "sync", host_settings)
    return list(dict.fromkeys(routes))


def infer_source_routes(production: Any) -> None:
    """Add the routes the items' Python sources show to an imported production: a route the
    production already has only learns its sync/async interaction; a new one is ``inferred``."""
    from iop.production.diff import _edge_parts
    from iop.production.graph import production_edges

    existing: dict[tuple[str, str], tuple[str, str, str]] = {}
    for edge in production_edges(production):
        source, setting, target, origin, interaction = _edge_parts(edge)
        existing[(source, target)] = (setting, interaction, origin)
    for ref in production:
        for route in python_source_routes(ref.class_name or "", ref.host_settings):
            if route.target not in production._items:
                continue
            key = (ref.name, route.target)
            metadata = {"source": "Python source", "detail": route.detail}
            if key not in existing:
                production._source_routes[key] = (route.interaction, metadata)
                existing[key] = ("", route.interaction, "inferred")
                continue
            setting, interaction, origin = existing[key]
            if route.interaction in ("", "request") or \
                    interaction not in ("", "request", "unknown"):
                continue
            edge_key = (ref.name, setting, route.target)
            production._route_interaction[edge_key] = route.interaction
            if edge_key not in production._route_metadata:
                fallback = origin == "inferred" and setting in ref.host_settings
                production._route_metadata[edge_key] = \
                    {"source": "Host setting fallback"} if fallback else {}
            merged = production._route_metadata[edge_key]
            for name, value in metadata.items():
                merged.setdefault(name, value)
            existing[key] = (setting, route.interaction, origin)
