"""ComponentRef: one production item as authored, with fluent setters and named ports."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from iop.components.settings import PortDeclaration, Setting, describe_settings
from iop.production.errors import ProductionError
from iop.production.ports import (
    ROUTE_SETTING_NAMES,
    Port,
    item_name_of,
    join_targets,
    normalize_port_name,
    split_targets,
)
from iop.production.values import flag, setting_text

if TYPE_CHECKING:
    from iop.production.production import Production

__all__ = ["ADAPTER", "HOST", "ComponentRef", "connection_mode", "setting_key"]

HOST = "Host"
ADAPTER = "Adapter"


class ComponentRef:
    """A Python handle to one production item (not the live host); setters return ``self``."""

    def __init__(
        self,
        name: str,
        class_name: str,
        *,
        component_class: type | None = None,
        kind: str = "component",
        pool_size: int = 1,
        enabled: bool = True,
        foreground: bool = False,
        comment: str = "",
        category: str = "",
        log_trace_events: bool = False,
        schedule: str = "",
        adapter_class: type | None = None,
        adapter_class_name: str | None = None,
        production: Production | None = None,
    ) -> None:
        self.name = name
        self.class_name = class_name
        self.component_class = component_class
        self.kind = kind
        self.pool_size = pool_size
        self.enabled = enabled
        self.foreground = foreground
        self.comment = comment
        self.category = category
        self.log_trace_events = log_trace_events
        self.schedule = schedule
        self.adapter_class = adapter_class
        self.adapter_class_name = adapter_class_name
        self.host_settings: dict[str, str] = {}
        self.adapter_settings: dict[str, str] = {}
        # The values as the author gave them (10, True...), for Python drafts that write them
        # back as given; the settings above hold the text IRIS stores.
        self._given: dict[tuple[str, str], Any] = {}
        # Data attached by a runtime reconstruction (queue, status), as IoP keeps it.
        self.runtime_metadata: dict[str, Any] = {}
        # Settings aimed at neither the host nor its adapter: (target, name, value).
        self.other_settings: list[tuple[str, str, str]] = []
        self.production = production
        self._ports: list[str] = []
        # Item attributes read from an export that this model does not know; written back as is.
        self._extra: dict[str, Any] = {}

    # -- item attributes ---------------------------------------------------------
    def pool(self, size: int) -> ComponentRef:
        """Set the pool size (0 uses the production's shared actor pool)."""
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ProductionError(f"item {self.name}: pool size must be an integer >= 0, not {size!r}")
        self.pool_size = size
        return self

    def enable(self, enabled: bool | str = True) -> ComponentRef:
        """Mark the item enabled."""
        self.enabled = flag(enabled)
        return self

    def disable(self) -> ComponentRef:
        """Mark the item disabled: it is configured but not started."""
        self.enabled = False
        return self

    def run_foreground(self, enabled: bool | str = True) -> ComponentRef:
        """Run the item's jobs in the foreground."""
        self.foreground = flag(enabled)
        return self

    def trace(self, enabled: bool | str = True) -> ComponentRef:
        """Log trace events for this item."""
        self.log_trace_events = flag(enabled)
        return self

    def schedule_on(self, schedule: str) -> ComponentRef:
        """Set the item's schedule specification."""
        self.schedule = schedule
        return self

    def comment_as(self, text: str) -> ComponentRef:
        """Set the item's comment."""
        self.comment = text
        return self

    def category_as(self, category: str) -> ComponentRef:
        """Set the item's category (a comma-separated list of labels)."""
        self.category = category
        return self

    # -- settings --------------------------------------------------------------------
    def host_setting(self, name: str, value: Any) -> ComponentRef:
        """Set one Host setting; the value is stored as text, as IRIS stores it. None removes
        the setting (``""`` keeps it, empty)."""
        name = normalize_port_name(setting_key(name))
        _update(self.host_settings, name, value)
        self._remember_given(HOST, name, value)
        return self

    def host_settings_update(self, settings: Mapping[str, Any]) -> ComponentRef:
        """Set several Host settings."""
        for name, value in settings.items():
            self.host_setting(name, value)
        return self

    setting = host_setting
    settings_update = host_settings_update

    def adapter_setting(self, name: str, value: Any) -> ComponentRef:
        """Set one Adapter setting; keys are kept exactly as given. None removes it."""
        name = setting_key(name)
        _update(self.adapter_settings, name, value)
        self._remember_given(ADAPTER, name, value)
        return self

    def set_host_setting(self, name: str, value: Any) -> None:
        """Set one Host setting (IoP's non-fluent spelling)."""
        self.host_setting(name, value)

    def _remember_given(self, target: str, name: str, value: Any) -> None:
        if value is None:
            self._given.pop((target, name), None)
        else:
            self._given[(target, name)] = value

    def given_value(self, target: str, name: str) -> Any:
        """A setting's value as the author gave it, or its stored text when set otherwise."""
        settings = self.host_settings if target == HOST else self.adapter_settings
        text = settings[name]
        given = self._given.get((target, name), text)
        return given if setting_text(given) == text else text

    def adapter_settings_update(self, settings: Mapping[str, Any]) -> ComponentRef:
        """Set several Adapter settings."""
        for name, value in settings.items():
            self.adapter_setting(name, value)
        return self

    def other_setting(self, target: str, name: str, value: Any) -> ComponentRef:
        """Set a setting with an explicit ``@Target`` (``Host``, ``Adapter`` or another); None
        removes it."""
        if target == HOST:
            return self.host_setting(name, value)
        if target == ADAPTER:
            return self.adapter_setting(name, value)
        entries = [e for e in self.other_settings if (e[0], e[1]) != (target, name)]
        if value is not None:
            entries.append((target, name, setting_text(value)))
        self.other_settings = entries
        return self

    # -- ports and routes ----------------------------------------------------------
    def declared_targets(self) -> dict[str, Any]:
        """Target settings declared with ``target()`` by the Python class: name -> default."""
        if self.component_class is None:
            return {}
        return {i.name: i.default for i in describe_settings(self.component_class) if i.is_target}

    def declared_target_default(self, name: str) -> str:
        """Default value of a declared target setting, or empty text."""
        return setting_text(self.declared_targets().get(name))

    def port(self, name: str | PortDeclaration | Port) -> Port:
        """The bound port ``Item.Port`` for a setting name (aliases such as target_config_names ok)."""
        return Port(self, self._port_name(name))

    def route_ports(self) -> list[str]:
        """Names of this item's target settings: declared, connected, and IRIS's well-known ones."""
        names = list(self.declared_targets())
        names += [n for n in self._ports if n not in names]
        names += [n for n in self.host_settings if n in ROUTE_SETTING_NAMES and n not in names]
        return names

    def target_setting(self, name: str) -> Port:
        """The bound port ``Item.<name>``, remembered as one of this item's target settings."""
        port_name = self._port_name(name)
        self._remember_port(port_name)
        return Port(self, port_name)

    @property
    def target_setting_names(self) -> set[str]:
        """Names of this item's target settings (declared, connected or named)."""
        return set(self.route_ports())

    def connect(self, port: str | PortDeclaration | Port, component: Any = None,
                *, mode: str = "replace") -> ComponentRef:
        """Point ``port`` at one item (a ComponentRef, item declaration or item name);
        ``mode="add"`` adds a fan-out target, ``mode="remove"`` removes one (or all)."""
        chosen = connection_mode(mode)
        if chosen == "add":
            return self.connect_add(port, _required_target(component))
        if chosen == "remove":
            self._disconnect(self._port_name(port), component)
            return self
        name = self._port_name(port)
        self.host_settings[name] = item_name_of(_required_target(component))
        self._given.pop((HOST, name), None)
        self._remember_port(name)
        return self

    def _disconnect(self, name: str, component: Any = None) -> None:
        path = f"{self.name}.{name}"
        targets = split_targets(self.host_settings.get(name))
        if component is None:
            if not targets:
                raise ProductionError(f"Production target setting is not connected: {path}")
            self.host_settings.pop(name, None)
        else:
            target = item_name_of(component)
            if target not in targets:
                raise ProductionError(
                    f"Production target setting is not connected: {path} -> {target}")
            remaining = [t for t in targets if t != target]
            if remaining:
                self.host_settings[name] = join_targets(remaining)
            else:
                self.host_settings.pop(name, None)
        self._given.pop((HOST, name), None)

    def connect_add(self, port: str | PortDeclaration | Port, component: Any) -> ComponentRef:
        """Add one more target to ``port`` (fan-out), keeping the ones already configured."""
        name = self._port_name(port)
        targets = split_targets(self.host_settings.get(name))
        target = item_name_of(component)
        if target not in targets:
            targets.append(target)
        self.host_settings[name] = join_targets(targets)
        self._given.pop((HOST, name), None)
        self._remember_port(name)
        return self

    def _remember_port(self, name: str) -> None:
        if name not in self._ports:
            self._ports.append(name)

    def _port_name(self, port: str | PortDeclaration | Port) -> str:
        if isinstance(port, Port):
            if port.component is not self and port.component.name != self.name:
                raise ProductionError(f"port {port} does not belong to item {self.name}")
            return port.name
        if isinstance(port, PortDeclaration):
            owner, cls = port.owner, self.component_class
            if owner is not None and (cls is None or not issubclass(cls, owner)):
                where = f"{cls.__module__}.{cls.__qualname__}" if cls else self.class_name
                raise ProductionError(f"target setting {port.name!r} belongs to "
                                      f"{owner.__module__}.{owner.__qualname__}, not {where}")
            return normalize_port_name(port.name or "")
        if isinstance(port, str) and port:
            return normalize_port_name(port)
        raise TypeError(f"expected a port name, Port or target() declaration, not {port!r}")

    # -- runtime (through the production this item belongs to) -------------------------
    def _owner(self) -> Production:
        if self.production is None:
            raise ProductionError(f"item {self.name} belongs to no production")
        return self.production

    def inspect(self, *, refresh: bool = True) -> dict[str, Any]:
        """Settings, routes and (with ``refresh``) runtime status and queue of this item."""
        return self._owner().inspect_component(self, refresh=refresh)

    def to_dict(self) -> dict[str, Any]:
        """This item's ``Item`` entry in the IRIS export shape."""
        from iop.production.export_shape import item_to_dict

        return item_to_dict(self)

    def start(self) -> None:
        """Enable this item; its jobs start if its production runs."""
        self._owner().start_component(self)

    def stop(self) -> None:
        """Disable this item; its jobs stop if its production runs."""
        self._owner().stop_component(self)

    def restart(self) -> None:
        """Restart this item's jobs."""
        self._owner().restart_component(self)

    def test(self, message: Any = None, *, classname: str | None = None,
             body: Any = None) -> Any:
        """Send one message to this item and return the answer."""
        return self._owner().test_component(self, message=message, classname=classname,
                                            body=body)

    def __getattr__(self, name: str) -> Port:
        # Only reached for names that are not attributes: declared or connected ports.
        if name.startswith("_") or "component_class" not in self.__dict__:
            raise AttributeError(name)
        if name in self.__dict__.get("_ports", ()) or name in self.declared_targets():
            return Port(self, name)
        raise AttributeError(
            f"item {self.__dict__.get('name')!r} has no attribute or port {name!r}; "
            f"use .port({name!r}) for a port its class does not declare"
        )

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self.route_ports()))

    def __repr__(self) -> str:
        return f"ComponentRef({self.name!r}, class_name={self.class_name!r}, kind={self.kind!r})"


def _update(settings: dict[str, str], name: str, value: Any) -> None:
    # None unsets, as in IoP's settings updates; any other value is stored as text.
    if value is None:
        settings.pop(name, None)
    else:
        settings[name] = setting_text(value)


def setting_key(name: Any) -> str:
    """A setting's name, also when given as a declared setting (``MyClass.Limit``)."""
    if isinstance(name, Setting) and name.name:
        return name.name
    return str(name)


def connection_mode(mode: str) -> str:
    """``replace``, ``add`` or ``remove`` (IoP also accepts set, append, delete, disconnect)."""
    chosen = {"replace": "replace", "set": "replace", "add": "add", "append": "add",
              "remove": "remove", "delete": "remove", "disconnect": "remove"}.get(
        str(mode or "").strip().lower())
    if chosen is None:
        raise ValueError(f"Unsupported connection mode: {mode!r}. "
                         "Expected 'replace', 'add', or 'remove'.")
    return chosen


def _required_target(component: Any) -> Any:
    if component is None:
        raise ValueError("target_component is required unless mode='remove'")
    return component
