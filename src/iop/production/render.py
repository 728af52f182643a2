"""Python drafts of a production (``iop -e NAME --format python|class``) that re-import to an
equal production: every value is written as the text the export holds, classes as class names.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from iop.components import kinds
from iop.production.graph import INFERRED, production_edges
from iop.production.ports import join_targets, split_targets

if TYPE_CHECKING:
    from iop.production.component import ComponentRef
    from iop.production.production import Production

__all__ = ["render_class", "render_python"]

REVIEW_NOTE = ("Review before migrating: an export cannot recover the original Python classes,\n"
               "variable names, persistent message declarations or every dynamic runtime route.")
_ITEM_CLASSES = {kinds.SERVICE: "ServiceItem", kinds.PROCESS: "ProcessItem",
                 kinds.OPERATION: "OperationItem"}
_GROUPS = (("services", kinds.SERVICE), ("processes", kinds.PROCESS),
           ("operations", kinds.OPERATION), ("components", None))


LINE = 100


def _literal(value: dict[str, str], indent: int) -> str:
    """A dict literal, one entry per line when it does not fit on one."""
    text = repr(value)
    if len(text) + indent + 20 <= LINE:
        return text
    pad = " " * indent
    return "{\n" + "".join(f"{pad}    {k!r}: {v!r},\n" for k, v in value.items()) + pad + "}"


def _call(prefix: str, args: list[str]) -> list[str]:
    """``prefix(args)`` on one line when it fits, else one argument per line."""
    line = f"{prefix}({', '.join(args)})"
    if len(line) <= LINE and "\n" not in line:
        return [line]
    return [f"{prefix}("] + [f"    {arg}," for arg in args] + [")"]


def _names(refs: Iterable[ComponentRef], upper: bool) -> dict[str, str]:
    """A distinct Python identifier per item name."""
    taken = {"prod", "Production", "PRODUCTIONS", "Route", "ComponentItem", "ServiceItem",
             "ProcessItem", "OperationItem"}
    names = {}
    for ref in refs:
        base = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", ref.name)
        base = re.sub(r"\W+", "_", base).strip("_").lower() or "item"
        if base[0].isdigit() or keyword.iskeyword(base):
            base = f"item_{base}"
        base = base.upper() if upper else base
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name)
        names[ref.name] = name
    return names


def _route_ports(ref: ComponentRef) -> dict[str, list[str]]:
    """Host settings written as routes: configured route ports whose text round-trips."""
    found = {}
    for port in ref.route_ports():
        value = ref.host_settings.get(port)
        targets = split_targets(value)
        if value and join_targets(targets) == value:
            found[port] = targets
    return found


def _item_options(ref: ComponentRef) -> list[str]:
    """Keyword arguments for the item attributes that differ from the DSL's defaults."""
    defaults = (("pool_size", 1), ("enabled", True), ("foreground", False), ("comment", ""),
                ("category", ""), ("log_trace_events", False), ("schedule", ""))
    return [f"{key}={getattr(ref, key)!r}" for key, default in defaults
            if getattr(ref, key) != default]


def _header(production: Production, style: str, command: str) -> list[str]:
    lines = [f'"""{style} draft of production {production.name}, exported by '
             f"`iop -e {production.name} --format {command}`.", "", REVIEW_NOTE, '"""', ""]
    return lines


def _notes(production: Production, ref: ComponentRef | None, indent: str = "") -> list[str]:
    notes = []
    owner = production if ref is None else ref
    for key in owner._extra:
        notes.append(f"{indent}# NOTE: export field {key} is not expressed by this draft.")
    if ref is None:
        return notes
    if ref.class_name.startswith("Python."):
        notes.append(f"{indent}# TODO: {ref.class_name} is a Python component:")
        notes.append(f"{indent}#   import its class and pass it instead of the class name.")
    for edge in production_edges(production):
        if edge.source == ref.name and edge.origin == INFERRED:
            why = "setting names an item" if edge.port in ref.host_settings else "class default"
            notes.append(f"{indent}# inferred route ({why}): {edge.port} -> {edge.target}")
    return notes


def _production_options(production: Production) -> list[str]:
    return [f"testing_enabled={production.testing_enabled!r}",
            f"description={production.description!r}",
            f"actor_pool_size={production.actor_pool_size!r}",
            f"log_general_trace_events={production.log_general_trace_events!r}"]


