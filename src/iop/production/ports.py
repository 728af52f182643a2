"""Ports: the outbound target settings of an item, named ``Item.Port``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from iop.components.settings import Setting

if TYPE_CHECKING:
    from iop.production.component import ComponentRef

__all__ = [
    "ROUTE_ALIASES",
    "ROUTE_SETTING_NAMES",
    "Port",
    "TargetSettingRef",
    "item_name_of",
    "join_targets",
    "normalize_port_name",
    "split_targets",
]

# Python-style spellings accepted for IRIS's own target settings.
ROUTE_ALIASES = {
    "target_config_names": "TargetConfigNames",
    "target_config_name": "TargetConfigName",
}

# Host settings that IRIS classes use as targets; they are routes even without a declaration.
ROUTE_SETTING_NAMES = frozenset({"TargetConfigNames", "TargetConfigName"})


def normalize_port_name(name: str) -> str:
    """The IRIS setting name of a port; only known aliases are rewritten."""
    return ROUTE_ALIASES.get(name, name)


def split_targets(value: str | None) -> list[str]:
    """Item names of a comma-separated target setting value."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def join_targets(names: Iterable[str]) -> str:
    """The comma-separated setting value for several targets (fan-out)."""
    return ",".join(names)


def item_name_of(item: Any) -> str:
    """The item name designated by a string, a ComponentRef or an item declaration."""
    if isinstance(item, str):
        return item
    name = getattr(item, "name", None)
    if isinstance(name, str) and not isinstance(item, (Port, Setting, type)):
        return name
    raise TypeError(f"expected an item name, ComponentRef or item declaration, not {item!r}")


class Port:
    """One target setting of one item; ``str(port)`` is its stable identity ``Item.Port``."""

    __slots__ = ("component", "name")

    def __init__(self, component: ComponentRef, name: str) -> None:
        self.component = component
        self.name = normalize_port_name(name)

    @property
    def item_name(self) -> str:
        """Name of the item the port belongs to."""
        return self.component.name

    @property
    def production(self) -> Any:
        """The production the port's item belongs to (None for a detached item)."""
        return self.component.production

    @property
    def path(self) -> str:
        """The port's stable identity, ``Item.Port``."""
        return f"{self.component.name}.{self.name}"

    def resolve(self) -> str:
        """The one item this port sends to; a ValueError names the port when it is not
        connected or sends to several items (fan-out)."""
        targets = self.targets()
        if not targets:
            raise ValueError(f"Production target setting is not connected: {self.path}")
        if len(targets) > 1:
            listed = ", ".join(repr(target) for target in targets)
            raise ValueError(f"Production target setting is ambiguous: {self.path} resolves "
                             f"to multiple targets ({listed})")
        return targets[0]

    def configured(self) -> str:
        """The configured target text (comma-joined for fan-out). A class's ``target("X")``
        default counts once the production has written it into the item's settings."""
        return str(self.component.host_settings.get(self.name) or "")

    def targets(self) -> list[str]:
        """Item names the port currently sends to."""
        return split_targets(self.configured())

    def __str__(self) -> str:
        return self.path

    def __repr__(self) -> str:
        return f"Port({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Port):
            return NotImplemented
        return (self.component.name, self.name) == (other.component.name, other.name)

    def __hash__(self) -> int:
        return hash((self.component.name, self.name))


# IoP's name for a bound port: the same object.
TargetSettingRef = Port
