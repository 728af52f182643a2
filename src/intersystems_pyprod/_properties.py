"""IRISProperty (an item setting) and IRISParameter (a class constant, such as ADAPTER)."""

from __future__ import annotations

import copy
from typing import Any

from iop.components.settings import PortDeclaration, Setting

# pyprod datatypes (and the IRIS classes they stand for) → the setting's Python type name.
_DATATYPES = {
    "str": "str", "string": "str", "%string": "str", "%varstring": "str",
    "%library.string": "str",
    "int": "int", "integer": "int", "%integer": "int", "%library.integer": "int",
    "bool": "bool", "boolean": "bool", "%boolean": "bool", "%library.boolean": "bool",
    "num": "float", "float": "float", "numeric": "float", "%numeric": "float",
    "%float": "float", "%double": "float", "%decimal": "float", "%library.numeric": "float",
}
_MUTABLE = (list, dict, set, bytearray)


def python_type_of(datatype: Any) -> str | None:
    """The Python type name for a pyprod ``datatype`` (``"int"``, ``"%Integer"``, ``int``...)."""
    if datatype in (None, ""):
        return None
    if isinstance(datatype, type):
        datatype = datatype.__name__
    return _DATATYPES.get(str(datatype).strip().lower(), "str")


def parse_settings(settings: str | None) -> tuple[bool, str | None, str | None]:
    """``"category:control"`` → (shown, category, control); None and ``"-"`` are not shown."""
    if settings is None:
        return False, None, None
    text = ":".join(part.strip() for part in str(settings).split(":"))
    if text == "-":
        return False, None, None
    category, _, control = text.partition(":")
    return True, category or None, control or None


def _is_item_selector(control: str | None) -> bool:
    return bool(control) and "ProductionItems" in str(control)


def _fresh(value: Any) -> Any:
    # Each instance gets its own copy of a mutable default, as pyprod's instance variables do.
    return copy.deepcopy(value) if isinstance(value, _MUTABLE) else value


class IRISProperty(Setting):
    """An instance variable shown as an item setting: ``target = IRISProperty(settings="Basic")``.

    ``settings`` is ``"category:control"`` (either part may be empty); without it the property
    is a plain per-instance variable that the configuration does not show, and ``"-"`` hides a
    setting a base class declared. ``datatype`` (``"int"``, ``"bool"``, ``"num"``, ``"str"`` or
    an IRIS type such as ``"%Integer"``) converts configured text; without it the annotation or
    the default's type decides. A control naming the production-item selector makes the
    property a route port, as ``iop.target()`` does.
    """

    def __new__(cls, default: Any = None, datatype: Any = "", description: str = "",
                settings: str | None = None) -> Any:
        if cls is IRISProperty:
            shown, _, control = parse_settings(settings)
            if not shown:
                return InstanceProperty(default, datatype, description, settings)
            if _is_item_selector(control):
                cls = TargetProperty
        return super().__new__(cls)

    def __init__(self, default: Any = None, datatype: Any = "", description: str = "",
                 settings: str | None = None) -> None:
        _, category, control = parse_settings(settings)
        super().__init__(default, category=category, description=description or "",
                         control=control)
        self.datatype = datatype
        self.settings = settings
        self.python_type = python_type_of(datatype)

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        try:
            return instance.__dict__[self.name]
        except KeyError:
            value = instance.__dict__[self.name] = _fresh(self.default)
            return value


class TargetProperty(IRISProperty, PortDeclaration):
    """An IRISProperty whose control is the production-item selector: a route port."""


class InstanceProperty:
    """An IRISProperty without ``settings``: a per-instance variable, not an item setting."""

    def __init__(self, default: Any = None, datatype: Any = "", description: str = "",
                 settings: str | None = None) -> None:
        self.default = default
        self.datatype = datatype
        self.description = description
        self.settings = settings
        self.name: str | None = None

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        try:
            return instance.__dict__[self.name]
        except KeyError:
            value = instance.__dict__[self.name] = _fresh(self.default)
            return value

    def __set__(self, instance: Any, value: Any) -> None:
        instance.__dict__[self.name] = value

    def __repr__(self) -> str:
        return f"IRISProperty({self.name or '?'}, default={self.default!r}, not a setting)"


class IRISParameter:
    """A class constant: ``ADAPTER = IRISParameter("pkg.MyAdapter")`` names the host's adapter.

    On a running host ``self.ADAPTER`` is the adapter instance; any other parameter reads as
    its value. Parameters cannot be assigned on instances.
    """

    def __init__(self, value: Any, datatype: Any = "", description: str = "",
                 keyword_list: str = "") -> None:
        self.value = value
        self.datatype = datatype
        self.description = description
        self.keyword_list = keyword_list
        self.name: str | None = None

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        if self.name == "ADAPTER":
            # The engine attaches the adapter instance as `Adapter` when it starts the host.
            return instance.__dict__.get("Adapter")
        return self.value

    def __set__(self, instance: Any, value: Any) -> None:
        raise AttributeError(f"{self.name} is an IRISParameter (a class constant) and cannot be "
                             "assigned")

    def __repr__(self) -> str:
        return f"IRISParameter({self.value!r})"
