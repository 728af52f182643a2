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
from iop.production.export_shape import (
    production_from_dict,
    production_to_dict,
    production_to_xml,
)
from iop.production.graph import (
    GraphEdge,
    ProductionGraph,
    RouteEdge,
    production_edges,
    production_mermaid,
    production_routes,
)
from iop.production.item_classes import auto_class_name, item_kind, set_adapter
from iop.production.items import ComponentItem
from iop.production.lifecycle import LifecycleMixin
from iop.production.messages import MessageRegistration
from iop.production.ports import Port
from iop.production.python_drafts import production_to_class, production_to_python
from iop.production.values import flag, setting_text
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

# IoP's keyword arguments and attributes for the production-level settings, and the values
# IRIS uses when a setting is absent (to_dict leaves those out, as IoP does).
PRODUCTION_SETTING_FIELDS = {
    "shutdown_timeout": SHUTDOWN_TIMEOUT, "update_timeout": UPDATE_TIMEOUT,
    "alert_notification_manager": ALERT_MANAGER, "alert_notification_operation": ALERT_OPERATION,
    "alert_notification_recipients": ALERT_RECIPIENTS, "alert_action_window": ALERT_ACTION_WINDOW,
}
PRODUCTION_SETTING_DEFAULTS: dict[str, Any] = {
    SHUTDOWN_TIMEOUT: 120, UPDATE_TIMEOUT: 10, ALERT_MANAGER: "", ALERT_OPERATION: "",
    ALERT_RECIPIENTS: "", ALERT_ACTION_WINDOW: 60,
}


def _declared_on_class(cls: type, field_name: str) -> Any:
    """A production setting a class-style production declares as a class attribute."""
    for klass in cls.__mro__:
        if klass is Production:
            return None
        value = klass.__dict__.get(field_name)
        if value is not None and not isinstance(value, property):
            return value
    return None


def _setting_property(iris_name: str) -> property:
    def read(self: Production) -> Any:
        return self.production_setting_value(iris_name)

    def write(self: Production, value: Any) -> None:
        self.production_setting(iris_name, value)

    return property(read, write, doc=f"The production's {iris_name} setting.")


