"""Item declarations for class-style productions: ComponentItem, ServiceItem, ..., and Route."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from iop.components import kinds
from iop.components.settings import PortDeclaration
from iop.names import CLASS, ITEM, check_name
from iop.production.component import setting_key
from iop.production.errors import ProductionError
from iop.production.ports import item_name_of, normalize_port_name
from iop.production.values import setting_text

__all__ = ["ComponentItem", "OperationItem", "ProcessItem", "Route", "ServiceItem"]


def _target_names(port: str, targets: Any) -> tuple[str, ...]:
    if isinstance(targets, (str, ComponentItem)):
        targets = (targets,)
    elif not isinstance(targets, Iterable):
        raise TypeError(f"Route {port!r} targets must be an item name, a production item "
                        "declaration, or an iterable of either")
    names = []
    for target in targets:
        try:
            names.append(item_name_of(target))
        except TypeError:
            raise TypeError(f"Route {port!r} targets must be item names or production item "
                            "declarations") from None
    return tuple(names)


class Route:
    """Wires one port of a declared item to target items; several targets mean fan-out."""

    __slots__ = ("port_name", "port_owner", "target_names", "target_setting", "targets")

    def __init__(self, port: str | PortDeclaration, targets: Any) -> None:
        self.target_setting = port
        self.targets = targets
        if isinstance(port, PortDeclaration):
            self.port_name = normalize_port_name(port.name or "")
            self.port_owner: type | None = port.owner
        elif isinstance(port, str) and port:
            self.port_name = normalize_port_name(port)
            self.port_owner = None
        else:
            raise TypeError(f"Route port must be a target() declaration or a name, not {port!r}")
        self.target_names = _target_names(self.port_name, targets)
        if not self.target_names:
            raise ProductionError(f"Route {self.port_name!r} requires at least one target")

    @property
    def target_setting_name(self) -> str:
        """The IRIS setting name of the route's port (IoP's name)."""
        return self.port_name

    @property
    def target_setting_owner(self) -> type | None:
        """The class declaring the port, for a ``target()`` declaration (IoP's name)."""
        return self.port_owner

    def __repr__(self) -> str:
        return f"Route({self.port_name!r}, {list(self.target_names)!r})"


class ComponentItem:
    """One item of a class-style production; its kind comes from its class unless fixed."""

    declared_kind: ClassVar[str | None] = None

    def __init__(
        self,
        name: str,
        component: type | str | None = None,
        *,
        class_name: str | None = None,
        settings: Mapping[str, Any] | None = None,
        host_settings: Mapping[str, Any] | None = None,
        adapter_settings: Mapping[str, Any] | None = None,
        other_settings: Iterable[tuple[str, str, Any]] = (),
        routes: Route | Iterable[Route] = (),
        pool_size: int = 1,
        enabled: bool = True,
        foreground: bool = False,
        comment: str = "",
        category: str = "",
        log_trace_events: bool = False,
        schedule: str = "",
        adapter_class: type | str | None = None,
        adapter_class_name: str | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ProductionError(f"an item needs a non-empty name, not {name!r}")
        self.name = check_name(ITEM, name, ProductionError)
        label = f"{(self.declared_kind or 'component').title()} item {name!r}"
        self.component_class = component if isinstance(component, type) else None
        if isinstance(component, str):
            if class_name is not None and class_name != component:
                raise ProductionError(
                    f"{label} declares conflicting component and class_name values")
            class_name = component
        elif component is not None and self.component_class is None:
            raise TypeError(f"{label}: expected a class or a class name, not {component!r}")
        if self.component_class is None and class_name is None:
            raise ProductionError(f"{label} requires a component class or class_name")
        self.class_name = None if class_name is None else check_name(CLASS, class_name,
                                                                       ProductionError)
        self.component = component
        self.settings = settings
        # The settings as given (10, True...), kept for drafts; the text forms follow.
        self.host_setting_values = _merge_host_settings(label, settings, host_settings)
        self.adapter_setting_values = {setting_key(k): v for k, v in
                                       (adapter_settings or {}).items() if v is not None}
        self.host_settings = {k: setting_text(v) for k, v in self.host_setting_values.items()}
        self.adapter_settings = {k: setting_text(v)
                                 for k, v in self.adapter_setting_values.items()}
        self.adapter_class_name = adapter_class_name
        self.other_settings = tuple(_other_setting(name, entry) for entry in other_settings)
        self.routes = (routes,) if isinstance(routes, Route) else tuple(routes)
        self.route_values = self.routes
        self.pool_size = pool_size
        self.enabled = enabled
        self.foreground = foreground
        self.comment = comment
        self.category = category
        self.log_trace_events = log_trace_events
        self.schedule = schedule
        self.adapter_class = adapter_class
        self._check_routes()

    @property
    def other_setting_values(self) -> list[dict[str, str]]:
        """The other settings in the export shape (IoP's name)."""
        return [{"@Target": t, "@Name": n, "#text": v} for t, n, v in self.other_settings]

    @property
    def kind(self) -> str:
        """``service``, ``process``, ``operation`` or ``component`` when unknown."""
        return self.declared_kind or kinds.kind_of(self.component_class) or "component"

    def _check_routes(self) -> None:
        seen: set[str] = set()
        label = f"{(self.declared_kind or 'component').title()} item {self.name!r}"
        for route in self.routes:
            if not isinstance(route, Route):
                raise TypeError(f"{label} routes must be Route instances")
        in_host = sorted({r.port_name for r in self.routes} & set(self.host_settings))
        if in_host:
            raise ProductionError(
                f"{label} declares route target setting(s) in Host settings: "
                f"{', '.join(repr(n) for n in in_host)}. Declare route target settings with "
                "Route only.")
        for route in self.routes:
            if route.port_name in seen:
                raise ProductionError(
                    f"item {self.name}: port {route.port_name} has two Routes; give one Route "
                    "a sequence of targets for fan-out"
                )
            seen.add(route.port_name)

    def __repr__(self) -> str:
        shown = self.class_name or getattr(self.component_class, "__qualname__", "?")
        return f"{type(self).__name__}({self.name!r}, {shown!r})"


def _merge_host_settings(
    label: str, settings: Mapping[str, Any] | None, host_settings: Mapping[str, Any] | None
) -> dict[str, Any]:
    first = {normalize_port_name(setting_key(k)): v for k, v in (settings or {}).items()}
    second = {normalize_port_name(setting_key(k)): v for k, v in (host_settings or {}).items()}
    twice = sorted(first.keys() & second.keys())
    if twice:
        raise ProductionError(f"{label} declares duplicate Host setting keys: "
                              f"{', '.join(repr(n) for n in twice)}")
    # None leaves the setting unset, as in the fluent methods.
    return {k: v for k, v in {**first, **second}.items() if v is not None}


def _other_setting(name: str, entry: Any) -> tuple[str, str, str]:
    """``(target, name, value)`` from a tuple or an export-shaped ``{"@Target", "@Name",
    "#text"}`` mapping."""
    if isinstance(entry, Mapping):
        target, key, value = entry.get("@Target"), entry.get("@Name"), entry.get("#text")
    elif isinstance(entry, tuple) and len(entry) == 3:
        target, key, value = entry
    else:
        raise ProductionError(f"item {name}: other_settings entries are (target, name, value) "
                              f"or {{'@Target', '@Name', '#text'}}, not {entry!r}")
    if not target or not key:
        raise ProductionError(f"item {name}: an other_settings entry needs a target and a name: "
                              f"{entry!r}")
    return str(target), str(key), setting_text(value)


class ServiceItem(ComponentItem):
    """A business service item."""

    declared_kind = kinds.SERVICE


class ProcessItem(ComponentItem):
    """A business process item."""

    declared_kind = kinds.PROCESS


class OperationItem(ComponentItem):
    """A business operation item."""

    declared_kind = kinds.OPERATION
