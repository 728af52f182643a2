"""What a component class declares: its settings in declaration order (``describe_settings``)
as ``SettingInfo`` records, which the portal, validation and the engine read.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Mapping
from typing import Any

from iop.components.settings.declaration import (
    PortDeclaration,
    Setting,
    annotation_type_name,
    own_annotations,
    type_of_default,
)

# Section shown for settings declared without a category.
PYTHON_ATTRIBUTES = "Python Attributes"

# Public-looking class attributes that configure the framework rather than the item.
EXCLUDED_NAMES = frozenset({"DISPATCH", "ADAPTER", "Adapter", "adapter", "business_host",
                            "MessageMap", "iris_package_name"})

_FRAMEWORK_MODULES = ("iop", "intersystems_pyprod")
_MISSING: Any = object()


@dataclasses.dataclass(frozen=True)
class SettingInfo:
    """What the portal, validation and the engine need to know about one setting."""

    name: str
    python_type: str
    default: Any
    category: str | None
    control: str | None
    required: bool
    description: str
    is_target: bool

    @property
    def section(self) -> str:
        """The settings section it is shown in."""
        return self.category if self.category is not None else PYTHON_ATTRIBUTES


def _is_framework(klass: type) -> bool:
    module = getattr(klass, "__module__", "") or ""
    if module in ("builtins", "typing", "abc"):
        return True
    return any(module == root or module.startswith(root + ".") for root in _FRAMEWORK_MODULES)


def is_behaviour(value: Any) -> bool:
    """True for methods, descriptors, classes and modules: never settings."""
    if isinstance(value, Setting):
        return False
    if callable(value) or inspect.ismodule(value):
        return True
    return hasattr(type(value), "__get__")


def _declaration_order(klass: type, annotations: Mapping[str, Any]) -> list[str]:
    """The class body order; an annotation-only setting goes just before the next annotated
    attribute that has a value (the exact place among unannotated attributes is not recorded).
    """
    namespace = klass.__dict__
    installed = {
        n for n, v in namespace.items()
        if isinstance(v, Setting) and v._iop_from_annotation and v.owner is klass
    }
    body = [n for n in namespace if n not in installed]
    order: list[str] = []
    pending: list[str] = []
    position = 0
    for name in annotations:
        if name in installed:
            pending.append(name)
        elif name in namespace and name in body[position:]:
            stop = body.index(name, position)
            order.extend(body[position:stop])
            order.extend(pending)
            order.append(name)
            pending, position = [], stop + 1
    order.extend(body[position:])
    order.extend(pending)
    return order


def _info(name: str, value: Any, annotation: Any) -> SettingInfo:
    if isinstance(value, Setting):
        python_type = value.python_type or annotation_type_name(annotation) or type_of_default(value.default)
        return SettingInfo(
            name, python_type, value.default, value.category, value.control,
            value.required, value.description, isinstance(value, PortDeclaration),
        )
    python_type = annotation_type_name(annotation) or type_of_default(value)
    return SettingInfo(name, python_type, value, None, None, False, "", False)


def describe_settings(cls: type) -> list[SettingInfo]:
    """The settings of a component class in declaration order, base classes first."""
    found: dict[str, SettingInfo] = {}
    for klass in reversed(cls.__mro__):
        if klass is object:
            continue
        framework = _is_framework(klass)
        annotations = own_annotations(klass)
        for name in _declaration_order(klass, annotations):
            value = klass.__dict__[name]
            if isinstance(value, Setting):
                found[name] = _info(name, value, annotations.get(name))
            elif framework or name.startswith("_") or name in EXCLUDED_NAMES:
                continue
            elif is_behaviour(value):
                found.pop(name, None)  # a subclass replaced the setting with behaviour
            else:
                found[name] = _info(name, value, annotations.get(name))
    return list(found.values())


def attribute_info(cls: type, name: str) -> SettingInfo | None:
    """Info for a plain attribute that is not a listed setting (framework attributes)."""
    value = inspect.getattr_static(cls, name, _MISSING)
    if value is _MISSING or name.startswith("_") or is_behaviour(value):
        return None
    annotation = None
    for klass in cls.__mro__:
        annotation = own_annotations(klass).get(name)
        if annotation is not None:
            break
    return _info(name, value, annotation)
