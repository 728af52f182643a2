"""Class-style productions: turn a subclass's item declarations into items and routes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from iop.components import kinds
from iop.production.errors import ProductionError
from iop.production.items import ComponentItem

if TYPE_CHECKING:
    from iop.production.production import Production

__all__ = ["DECLARATION_GROUPS", "add_declared_items"]

# Class attributes holding item declarations, in the order their items are added.
DECLARATION_GROUPS = (
    ("components", None),
    ("services", kinds.SERVICE),
    ("processes", kinds.PROCESS),
    ("operations", kinds.OPERATION),
)


def add_declared_items(production: Production) -> None:
    """Add the items declared on the production's class, then wire their routes."""
    cls = type(production)
    declared: list[ComponentItem] = []
    for attribute, expected in DECLARATION_GROUPS:
        for item in _declarations(cls, attribute):
            if expected is not None and item.declared_kind not in (None, expected):
                raise TypeError(f"{attribute} must contain {expected.title()}Item declarations")
            _add(production, item, item.declared_kind or expected)
            declared.append(item)
    for item in declared:
        _connect_routes(production, item)


def _declarations(cls: type, attribute: str) -> tuple[ComponentItem, ...]:
    value = getattr(cls, attribute, ()) or ()
    items = (value,) if isinstance(value, ComponentItem) else tuple(value)
    for item in items:
        if not isinstance(item, ComponentItem):
            raise TypeError(f"{attribute} must contain production item declarations")
    return items


def _add(production: Production, item: ComponentItem, kind: str | None) -> None:
    ref = production.component(
        item.name,
        item.component_class,
        kind=kind,
        class_name=item.class_name,
        adapter_class=item.adapter_class,
        pool_size=item.pool_size,
        enabled=item.enabled,
        foreground=item.foreground,
        comment=item.comment,
        category=item.category,
        log_trace_events=item.log_trace_events,
        schedule=item.schedule,
        host_settings=item.host_setting_values,
        adapter_settings=item.adapter_setting_values,
        adapter_class_name=item.adapter_class_name,
    )
    for target, name, value in item.other_settings:
        ref.other_setting(target, name, value)


def _connect_routes(production: Production, item: ComponentItem) -> None:
    ref = production.item(item.name)
    for route in item.routes:
        owner, cls = route.port_owner, ref.component_class
        if owner is not None and cls is not None and not issubclass(cls, owner):
            raise ProductionError(
                f"Route target setting {route.port_name!r} belongs to "
                f"{owner.__module__}.{owner.__qualname__}, not {cls.__module__}.{cls.__qualname__}")
        port = ref.port(route.port_name)
        ref.connect(port, route.target_names[0])
        for name in route.target_names[1:]:
            ref.connect_add(port, name)