def render_python(production: Production) -> str:
    """An instance-style draft: ``Production(...)``, ``prod.component(...)``, ``connect(...)``."""
    names = _names(production, upper=False)
    lines = _header(production, "Python", "python") + ["from iop import Production", ""]
    lines += _notes(production, None)
    args = [repr(production.name)] + _production_options(production)
    if production.production_settings:
        args.append(f"settings={_literal(dict(production.production_settings), 4)}")
    lines += _call("prod = Production", args) + [""]
    connects = []
    for ref in production:
        var = names[ref.name]
        lines += _notes(production, ref)
        args = [repr(ref.name), f"class_name={ref.class_name!r}"]
        args += [f"kind={ref.kind!r}"] if ref.kind in kinds.HOST_KINDS else []
        lines += _call(f"{var} = prod.component", args + _item_options(ref))
        routes = _route_ports(ref)
        for key, value in ref.host_settings.items():
            if key not in routes:
                lines.append(f"{var}.host_setting({key!r}, {value!r})")
        for key, value in ref.adapter_settings.items():
            lines.append(f"{var}.adapter_setting({key!r}, {value!r})")
        for target, key, value in ref.other_settings:
            lines.append(f"{var}.other_setting({target!r}, {key!r}, {value!r})")
        lines.append("")
        for port, targets in routes.items():
            for index, target in enumerate(targets):
                method = "connect" if index == 0 else "connect_add"
                if target in names:
                    connects.append(f"prod.{method}({var}.port({port!r}), {names[target]})")
                else:  # the production refuses to connect to an item it lacks; the item keeps it
                    connects.append(f"{var}.{method}({port!r}, {target!r})")
    lines += connects + ([""] if connects else []) + ["PRODUCTIONS = [prod]", ""]
    return "\n".join(lines)


def _definition_order(production: Production) -> list[ComponentRef]:
    """Items ordered so route targets come before the items routing to them (cycles aside)."""
    refs = {ref.name: ref for ref in production}
    state: dict[str, str] = {}
    order: list[ComponentRef] = []

    def visit(name: str) -> None:
        state[name] = "visiting"
        for targets in _route_ports(refs[name]).values():
            for target in targets:
                if target in refs and target not in state:
                    visit(target)
        state[name] = "done"
        order.append(refs[name])

    for name in refs:
        if name not in state:
            visit(name)
    return order


def _class_name(production: Production) -> str:
    words = re.findall(r"[A-Za-z0-9]+", production.name or "")
    name = "".join(w[:1].upper() + w[1:] for w in words)
    if not name or not name.isidentifier() or name[0].isdigit():
        return "ExportedProduction"
    return name if name not in ("Production",) else "ExportedProduction"


def render_class(production: Production) -> str:
    """A class-style draft: item declarations and a Production subclass."""
    names = _names(production, upper=True)
    lines = _header(production, "Class-style", "class")
    imports_at = len(lines)
    used = {"Production"}
    defined: set[str] = set()
    for ref in _definition_order(production):
        item_class = _ITEM_CLASSES.get(ref.kind, "ComponentItem")
        lines += _notes(production, ref)
        if item_class == "ComponentItem":
            lines.append("# TODO: no role metadata: use ServiceItem, ProcessItem or "
                         "OperationItem once known.")
        used.add(item_class)
        args = [repr(ref.name), repr(ref.class_name)] + _item_options(ref)
        routes = _route_ports(ref)
        host = {k: v for k, v in ref.host_settings.items() if k not in routes}
        if host:
            args.append(f"host_settings={_literal(host, 4)}")
        if ref.adapter_settings:
            args.append(f"adapter_settings={_literal(dict(ref.adapter_settings), 4)}")
        if ref.other_settings:
            args.append(f"other_settings={tuple(ref.other_settings)!r}")
        if routes:
            parts = []
            for port, targets in routes.items():
                refs = [names[t] if t in defined else repr(t) for t in targets]
                dest = refs[0] if len(refs) == 1 else f"({', '.join(refs)},)"
                parts.append(f"Route({port!r}, {dest})")
            args.append(f"routes=({', '.join(parts)},)")
            used.add("Route")
        lines.append(f"{names[ref.name]} = {item_class}(")
        lines += [f"    {arg}," for arg in args]
        lines += [")", ""]
        defined.add(ref.name)
    class_name = _class_name(production)
    lines += _notes(production, None)
    lines += ["", f"class {class_name}(Production):", f"    name = {production.name!r}"]
    lines += [f"    {option.replace('=', ' = ', 1)}" for option in _production_options(production)]
    if production.production_settings:
        lines.append(f"    production_settings = "
                     f"{_literal(dict(production.production_settings), 4)}")
    for attribute, kind in _GROUPS:
        members = [names[r.name] for r in production
                   if (r.kind == kind if kind else r.kind not in kinds.HOST_KINDS)]
        if members:
            lines.append(f"    {attribute} = ({', '.join(members)},)")
    lines += ["", "", f"prod = {class_name}()", "PRODUCTIONS = [prod]", ""]
    lines[imports_at:imports_at] = [f"from iop import {', '.join(sorted(used))}", ""]
    return "\n".join(lines)