class Production(LifecycleMixin, WorkflowMixin):
    """A named configuration of items; built with methods, or declared as a subclass.

    Instantiating a subclass whose class attributes declare ``services``, ``processes``,
    ``operations`` or ``components`` returns a populated production. Runtime and change
    workflow methods come from LifecycleMixin and WorkflowMixin.
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
    shutdown_timeout = _setting_property(SHUTDOWN_TIMEOUT)
    update_timeout = _setting_property(UPDATE_TIMEOUT)
    alert_notification_manager = _setting_property(ALERT_MANAGER)
    alert_notification_operation = _setting_property(ALERT_OPERATION)
    alert_notification_recipients = _setting_property(ALERT_RECIPIENTS)
    alert_action_window = _setting_property(ALERT_ACTION_WINDOW)

    def __init__(
        self,
        name: str | None = None,
        *,
        testing_enabled: bool | str | None = None,
        log_general_trace_events: bool | str | None = None,
        actor_pool_size: int | str | None = None,
        description: str | None = None,
        shutdown_timeout: int | str | None = None,
        update_timeout: int | str | None = None,
        alert_notification_manager: str | None = None,
        alert_notification_operation: str | None = None,
        alert_notification_recipients: str | None = None,
        alert_action_window: int | str | None = None,
        namespace: str | None = None,
        director: Any = None,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        cls = type(self)
        if name is None:
            # A class-style production without a name is named after its class, as in IoP.
            name = cls.name or f"{cls.__module__}.{cls.__name__}"
        self.name = check_name(PRODUCTION, str(name), ProductionError)
        self.testing_enabled = flag(cls.testing_enabled if testing_enabled is None
                                    else testing_enabled)
        self.description = cls.description if description is None else description
        self.actor_pool(cls.actor_pool_size if actor_pool_size is None else actor_pool_size)
        self.log_general_trace_events = flag(
            cls.log_general_trace_events if log_general_trace_events is None
            else log_general_trace_events
        )
        self.production_settings = {}
        self._given_settings: dict[str, Any] = {}
        for key, value in {**cls.production_settings, **(settings or {})}.items():
            self.production_setting(key, value)
        fields = {"shutdown_timeout": shutdown_timeout, "update_timeout": update_timeout,
                  "alert_notification_manager": alert_notification_manager,
                  "alert_notification_operation": alert_notification_operation,
                  "alert_notification_recipients": alert_notification_recipients,
                  "alert_action_window": alert_action_window}
        for field_name, value in fields.items():
            if value is None:
                value = _declared_on_class(cls, field_name)
            if value is not None:
                self.production_setting(PRODUCTION_SETTING_FIELDS[field_name], value)
        self.namespace = namespace
        self.director: Any = director  # None: a Director on the namespace (lifecycle.director_of)
        self._items: dict[str, ComponentRef] = {}
        self._messages: list[MessageRegistration] = []
        # Target defaults already written into an item's settings (name, port).
        self._defaults_applied: set[tuple[str, str]] = set()
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
    def testing(self, enabled: bool | str = True) -> Production:
        """Enable testing of items from the portal and the CLI."""
        self.testing_enabled = flag(enabled)
        return self

    def tracing(self, enabled: bool | str = True) -> Production:
        """Log general trace events."""
        self.log_general_trace_events = flag(enabled)
        return self

    def actor_pool(self, size: int | str) -> Production:
        """Set the number of shared actor jobs used by items with pool size 0."""
        if isinstance(size, str) and size.strip().isdigit():
            size = int(size)
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
            self._given_settings.pop(name, None)
        else:
            self.production_settings[name] = setting_text(value)
            self._given_settings[name] = value
        return self

    def production_setting_value(self, name: str) -> Any:
        """A production setting as given (or its stored text), else IoP's default for it."""
        if name not in self.production_settings:
            return PRODUCTION_SETTING_DEFAULTS.get(name, "")
        given = self._given_settings.get(name)
        text = self.production_settings[name]
        return given if given is not None and setting_text(given) == text else text

    def timeouts(self, *, shutdown: int | str | None = None,
                 update: int | str | None = None) -> Production:
        """Set ShutdownTimeout and UpdateTimeout, in seconds."""
        for key, value in ((SHUTDOWN_TIMEOUT, shutdown), (UPDATE_TIMEOUT, update)):
            if value is not None:
                self.production_setting(key, value)
        return self

    def alerting(
        self,
        *,
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
        adapter_class_name: str | None = None,
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
            raise ProductionError(f"Production item already exists: {name}")
        if class_name is None and component_class is None:
            raise ProductionError("component_class or class_name is required")
        ref = ComponentRef(
            name,
            class_name or auto_class_name(component_class),  # type: ignore[arg-type]
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
        if adapter_class_name:
            ref.adapter_class_name = adapter_class_name
        ref.pool(pool_size)
        ref.host_settings_update(settings or {}).host_settings_update(host_settings or {})
        ref.adapter_settings_update(adapter_settings or {})
        self._check_class_name_clash(ref)
        self._items[name] = ref
        self._apply_target_defaults(ref)
        return ref

    def _check_class_name_clash(self, ref: ComponentRef) -> None:
        if ref.component_class is None:
            return
        for other in self._items.values():
            if other.component_class not in (None, ref.component_class) \
                    and other.class_name == ref.class_name:
                raise ProductionError(
                    f"Python classes {other.component_class.__qualname__!r} and "  # type: ignore[union-attr]
                    f"{ref.component_class.__qualname__!r} produce the same IRIS proxy class "
                    f"name {ref.class_name!r}. Rename one of the Python classes or supply an "
                    "explicit class_name= to resolve the collision.")

    def _apply_target_defaults(self, ref: ComponentRef) -> None:
        # A class's target("Item") default is written into the item's Host settings once, as
        # IoP does, so exports and the running item see the same route.
        for port_name, default in ref.declared_targets().items():
            text = setting_text(default)
            key = (ref.name, port_name)
            if not text or key in self._defaults_applied:
                continue
            self._defaults_applied.add(key)
            if port_name not in ref.host_settings:
                ref.host_settings[port_name] = text

    def add_component(self, *args: Any, **kwargs: Any) -> ComponentRef:
        """Add an item (IoP's name for ``component``)."""
        return self.component(*args, **kwargs)

    def update_component(self, item: ComponentRef | str, **changes: Any) -> ComponentRef:
        """Change an item's attributes, class or settings (None removes a setting)."""
        return update_item(self, self._component_ref(item), changes)

    def delete_component(self, item: ComponentRef | str) -> None:
        """Remove an item and the routes into it that name only it."""
        ref = self._component_ref(item)
        self.remove(ref.name)
        for other in self._items.values():
            for port_name in other.route_ports():
                if other.host_settings.get(port_name) == ref.name:
                    other.host_settings.pop(port_name, None)

    def _component_ref(self, item: Any) -> ComponentRef:
        if isinstance(item, ComponentRef):
            if item.production is not self:
                raise ProductionError("component belongs to a different Production")
            return item
        return self.item(str(item))

    @property
    def items(self) -> tuple[ComponentRef, ...]:
        """The items, in insertion order."""
        return tuple(self._items.values())

    @property
    def edges(self) -> tuple[GraphEdge, ...]:
        """Every route edge with its origin, as the graph shows them."""
        return tuple(production_edges(self))

    def service(self, name_or_cls: str | type, cls: type | str | None = None,
                **kwargs: Any) -> ComponentRef:
        """Add a business service item."""
        return self.component(name_or_cls, cls, kind=kinds.SERVICE, **kwargs)

    def process(self, name_or_cls: str | type, cls: type | str | None = None,
                **kwargs: Any) -> ComponentRef:
        """Add a business process item."""
        return self.component(name_or_cls, cls, kind=kinds.PROCESS, **kwargs)

    def operation(self, name_or_cls: str | type, cls: type | str | None = None,
                  **kwargs: Any) -> ComponentRef:
        """Add a business operation item."""
        return self.component(name_or_cls, cls, kind=kinds.OPERATION, **kwargs)

    def remove(self, name: str) -> ComponentRef:
        """Remove an item and return it; routes pointing at it are left for validation to report."""
        ref = self.item(name)
        del self._items[name]
        self._defaults_applied = {key for key in self._defaults_applied if key[0] != name}
        ref.production = None
        return ref

    def item(self, name: str) -> ComponentRef:
        """The item named ``name``."""
        try:
            return self._items[name]
        except KeyError:
            raise UnknownComponent(f"Production item does not exist: {name}") from None

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
    def connect(self, source: Port | PortDeclaration | str, target_component: Any = None,
                *, mode: str = "replace") -> None:
        """Point a port (``Port``, ``"Item.Port"`` or a class's target()) at one item;
        ``mode="add"`` adds a fan-out target and ``mode="remove"`` takes one (or all) away."""
        ref, port_name = self._source(source)
        if target_component is not None and not isinstance(target_component, str):
            self._check_same_production(target_component)
        elif isinstance(target_component, str) and target_component not in self._items:
            raise UnknownComponent(f"Production item does not exist: {target_component}")
        ref.connect(port_name, target_component, mode=mode)

    def connect_add(self, port: Port | PortDeclaration | str, component: Any) -> None:
        """Add one more target to a port (fan-out)."""
        self.connect(port, component, mode="add")

    def disconnect(self, source: Port | str) -> None:
        """Remove every target of a port (``Port`` or ``"Item.Port"``)."""
        if isinstance(source, str) and "." not in source:
            raise ValueError("source must be a TargetSettingRef or an Item.TargetSetting string")
        if isinstance(source, str):
            item_name, _, port_name = source.rpartition(".")
            self.item(item_name).connect(port_name, mode="remove")
            return
        ref, port_name = self._source(source)
        ref.connect(port_name, mode="remove")

    def _check_same_production(self, component: Any) -> None:
        if isinstance(component, ComponentRef) and component.production is not self:
            raise ProductionError("target component belongs to a different Production")

    def resolve_target(self, target_or_ref: Any) -> str:
        """The item name a ComponentRef, item name, Port or ``"Item.Port"`` designates."""
        return self.component_ref(target_or_ref).name

    def resolve_target_setting_ref(self, port: Port) -> str:
        """The one item a port sends to."""
        if port.production is not self:
            raise ProductionError("target setting ref belongs to a different Production")
        return port.resolve()

    def _source(self, port: Port | PortDeclaration | str) -> tuple[ComponentRef, str]:
        if isinstance(port, Port):
            ref = self.item(port.component.name)
            if ref is not port.component:
                raise ProductionError("source target setting belongs to a different Production")
            return ref, port.name
        if isinstance(port, PortDeclaration):
            raise TypeError(
                "source must be bound to a production item. Use "
                "component.connect(ComponentClass.Target, target_component) "
                "or prod.connect(component.Target, target_component).")
        if isinstance(port, str):
            item_name, dot, port_name = port.rpartition(".")
            if dot and item_name in self._items and port_name:
                return self._items[item_name], self._items[item_name].port(port_name).name
            raise ProductionError(f"{port!r} does not name a port as Item.Port")
        raise TypeError("source must be a TargetSettingRef returned from a ComponentRef")

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
            raise UnknownComponent(f"Production target setting is not connected: {port.path}")
        if len(targets) > 1:
            listed = ", ".join(repr(target) for target in targets)
            raise ProductionError(f"Production target setting is ambiguous: {port.path} "
                                  f"resolves to multiple targets ({listed})")
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
        """The production as IoP's legacy ``PRODUCTIONS`` entry: ``{name: {...}}``, values
        as text."""
        return production_to_dict(self)

    def to_xml(self) -> str:
        """The production as IRIS's ``<Production>`` XML."""
        return production_to_xml(self)

    def to_python(self) -> str:
        """An instance-style Python draft of the production, as IoP writes it."""
        return production_to_python(self)

    def to_class(self) -> str:
        """A class-style Python draft of the production, as IoP writes it."""
        return production_to_class(self)

    def to_mermaid(self, *, direction: str = "LR") -> str:
        """The production's items and routes as a Mermaid flowchart."""
        return production_mermaid(self, direction)

    # -- message classes ---------------------------------------------------------------
    def message(self, iris_classname: str, msg_cls: type, *,
                sync_schema: bool = True) -> Production:
        """Declare the IRIS class name of a PersistentMessage class this production uses."""
        registration = MessageRegistration.of(iris_classname, msg_cls, sync_schema)
        for known in self._messages:
            if known.same_as(registration):
                return self
            known.check_clash(registration)
        self._messages.append(registration)
        return self

    def message_registrations(self) -> tuple[MessageRegistration, ...]:
        """The PersistentMessage classes declared with ``message()``."""
        return tuple(self._messages)

    def component_registrations(self) -> tuple[ComponentRef, ...]:
        """Items backed by a Python class (migration binds their class names)."""
        return tuple(ref for ref in self._items.values() if ref.component_class is not None)

    def adapter_registrations(self) -> tuple[ComponentRef, ...]:
        """Items with a Python adapter class."""
        return tuple(ref for ref in self._items.values() if ref.adapter_class is not None)

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


# update_component's item attributes, set as given.
_ITEM_FIELDS = ("kind", "category", "pool_size", "enabled", "foreground", "comment",
                "log_trace_events", "schedule")


def update_item(production: Production, ref: ComponentRef, changes: dict[str, Any]) -> ComponentRef:
    """Apply ``update_component``'s changes to one item; unknown fields are refused whole."""
    unknown = sorted(set(changes) - set(_ITEM_FIELDS) - {
        "component_class", "class_name", "adapter_class", "adapter_class_name", "settings",
        "host_settings", "adapter_settings", "other_settings", "target_settings"})
    if unknown:
        raise ValueError(f"Unsupported component update fields: {', '.join(unknown)}")
    for field_name in _ITEM_FIELDS:
        if field_name in changes:
            value = changes[field_name]
            if field_name == "pool_size":
                ref.pool(value)
            elif field_name in ("enabled", "foreground", "log_trace_events"):
                setattr(ref, field_name, flag(value))
            else:
                setattr(ref, field_name, value)
    if "component_class" in changes:
        ref.component_class = changes["component_class"]
        if "class_name" not in changes and ref.component_class is not None:
            ref.class_name = auto_class_name(ref.component_class)
    if "class_name" in changes:
        ref.class_name = changes["class_name"]
    if ref.class_name is None and ref.component_class is None:
        raise ValueError("component_class or class_name is required")
    if "adapter_class" in changes:
        set_adapter(ref, changes["adapter_class"])
    if changes.get("adapter_class_name"):
        ref.adapter_class_name = str(changes["adapter_class_name"])
    for key in ("settings", "host_settings"):
        ref.host_settings_update(changes.get(key) or {})
    ref.adapter_settings_update(changes.get("adapter_settings") or {})
    if "other_settings" in changes:
        ref.other_settings = []
        for entry in changes["other_settings"] or ():
            ref.other_setting(str(entry["@Target"]), str(entry["@Name"]), entry.get("#text"))
    for port_name in changes.get("target_settings") or ():
        ref.target_setting(str(port_name))
    production._apply_target_defaults(ref)
    return ref
