"""``Production.to_python()`` and ``to_class()``: Python drafts of a production, written line
for line as IoP 4.1.1 writes them, so a draft made by either package reads the same."""

from __future__ import annotations

import keyword
import re
from pprint import pformat
from typing import TYPE_CHECKING, Any

from iop.production.component import ADAPTER, HOST
from iop.production.graph import production_edges

if TYPE_CHECKING:
    from iop.production.component import ComponentRef
    from iop.production.production import Production

__all__ = ["production_to_class", "production_to_python"]

_HEADER = [
    "# Generated from IRIS production export.",
    "# Review before using as source of truth; some runtime/dynamic routing intent",
    "# cannot be fully reconstructed from deployed IRIS metadata.",
]
_KINDS = ("service", "process", "operation")
_ITEM_TYPES = {"component": "ComponentItem", "service": "ServiceItem",
               "process": "ProcessItem", "operation": "OperationItem"}
_ITEM_GROUPS = {"component": "components", "service": "services",
                "process": "processes", "operation": "operations"}

Routes = dict[tuple[str, str], list[str]]


def _literal(value: Any) -> str:
    return pformat(value, sort_dicts=False) if isinstance(value, dict) else repr(value)


def _bool_literal(value: Any) -> bool | str:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes", "on"}:
        return True
    if text in {"false", "0", "no", "off"}:
        return False
    return str(value)


def _int_literal(value: Any) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    return int(text) if text.isdigit() else text


def _route_targets(production: Production) -> Routes:
    """Targets per (item, port), from the graph's edges that leave a named port."""
    names = set(production.item_names())
    grouped: Routes = {}
    for edge in production_edges(production):
        if not edge.port or edge.source not in names:
            continue
        targets = grouped.setdefault((edge.source, edge.port), [])
        if edge.target not in targets:
            targets.append(edge.target)
    return grouped


def _production_literals(production: Production) -> list[tuple[str, Any, Any]]:
    return [
        ("testing_enabled", _bool_literal(production.testing_enabled), False),
        ("log_general_trace_events", _bool_literal(production.log_general_trace_events), False),
        ("actor_pool_size", _int_literal(production.actor_pool_size), 2),
        ("description", production.description, ""),
        ("shutdown_timeout", _int_literal(production.shutdown_timeout), 120),
        ("update_timeout", _int_literal(production.update_timeout), 10),
        ("alert_notification_manager", production.alert_notification_manager, ""),
        ("alert_notification_operation", production.alert_notification_operation, ""),
        ("alert_notification_recipients", production.alert_notification_recipients, ""),
        ("alert_action_window", _int_literal(production.alert_action_window), 60),
    ]


def _item_literals(ref: ComponentRef) -> list[tuple[str, Any, Any]]:
    return [
        ("category", ref.category, ""),
        ("pool_size", _int_literal(ref.pool_size), 1),
        ("enabled", _bool_literal(ref.enabled), True),
        ("foreground", _bool_literal(ref.foreground), False),
        ("comment", ref.comment, ""),
        ("log_trace_events", _bool_literal(ref.log_trace_events), False),
        ("schedule", ref.schedule, ""),
    ]


def _plain_settings(ref: ComponentRef, routes: Routes) -> dict[str, Any]:
    return {name: ref.given_value(HOST, name) for name in ref.host_settings
            if (ref.name, name) not in routes}


def _adapter_settings(ref: ComponentRef) -> dict[str, Any]:
    return {name: ref.given_value(ADAPTER, name) for name in ref.adapter_settings}


def _identifier(name: str) -> str:
    candidate = re.sub(r"\W+", "_", name).strip("_").lower() or "component"
    if candidate[0].isdigit():
        candidate = f"component_{candidate}"
    if keyword.iskeyword(candidate):
        candidate = f"{candidate}_component"
    return candidate


def _variables(production: Production) -> dict[str, str]:
    found: dict[str, str] = {}
    used: set[str] = set()
    for ref in production:
        base = candidate = _identifier(ref.name)
        index = 2
        while candidate in used:
            candidate = f"{base}_{index}"
            index += 1
        used.add(candidate)
        found[ref.name] = candidate
    return found


def production_to_python(production: Production) -> str:
    """An instance-style draft: ``Production(...)``, ``prod.component(...)``, ``connect(...)``."""
    routes = _route_targets(production)
    variables = _variables(production)
    lines = [*_HEADER, "from iop import Production", "", ""]
    options = [(name, value) for name, value, default in _production_literals(production)
               if value != default]
    if options:
        lines.append(f"prod = Production({_literal(production.name)},")
        lines += [f"    {name}={_literal(value)}," for name, value in options]
        lines.append(")")
    else:
        lines.append(f"prod = Production({_literal(production.name)})")
    lines.append("")
    for ref in production:
        lines += _component_lines(ref, variables[ref.name], routes)
        lines.append("")
    connections = _connection_lines(production, variables, routes)
    if connections:
        lines += connections + [""]
    lines.append("PRODUCTIONS = [prod]")
    return "\n".join(lines) + "\n"


def _component_lines(ref: ComponentRef, variable: str, routes: Routes) -> list[str]:
    options: list[tuple[str, Any]] = [("class_name", ref.class_name or "")]
    if ref.kind != "component":
        options.append(("kind", ref.kind))
    options += [(name, value) for name, value, default in _item_literals(ref) if value != default]
    for name, settings in (("settings", _plain_settings(ref, routes)),
                           ("adapter_settings", _adapter_settings(ref))):
        if settings:
            options.append((name, settings))
    lines = [f"{variable} = prod.component(", f"    {_literal(ref.name)},"]
    for name, value in options:
        if isinstance(value, dict):
            lines.append(f"    {name}={{")
            lines += [f"        {_literal(k)}: {_literal(v)}," for k, v in value.items()]
            lines.append("    },")
        else:
            lines.append(f"    {name}={_literal(value)},")
    lines.append(")")
    for target, name, text in ref.other_settings:
        lines.append(f"{variable}.other_setting({_literal(target)}, {_literal(name)}, "
                     f"{_literal(text)})")
    return lines


