"""The message classes an item handles (its @handler, DISPATCH and typed methods) with
each class's fields, for the portal's Test form (IRIS's Testing Service).

It imports the item's class and its message classes, so the server runs it in an
isolated child (iop.server.isolated), never in its own process.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from pydantic import BaseModel

from iop.engine import registry
from iop.engine.config import parse_production
from iop.engine.errors import UnknownItem, UnknownProduction
from iop.messages import codec
from iop.messages.dispatch import build_dispatch_table
from iop.messages.persistent import Field, PersistentMessage
from iop.store.base import Store

# Offered when an item names no message class of its own (a generic on_message).
GENERIC_CLASSES = ("Ens.StringRequest", "Ens.Request")
_SIMPLE = {str: "str", int: "int", float: "float", bool: "bool"}


def _type_text(tp: Any) -> str:
    if tp in _SIMPLE:
        return _SIMPLE[tp]
    return tp.__name__ if isinstance(tp, type) else str(tp).replace("typing.", "")


def _kind(tp: Any) -> str:
    """The form's editor for a field type: int, float, bool, str, or json for the rest."""
    options = [a for a in typing.get_args(tp) if a is not type(None)] \
        if typing.get_origin(tp) in (typing.Union, types.UnionType) else [tp]
    inner = options[0] if len(options) == 1 else None
    return _SIMPLE.get(inner, "json") if inner is not None else "json"


def _plain(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def fields_of(cls: type) -> list[dict[str, Any]]:
    """A message class's fields: name, type text, editor kind, default and whether it is
    required (dataclass, Pydantic and PersistentMessage classes)."""
    rows: list[dict[str, Any]] = []
    if issubclass(cls, BaseModel):
        for name, info in cls.model_fields.items():
            required = info.is_required()
            rows.append({"name": name, "type": _type_text(info.annotation),
                         "kind": _kind(info.annotation), "required": required,
                         "default": None if required else _plain(info.default)})
        return rows
    if issubclass(cls, PersistentMessage):
        for name, tp in cls.field_types().items():
            declared = cls._iop_fields.get(name)
            default = declared.default if isinstance(declared, Field) else declared
            rows.append({"name": name, "type": _type_text(tp), "kind": _kind(tp),
                         "required": isinstance(declared, Field) and declared.required,
                         "default": _plain(default)})
        return rows
    if dataclasses.is_dataclass(cls):
        try:
            hints = typing.get_type_hints(cls)
        except Exception:  # an unresolvable annotation: the field is shown as JSON
            hints = {}
        for f in dataclasses.fields(cls):
            tp = hints.get(f.name, f.type)
            missing = f.default is dataclasses.MISSING \
                and f.default_factory is dataclasses.MISSING
            default = None if f.default is dataclasses.MISSING else f.default
            rows.append({"name": f.name, "type": _type_text(tp), "kind": _kind(tp),
                         "required": missing, "default": _plain(default)})
    return rows


def message_forms(store: Store, production: str, item: str) -> dict[str, Any]:
    """The classes ``item`` of ``production`` handles, each with its fields; a generic
    handler (on_message alone) gets Ens.StringRequest and Ens.Request."""
    definition = store.get_production(production) if production else None
    if definition is None:
        raise UnknownProduction(f"production {production or '(none)'} does not exist in "
                                f"namespace {store.namespace}")
    config = parse_production(definition)
    found = config.item(item)
    if found is None:
        raise UnknownItem(f"item {item!r} is not in production {production}")
    registry.add_classpaths(store.list_classpaths())
    registry.use_message_bindings(store)
    warnings: list[str] = []
    names: list[str] = []
    try:
        names = list(build_dispatch_table(registry.resolve(store, found.class_name)).methods)
    except Exception as exc:  # an unloadable class: the JSON textarea still tests it
        warnings.append(f"class {found.class_name} cannot be loaded: {exc}")
    classes = []
    for name in names or list(GENERIC_CLASSES):
        try:
            fields: list[dict[str, Any]] | None = fields_of(codec.resolve_class(name))
        except Exception as exc:  # shown with the JSON textarea only
            fields = None
            warnings.append(f"message class {name} cannot be loaded: {exc}")
        classes.append({"class_name": name, "fields": fields})
    return {"item": item, "classes": classes, "generic": not names, "warnings": warnings}
