"""Declaring settings on a component class: ``Setting`` descriptors, ``setting()`` and
``target()``, the ``Category`` sections, and ``Annotated[T, Setting(...)]`` annotations turned
into class-level settings. Also the short type name of an annotation, which the description and
the value coercion read.
"""

from __future__ import annotations

import copy
import inspect
import sys
import typing
from typing import Annotated, Any, get_args, get_origin

from iop.components.settings.editor_controls import controls

_MISSING: Any = object()


class Category:
    """Common sections of the production settings UI; any other string names a custom section."""

    INFO = "Info"
    BASIC = "Basic"
    CONNECTION = "Connection"
    ADDITIONAL = "Additional"
    ALERTING = "Alerting"
    DEV = "Dev"


class Setting:
    """A production setting declared on a component class; a descriptor that yields its value."""

    def __init__(
        self,
        default: Any = None,
        *,
        category: str | None = None,
        required: bool = False,
        description: str = "",
        control: str | None = None,
    ) -> None:
        self.default = default
        self.category = None if category is None else str(category)
        self.required = required
        self.description = description
        self.control = control
        self.name: str | None = None
        self.owner: type | None = None
        self.python_type: str | None = None
        self._iop_from_annotation = False

    def __set_name__(self, owner: type, name: str) -> None:
        self.owner = owner
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return instance.__dict__.get(self.name, self.default)

    def __set__(self, instance: Any, value: Any) -> None:
        instance.__dict__[self.name] = value

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name or '?'}, default={self.default!r})"


class PortDeclaration(Setting):
    """An outbound target setting (a port): ``FileService.Output``; instances read the item name."""

    def __str__(self) -> str:
        owner = self.owner.__qualname__ if self.owner is not None else "?"
        return f"{owner}.{self.name}"


def setting(default: Any = None, **kwargs: Any) -> Setting:
    """Declare a setting with UI metadata: category, required, description, control."""
    return Setting(default, **kwargs)


def target(
    default: str = "",
    *,
    category: str | None = Category.BASIC,
    required: bool = False,
    description: str = "",
    multi_select: bool = False,
) -> PortDeclaration:
    """Declare a configurable outbound target; production routes connect it to items."""
    port = PortDeclaration(
        default,
        category=category,
        required=required,
        description=description,
        control=controls.production_item(multi_select=multi_select),
    )
    port.python_type = "str"
    return port


# -- annotations ---------------------------------------------------------------


def own_annotations(klass: type) -> dict[str, Any]:
    try:
        return dict(inspect.get_annotations(klass))
    except Exception:  # broken lazy annotations must not break class creation
        return {}


def _evaluate(klass: type, annotation: Any) -> Any:
    """Evaluate a string annotation (``from __future__ import annotations``) when it is cheap."""
    if not isinstance(annotation, str) or "Annotated" not in annotation:
        return annotation
    module = sys.modules.get(klass.__module__)
    namespace = {"Annotated": Annotated, "typing": typing, "Setting": Setting}
    namespace.update(vars(module) if module is not None else {})
    try:
        return eval(annotation, namespace, dict(vars(klass)))  # the user's own annotation
    except Exception:
        return annotation


def annotation_type_name(annotation: Any) -> str | None:
    """Short type name (``int``, ``str``, ...) of an annotation, ignoring Optional and Annotated."""
    if annotation is None:
        return None
    if isinstance(annotation, str):
        text = annotation.strip().removeprefix("typing.")
        if text.startswith(("Annotated[", "ClassVar[")):
            return None
        if text.startswith("Optional[") and text.endswith("]"):
            return annotation_type_name(text[len("Optional[") : -1])
        parts = [p.strip() for p in text.split("|") if p.strip() != "None"]
        return parts[0] if len(parts) == 1 else "str"
    origin = get_origin(annotation)
    if origin is Annotated or origin is typing.ClassVar:
        return annotation_type_name(get_args(annotation)[0])
    if origin is typing.Union or type(annotation).__name__ == "UnionType":
        args = [a for a in get_args(annotation) if a is not type(None)]
        return annotation_type_name(args[0]) if len(args) == 1 else "str"
    if origin is typing.Literal:
        return type(get_args(annotation)[0]).__name__
    if origin is not None:
        return getattr(origin, "__name__", str(origin))
    return getattr(annotation, "__name__", str(annotation))


def type_of_default(value: Any) -> str:
    return "str" if value is None else type(value).__name__


def install_annotated_defaults(cls: type) -> None:
    """Turn ``Name: Annotated[T, Setting(...)]`` declared on ``cls`` into class-level settings."""
    for name, raw in own_annotations(cls).items():
        annotation = _evaluate(cls, raw)
        if get_origin(annotation) is not Annotated:
            continue
        found = [m for m in annotation.__metadata__ if isinstance(m, Setting)]
        if not found:
            continue
        existing = cls.__dict__.get(name, _MISSING)
        if isinstance(existing, Setting):
            existing.python_type = existing.python_type or annotation_type_name(annotation)
            continue
        declared = copy.copy(found[-1])  # one Setting object may annotate several classes
        declared.python_type = declared.python_type or annotation_type_name(annotation)
        if existing is _MISSING:
            declared._iop_from_annotation = True
        else:
            declared.default = existing
        setattr(cls, name, declared)
        declared.__set_name__(cls, name)
