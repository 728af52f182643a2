"""What an item's class says about it: its kind (service, process, operation) and its adapter."""

from __future__ import annotations

from typing import TYPE_CHECKING

from iop.components import kinds
from iop.production.errors import ProductionError

if TYPE_CHECKING:
    from iop.production.component import ComponentRef

__all__ = ["BUILTIN_PREFIXES", "auto_class_name", "declared_adapter", "item_kind", "set_adapter"]

# Class names IRIS (and the engine's built-ins) own; a Python class is never bound over them.
BUILTIN_PREFIXES = ("Ens.", "EnsLib.")


def auto_class_name(component_class: type) -> str:
    """The class name an item gets for a Python class, as IoP names it:
    ``Python.<module>.<Class>`` without underscores (``my_mod.Order_Op`` gives
    ``Python.mymod.OrderOp``); migration binds that name to the class."""
    return kinds.python_class_name(component_class).replace("_", "")


def item_kind(name: str, component_class: type | None, requested: str | None) -> str:
    """The item's kind: the requested one, checked against what the class says it is."""
    actual = kinds.kind_of(component_class)
    label = getattr(component_class, "__qualname__", "?")
    if actual in (kinds.INBOUND_ADAPTER, kinds.OUTBOUND_ADAPTER):
        raise ProductionError(f"item {name}: {label} is an adapter, not a business host")
    requested = None if requested == "component" else requested
    if requested and actual and requested != actual:
        raise ProductionError(f"item {name}: {label} is a {actual}, not a {requested}")
    return requested or actual or "component"


def declared_adapter(component_class: type | None) -> str | None:
    """The adapter class name a host class declares with ``get_adapter_type()``."""
    get_type = getattr(component_class, "get_adapter_type", None)
    adapter = get_type() if callable(get_type) else None
    return adapter if isinstance(adapter, str) and adapter else None


def set_adapter(ref: ComponentRef, adapter_class: type | str | None) -> None:
    declared = declared_adapter(ref.component_class)
    if isinstance(adapter_class, type):
        ref.adapter_class = adapter_class
        # The engine looks the adapter up by the name the host declares, so the Python
        # adapter is bound under that name (never over a built-in one).
        builtin = declared is not None and declared.startswith(BUILTIN_PREFIXES)
        ref.adapter_class_name = declared if declared and not builtin \
            else auto_class_name(adapter_class)
    elif isinstance(adapter_class, str):
        ref.adapter_class_name = adapter_class
    elif adapter_class is not None:
        raise TypeError(f"item {ref.name}: adapter_class must be a class or a class name")
    else:
        ref.adapter_class_name = declared
