"""Production: the authoring DSL for a production's items, settings and routes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, ClassVar

from iop.components import kinds
from iop.components.settings import PortDeclaration
from iop.names import CLASS, ITEM, PRODUCTION, check_name
from iop.production.component import ComponentRef
from iop.production.declarative import add_declared_items
from iop.production.errors import ProductionError, UnknownComponent
from iop.production.export_shape import production_from_dict, production_to_dict
from iop.production.graph import ProductionGraph, RouteEdge, production_routes
from iop.production.item_classes import item_kind, set_adapter
from iop.production.items import ComponentItem
from iop.production.ports import Port
from iop.production.runtime import RuntimeMixin
from iop.production.values import setting_text
from iop.production.workflow import WorkflowMixin

__all__ = ["PRODUCTION_SETTING_NAMES", "Production"]

SHUTDOWN_TIMEOUT = "ShutdownTimeout"
UPDATE_TIMEOUT = "UpdateTimeout"
ALERT_MANAGER = "AlertNotificationManager"
ALERT_OPERATION = "AlertNotificationOperation"
ALERT_RECIPIENTS = "AlertNotificationRecipients"
ALERT_ACTION_WINDOW = "AlertActionWindow"
PRODUCTION_SETTING_NAMES = (
    SHUTDOWN_TIMEOUT, UPDATE_TIMEOUT, ALERT_MANAGER, ALERT_OPERATION, ALERT_RECIPIENTS,
    ALERT_ACTION_WINDOW,
)

class Production(RuntimeMixin, WorkflowMixin):
    """A named configuration of items; built with methods, or declared as a subclass.

    Instantiating a subclass whose class attributes declare ``services``, ``processes``,
    ``operations`` or ``components`` returns a populated production. Runtime and change
    workflow methods come from RuntimeMixin and WorkflowMixin.
    """

    name: str | None = None
    testing_enabled: bool = False
    description: str = ""
    actor_pool_size: int = 2
    log_general_trace_events: bool = False
    production_settings: dict[str, Any] = {}
    components: ClassVar[Iterable[ComponentItem]] = ()
    services: ClassVar[Iterable[ComponentItem]] = ()
    processes: ClassVar[Iterable[ComponentItem]] = ()
    operations: ClassVar[Iterable[ComponentItem]] = ()

    def __init__(
        self,
        name: str | None = None,
        testing_enabled: bool | None = None,
        *,
        description: str | None = None,
        actor_pool_size: int | None = None,
        log_general_trace_events: bool | None = None,
        settings: Mapping[str, Any] | None = None,
        namespace: str | None = None,
        director: Any = None,
    ) -> None:
        cls = type(self)
        name = name if name is not None else cls.name
        if not name:
            raise ProductionError(f"{cls.__qualname__} needs a name")
        self.name = check_name(PRODUCTION, name, ProductionError)
        self.testing_enabled = bool(cls.testing_enabled if testing_enabled is None
                                    else testing_enabled)
        self.description = cls.description if description is None else description
        self.actor_pool_size = cls.actor_pool_size if actor_pool_size is None else actor_pool_size
        self.log_general_trace_events = bool(
            cls.log_general_trace_events if log_general_trace_events is None
            else log_general_trace_events
        )
        self.production_settings = {}
        for key, value in {**cls.production_settings, **(settings or {})}.items():
            self.production_setting(key, value)
        self.namespace = namespace
        self.director: Any = director  # None: a Director on the namespace (runtime.director_of)
        self._items: dict[str, ComponentRef] = {}
        # Production attributes read from an export that this model does not know.
        self._extra: dict[str, Any] = {}
        # Route metadata: origin of configured routes, and routes seen only in traffic.
        self._route_origin = "authored"
        self._observed_routes: dict[tuple[str, str], str] = {}
        # Queue counters given to from_dict(queue_info=...), by item.
        self._queue_info: dict[str, dict[str, Any]] = {}
        # Metadata the runtime reported for a route: (source, setting, target) -> metadata.
        self._route_metadata: dict[tuple[str, str, str], dict[str, Any]] = {}
        # Imports: interactions learnt from Python sources, and routes only the sources show.
        self._route_interaction: dict[tuple[str, str, str], str] = {}
        self._source_routes: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        add_declared_items(self)

    # -- production attributes (fluent) -----------------------------------------------
    def testing(self, enabled: bool = True) -> Production:
        """Enable testing of items from the portal and the CLI."""
        self.testing_enabled = bool(enabled)
        return self

    def tracing(self, enabled: bool = True) -> Production:
        """Log general trace events."""
        self.log_general_trace_events = bool(enabled)
        return self

    def actor_pool(self, size: int) -> Production:
        """Set the number of shared actor jobs used by items with pool size 0."""
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ProductionError(f"production {self.name}: actor pool size must be >= 0")
        self.actor_pool_size = size
        return self

    def describe(self, text: str) -> Production:
        """Set the production's description."""
        self.description = text
        return self

    def production_setting(self, name: str, value: Any) -> Production:
        """Set one production-level setting; None removes it."""
        if value is None:
            self.production_settings.pop(name, None)
        else:
            self.production_settings[name] = setting_text(value)
        return self

    def timeouts(self, shutdown: int | None = None, update: int | None = None) -> Production:
        """Set ShutdownTimeout and UpdateTimeout, in seconds."""
        for key, value in ((SHUTDOWN_TIMEOUT, shutdown), (UPDATE_TIMEOUT, update)):
            if value is not None:
                self.production_setting(key, value)
        return self

    def alerting(
        self,
        manager: str | None = None,
        operation: str | None = None,
        recipients: str | None = None,
        action_window: int | None = None,
    ) -> Production:
        """Set the alert notification settings of the production."""
        for key, value in ((ALERT_MANAGER, manager), (ALERT_OPERATION, operation),
                           (ALERT_RECIPIENTS, recipients), (ALERT_ACTION_WINDOW, action_window)):
            if value is not None:
                self.production_setting(key, value)
        return self

    def in_namespace(self, namespace: str) -> Production:
        """Choose the namespace lifecycle and migration calls use."""
        self.namespace = namespace
        return self

    def with_director(self, director: Any) -> Production:
        """Choose the director lifecycle calls go through (any object with IoP's director
        protocol; None goes back to the default Director)."""
        self.director = director
        return self

    # -- items -------------------------------------------------------------------------
    def component(
        self,
        name_or_cls: str | type,
        cls: type | str | None = None,
        *,
        kind: str | None = None,
        class_name: str | None = None,
        adapter_class: type | str | None = None,
        pool_size: int = 1,
        enabled: bool = True,
        foreground: bool = False,
        comment: str = "",
        category: str = "",
        log_trace_events: bool = False,
        schedule: str = "",
        settings: Mapping[str, Any] | None = None,
        host_settings: Mapping[str, Any] | None = None,
        adapter_settings: Mapping[str, Any] | None = None,
    ) -> ComponentRef:
        """Add an item; with only a class, the item is named after the class."""
        component_class: type | None
        if isinstance(name_or_cls, type):
            if cls is not None:
                raise TypeError("pass either a class or a name and a class, not two classes")
            name, component_class = name_or_cls.__name__, name_or_cls
        elif isinstance(name_or_cls, str) and name_or_cls:
            name, component_class = name_or_cls, cls if isinstance(cls, type) else None
            if isinstance(cls, str):
                if class_name is not None and class_name != cls:
                    raise ProductionError(f"item {name}: class {cls!r} and class_name "
                                          f"{class_name!r} disagree")
                class_name = cls
            elif cls is not None and component_class is None:
                raise TypeError(f"item {name}: expected a class or class name, not {cls!r}")
        else:
            raise TypeError(f"expected an item name or a component class, not {name_or_cls!r}")
        check_name(ITEM, name, ProductionError)
        if class_name is not None:
            check_name(CLASS, class_name, ProductionError)
        if name in self._items:
            raise ProductionError(f"production {self.name} already has an item named {name}")
        ref = ComponentRef(
            name,
            class_name or (kinds.python_class_name(component_class) if component_class else name),
            component_class=component_class,
            kind=item_kind(name, component_class, kind),
            pool_size=pool_size,
            enabled=enabled,
            foreground=foreground,
            comment=comment,
            category=category,
            log_trace_events=log_trace_events,
            schedule=schedule,
            production=self,
        )
        set_adapter(ref, adapter_class)
        ref.pool(pool_size)
        ref.host_settings_update(settings or {}).host_settings_update(host_settings or {})
        ref.adapter_settings_update(adapter_settings or {})
        self._items[name] = ref
        return ref

    def service(self, name_or_cls: str | type, cls: type | str | None = None,
                **options: Any) -> ComponentRef:
        """Add a business service item."""
        return self.component(name_or_cls, cls, kind=kinds.SERVICE, **options)

    def process(self, name_or_cls: str | type, cls: type | str | None = None,
                **options: Any) -> ComponentRef:
        """Add a business process item."""
        return self.component(name_or_cls, cls, kind=kinds.PROCESS, **options)

    def operation(self, name_or_cls: str | type, cls: type | str | None = None,
                  **options: Any) -> ComponentRef:
        """Add a business operation item."""
        return self.component(name_or_cls, cls, kind=kinds.OPERATION, **options)

    def remove(self, name: str) -> ComponentRef:
        """Remove an item and return it; routes pointing at it are left for validation to report."""
        ref = self.item(name)
        del self._items[name]
        ref.production = None
        return ref

    def item(self, name: str) -> ComponentRef:
        """The item named ``name``."""
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(self._items) or "none"
            raise UnknownComponent(
                f"production {self.name} has no item {name!r} (items: {known})"
            ) from None

    def item_names(self) -> list[str]:
        """Names of the items, in insertion order."""
        return list(self._items)

    def __iter__(self) -> Iterator[ComponentRef]:
        return iter(list(self._items.values()))

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    # -- routes ------------------------------------------------------------------------
    def connect(self, port: Port | PortDeclaration | str, component: Any) -> Production:
        """Point a port (``Port``, ``"Item.Port"`` or a class's target()) at one item."""
        ref, port_name = self._source(port)
        ref.connect(port_name, component)
        return self

    def connect_add(self, port: Port | PortDeclaration | str, component: Any) -> Production:
        """Add one more target to a port (fan-out)."""
        ref, port_name = self._source(port)
        ref.connect_add(port_name, component)
        return self

    def _source(self, port: Port | PortDeclaration | str) -> tuple[ComponentRef, str]:
        if isinstance(port, Port):
            ref = self.item(port.component.name)
            if ref is not port.component:
                raise ProductionError(f"port {port} belongs to another production")
            return ref, port.name
        if isinstance(port, PortDeclaration):
            ref = self._unique_owner_item(port)
            return ref, ref.port(port).name
        if isinstance(port, str):
            item_name, dot, port_name = port.rpartition(".")
            if dot and item_name in self._items and port_name:
                return self._items[item_name], self._items[item_name].port(port_name).name
        raise ProductionError(f"{port!r} does not name a port as Item.Port")

    def _unique_owner_item(self, declaration: PortDeclaration) -> ComponentRef:
        owner = declaration.owner
        found = [ref for ref in self._items.values()
                 if ref.component_class is not None and owner is not None
                 and issubclass(ref.component_class, owner)]
        if len(found) != 1:
            which = ", ".join(r.name for r in found) or "no item"
            raise ProductionError(
                f"port {declaration} matches {which}; use item.{declaration.name} instead"
            )
        return found[0]

    def component_ref(self, target: Any) -> ComponentRef:
        """The item designated by a ComponentRef, item name, Port, or ``"Item.Port"`` path.

        A port designates the item it is configured to send to.
        """
        if isinstance(target, Port):
            return self._port_target(self._source(target)[0].port(target.name))
        if isinstance(target, PortDeclaration):
            return self._port_target(self._unique_owner_item(target).port(target))
        if isinstance(target, (ComponentRef, ComponentItem)):
            return self.item(target.name)
        if isinstance(target, str):
            if target in self._items:
                return self._items[target]
            item_name, dot, port_name = target.rpartition(".")
            if dot and item_name in self._items and port_name:
                return self._port_target(self._items[item_name].port(port_name))
            return self.item(target)
        raise TypeError(f"expected an item name, ComponentRef or Port, not {target!r}")

    get_component = component_ref

    def _port_target(self, port: Port) -> ComponentRef:
        targets = port.targets()
        if not targets:
            raise UnknownComponent(f"port {port} is not connected")
        if len(targets) > 1:
            raise ProductionError(f"port {port} sends to {', '.join(targets)}; name one item")
        return self.item(targets[0])

    def routes(self) -> list[RouteEdge]:
        """Route edges ``(source, port, target)`` from the items' target settings."""
        return production_routes(self)

    def graph(self) -> ProductionGraph:
        """A printable ProductionGraph of the items and their routes."""
        return ProductionGraph.of(self)

    def python_classes(self) -> dict[str, type]:
        """Class name -> Python class for items and adapters backed by Python classes."""
        found: dict[str, type] = {}
        for ref in self._items.values():
            pairs = ((ref.class_name, ref.component_class),
                     (ref.adapter_class_name, ref.adapter_class))
            for class_name, python_class in pairs:
                if python_class is None or class_name is None:
                    continue
                if found.setdefault(class_name, python_class) is not python_class:
                    raise ProductionError(
                        f"class name {class_name} is bound to both "
                        f"{found[class_name].__qualname__} and {python_class.__qualname__}"
                    )
        return found

    # -- export shape ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The production in the IRIS export shape: ``{"Production": {...}}``, values as text."""
        return production_to_dict(self)

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        resolve_kind: Callable[[str], str | None] | None = None,
        *,
        resolve_class: Callable[[str], type | None] | None = None,
        connections: Any = None,
        queue_info: Any = None,
        namespace: str | None = None,
        director: Any = None,
    ) -> Production:
        """Rebuild a production from the IRIS export shape; kinds and classes come from resolvers.

        ``connections`` and ``queue_info`` are runtime facts in IoP's shapes (see
        iop.production.runtime_import): reported routes become ``runtime`` edges. The result is
        always a plain Production, whichever subclass this is called on.
        """
        from iop.production.runtime_import import apply_runtime_facts
        from iop.production.source_routes import infer_source_routes

        production = production_from_dict(Production, data, resolve_kind=resolve_kind,
                                          resolve_class=resolve_class)
        production._route_origin = "inferred"
        production.namespace = namespace
        if director is not None:
            production.director = director
        apply_runtime_facts(production, connections, queue_info)
        infer_source_routes(production)
        return production

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, items={list(self._items)!r})"
