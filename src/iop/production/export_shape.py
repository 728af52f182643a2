"""The IRIS export shape of a production: what ``to_dict`` writes and ``from_dict`` reads.

Every value is text, as in an IRIS export converted from XML (``@`` attributes, ``#text``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape, quoteattr

from iop.components import kinds
from iop.production.component import ADAPTER, HOST, ComponentRef
from iop.production.errors import ProductionError
from iop.production.values import bool_text, parse_bool, parse_int, setting_text

if TYPE_CHECKING:
    from iop.production.production import Production

__all__ = ["item_to_dict", "production_body", "production_export", "production_from_dict",
           "production_to_dict", "production_to_xml"]

PRODUCTION_TARGET = "Production"
_PRODUCTION_KEYS = frozenset({
    "@Name", "@TestingEnabled", "@LogGeneralTraceEvents", "Description", "ActorPoolSize",
    "Setting", "Item",
})
_ITEM_KEYS = frozenset({
    "@Name", "@Category", "@ClassName", "@PoolSize", "@Enabled", "@Foreground", "@Comment",
    "@LogTraceEvents", "@Schedule", "Setting",
})


def _setting(target: str, name: str, value: str) -> dict[str, str]:
    return {"@Target": target, "@Name": name, "#text": value}


def production_body(production: Production) -> dict[str, Any]:
    """The production's definition: attributes, non-default settings, then items in order."""
    from iop.production.production import PRODUCTION_SETTING_DEFAULTS

    body: dict[str, Any] = {
        "@Name": production.name,
        "@TestingEnabled": bool_text(production.testing_enabled),
        "@LogGeneralTraceEvents": bool_text(production.log_general_trace_events),
        "Description": production.description or "",
        "ActorPoolSize": setting_text(production.actor_pool_size),
    }
    # As IoP: a production setting equal to the value IRIS uses without it is left out.
    settings = [{"@Name": key, "#text": value}
                for key, value in production.production_settings.items()
                if key not in PRODUCTION_SETTING_DEFAULTS
                or value != setting_text(PRODUCTION_SETTING_DEFAULTS[key])]
    if settings:
        body["Setting"] = settings
    items = [item_to_dict(ref) for ref in production]
    if items:
        body["Item"] = items
    for key, value in production._extra.items():
        body.setdefault(key, value)
    return body


def production_to_dict(production: Production) -> dict[str, Any]:
    """``{name: definition}``: IoP's legacy ``PRODUCTIONS`` entry shape."""
    return {production.name or "": production_body(production)}


def production_export(production: Production) -> dict[str, Any]:
    """``{"Production": definition}``: the shape the store keeps and diffs compare."""
    return {PRODUCTION_TARGET: production_body(production)}


def item_to_dict(ref: ComponentRef) -> dict[str, Any]:
    """One ``Item`` entry; Host settings, then Adapter ones, then others; no ``Setting`` key
    for an item without settings (as IoP writes it)."""
    entry: dict[str, Any] = {
        "@Name": ref.name,
        "@Category": ref.category or "",
        "@ClassName": ref.class_name,
        "@PoolSize": setting_text(ref.pool_size),
        "@Enabled": bool_text(ref.enabled),
        "@Foreground": bool_text(ref.foreground),
        "@Comment": ref.comment or "",
        "@LogTraceEvents": bool_text(ref.log_trace_events),
        "@Schedule": ref.schedule or "",
    }
    for key, value in ref._extra.items():
        entry.setdefault(key, value)
    settings = (
        [_setting(HOST, k, v) for k, v in ref.host_settings.items()]
        + [_setting(ADAPTER, k, v) for k, v in ref.adapter_settings.items()]
        + [_setting(t, k, v) for t, k, v in ref.other_settings]
    )
    if settings:
        entry["Setting"] = settings
    return entry