def _connection_lines(production: Production, variables: dict[str, str],
                      routes: Routes) -> list[str]:
    lines: list[str] = []
    unresolved: list[str] = []
    for source, port in sorted(routes):
        targets = routes[(source, port)]
        unresolved += [f"{source}.{port} -> {t}" for t in targets if t not in variables]
        known = [t for t in targets if t in variables]
        for index, target in enumerate(known):
            mode = ", mode='add'" if index else ""
            lines.append(f"{variables[source]}.connect({_literal(port)}, "
                         f"{variables[target]}{mode})")
    unresolved += [f"{edge.source} -> {edge.target}"
                   for edge in production_edges(production) if not edge.port]
    if unresolved:
        lines.append("# TODO: review unresolved or runtime-only routes:")
        lines += [f"# - {value}" for value in sorted(set(unresolved))]
    return lines


def _class_name(production_name: str) -> str:
    parts = [part for part in re.split(r"\W+", production_name) if part]
    if not parts:
        return "GeneratedProduction"
    candidate = parts[-1]
    if candidate == "Production" and len(parts) > 1:
        candidate = "".join(parts[-2:])
    else:
        candidate = "".join(p[:1].upper() + p[1:] for p in re.split(r"[_\s]+", candidate) if p)
    if not candidate or not candidate[0].isalpha():
        candidate = f"Generated{candidate}"
    if keyword.iskeyword(candidate) or candidate == "Production":
        candidate = f"{candidate}Definition"
    return candidate


def _item_kind(ref: ComponentRef) -> str:
    return ref.kind if ref.kind in _KINDS else "component"


def production_to_class(production: Production) -> str:
    """A class-style draft: a Production subclass with item declarations and Routes."""
    names = set(production.item_names())
    routes = {key: [t for t in targets if t in names]
              for key, targets in _route_targets(production).items()}
    routes = {key: targets for key, targets in routes.items() if targets}
    groups: dict[str, list[ComponentRef]] = {kind: [] for kind in _ITEM_TYPES}
    for ref in production:
        groups[_item_kind(ref)].append(ref)
    imports = ["Production", *sorted(_ITEM_TYPES[k] for k, refs in groups.items() if refs)]
    if routes:
        imports.append("Route")
    class_name = _class_name(production.name or "")
    lines = list(_HEADER)
    if any(str(ref.class_name or "").startswith("Python.") for ref in production):
        lines += ["# TODO: replace Python.* string class names with imported Python",
                  "# classes before re-migration, or ensure the proxy classes already exist."]
    lines += [f"from iop import {', '.join(imports)}", "", "",
              f"class {class_name}(Production):", f"    name = {_literal(production.name)}"]
    lines += [f"    {name} = {_literal(value)}"
              for name, value, default in _production_literals(production) if value != default]
    lines.append("")
    for kind in ("component", "service", "process", "operation"):
        if not groups[kind]:
            continue
        lines.append(f"    {_ITEM_GROUPS[kind]} = (")
        for ref in groups[kind]:
            lines += _class_item_lines(ref, kind, routes)
        lines += ["    )", ""]
    unresolved = sorted({
        f"{edge.source} -> {edge.target}" if not edge.port
        else f"{edge.source}.{edge.port} -> {edge.target}"
        for edge in production_edges(production)
        if not edge.port or edge.target not in names})
    if unresolved:
        lines.append("    # TODO: review unresolved or runtime-only routes:")
        lines += [f"    # - {value}" for value in unresolved]
        lines.append("")
    lines += ["", f"PRODUCTIONS = [{class_name}()]"]
    return "\n".join(lines) + "\n"


def _class_item_lines(ref: ComponentRef, kind: str, routes: Routes) -> list[str]:
    options: list[tuple[str, Any]] = [
        (name, value) for name, value, default in _item_literals(ref) if value != default]
    for name, settings in (("settings", _plain_settings(ref, routes)),
                           ("adapter_settings", _adapter_settings(ref))):
        if settings:
            options.append((name, settings))
    lines = []
    if str(ref.class_name or "").startswith("Python."):
        lines += ["        # TODO: replace this proxy class name with the Python",
                  "        # class object if this item should be auto-registered."]
    lines += [f"        {_ITEM_TYPES[kind]}(", f"            {_literal(ref.name)},",
              f"            {_literal(ref.class_name or '')},"]
    for name, value in options:
        if isinstance(value, dict):
            lines.append(f"            {name}={{")
            lines += [f"                {_literal(k)}: {_literal(v)}," for k, v in value.items()]
            lines.append("            },")
        else:
            lines.append(f"            {name}={_literal(value)},")
    if ref.other_settings:
        lines.append("            other_settings=[")
        lines += [f"                {_literal({'@Target': t, '@Name': n, '#text': v})},"
                  for t, n, v in ref.other_settings]
        lines.append("            ],")
    item_routes = [(port, routes[(source, port)]) for source, port in sorted(routes)
                   if source == ref.name]
    if item_routes:
        rendered = [f"Route({_literal(port)}, "
                    f"{_literal(targets[0]) if len(targets) == 1 else _literal(tuple(targets))})"
                    for port, targets in item_routes]
        if len(rendered) == 1:
            lines.append(f"            routes=({rendered[0]},),")
        else:
            lines.append("            routes=(")
            lines += [f"                {route}," for route in rendered]
            lines.append("            ),")
    lines.append("        ),")
    return lines