def _as_list(value: Any, what: str) -> list[Any]:
    """xmltodict gives a single object, not a one-element list, for a lone element."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [value]
    if isinstance(value, list):
        return value
    raise ProductionError(f"{what} must be an object or a list of objects, not {value!r}")


def _unwrap(data: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    """Accept ``{"Production": {...}}``, ``{name: {...}}`` or the bare definition."""
    if not isinstance(data, Mapping):
        raise ProductionError(f"a production definition must be an object, not {data!r}")
    if "@Name" in data:
        return str(data["@Name"]), data
    if len(data) == 1:
        key, body = next(iter(data.items()))
        if isinstance(body, Mapping):
            if key == "Production" and body.get("@Name"):
                return str(body["@Name"]), body
            return str(key), body
    raise ProductionError('expected {"Production": {...}} or {name: definition}')


def production_from_dict(
    production_class: type[Production],
    data: Mapping[str, Any],
    *,
    resolve_kind: Callable[[str], str | None] | None = None,
    resolve_class: Callable[[str], type | None] | None = None,
) -> Production:
    """Rebuild a production; item kinds are ``component`` unless a resolver knows the class."""
    name, body = _unwrap(data)
    what = f"production {name}"
    production = production_class(
        name,
        testing_enabled=parse_bool(body.get("@TestingEnabled"), False, f"{what} @TestingEnabled"),
        description=str(body.get("Description") or ""),
        actor_pool_size=parse_int(body.get("ActorPoolSize"), 2, f"{what} ActorPoolSize"),
        log_general_trace_events=parse_bool(
            body.get("@LogGeneralTraceEvents"), False, f"{what} @LogGeneralTraceEvents"
        ),
    )
    for entry in _as_list(body.get("Setting"), f"{what} Setting"):
        production.production_settings[_setting_name(entry, what)] = _text(entry)
    production._extra = {k: v for k, v in body.items() if k not in _PRODUCTION_KEYS}
    for entry in _as_list(body.get("Item"), f"{what} Item"):
        _add_item(production, entry, what, resolve_kind, resolve_class)
    return production


def _setting_name(entry: Any, what: str) -> str:
    if not isinstance(entry, Mapping) or not entry.get("@Name"):
        raise ProductionError(f"{what}: a Setting has no @Name: {entry!r}")
    return str(entry["@Name"])


def _text(entry: Mapping[str, Any]) -> str:
    return setting_text(entry.get("#text"))


def _add_item(
    production: Production,
    entry: Any,
    what: str,
    resolve_kind: Callable[[str], str | None] | None,
    resolve_class: Callable[[str], type | None] | None,
) -> None:
    if not isinstance(entry, Mapping) or not entry.get("@Name"):
        raise ProductionError(f"{what}: an Item has no @Name: {entry!r}")
    name = str(entry["@Name"])
    class_name = entry.get("@ClassName")
    if not class_name:
        raise ProductionError(f"{what}: item {name} has no @ClassName")
    class_name = str(class_name)
    python_class = resolve_class(class_name) if resolve_class else None
    kind = kinds.kind_of(python_class) if python_class is not None else None
    if kind is None and resolve_kind is not None:
        kind = resolve_kind(class_name)
    where = f"{what} item {name}"
    ref = production.component(
        name,
        python_class,
        kind=kind or "component",
        class_name=class_name,
        pool_size=parse_int(entry.get("@PoolSize"), 1, f"{where} @PoolSize"),
        enabled=parse_bool(entry.get("@Enabled"), True, f"{where} @Enabled"),
        foreground=parse_bool(entry.get("@Foreground"), False, f"{where} @Foreground"),
        comment=str(entry.get("@Comment") or ""),
        category=str(entry.get("@Category") or ""),
        log_trace_events=parse_bool(entry.get("@LogTraceEvents"), False,
                                    f"{where} @LogTraceEvents"),
        schedule=str(entry.get("@Schedule") or ""),
    )
    for setting in _as_list(entry.get("Setting"), f"{where} Setting"):
        setting_name = _setting_name(setting, where)
        target = str(setting.get("@Target") or HOST)
        if target == HOST:
            ref.host_settings[setting_name] = _text(setting)
        elif target == ADAPTER:
            ref.adapter_settings[setting_name] = _text(setting)
        else:
            ref.other_setting(target, setting_name, _text(setting))
    ref._extra = {k: v for k, v in entry.items() if k not in _ITEM_KEYS}


def production_to_xml(production: Production) -> str:
    """The production as IRIS's ``<Production>`` XML, indented with tabs as IoP writes it."""
    return "\n".join(_xml_element("Production", production_body(production), 0))


def _xml_element(tag: str, value: Any, depth: int) -> list[str]:
    indent = "\t" * depth
    if not isinstance(value, Mapping):
        return [f"{indent}<{tag}>{escape('' if value is None else str(value))}</{tag}>"]
    attributes = "".join(f" {key[1:]}={quoteattr(str(item))}"
                         for key, item in value.items() if key.startswith("@"))
    text = escape(str(value.get("#text") or ""))
    children = [(key, item) for key, item in value.items()
                if not key.startswith("@") and key != "#text"]
    if not children:
        return [f"{indent}<{tag}{attributes}>{text}</{tag}>"]
    lines = [f"{indent}<{tag}{attributes}>{text}"]
    for key, item in children:
        for entry in item if isinstance(item, list) else [item]:
            lines += _xml_element(key, entry, depth + 1)
    return [*lines, f"{indent}</{tag}>"]
