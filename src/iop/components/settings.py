"""Component settings: how class attributes become production settings, and how values apply.

Pure metadata and conversion; nothing here touches the store or the engine.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import json
import sys
import typing
from collections.abc import Mapping
from typing import Annotated, Any, get_args, get_origin

__all__ = [
    "EXCLUDED_NAMES",
    "PYTHON_ATTRIBUTES",
    "Category",
    "PortDeclaration",
    "Setting",
    "SettingInfo",
    "apply_settings",
    "coerce_setting_value",
    "controls",
    "describe_settings",
    "install_annotated_defaults",
    "missing_required",
    "setting",
    "target",
]

# Section shown for settings declared without a category.
PYTHON_ATTRIBUTES = "Python Attributes"

# Public-looking class attributes that configure the framework rather than the item.
EXCLUDED_NAMES = frozenset({"DISPATCH", "ADAPTER", "Adapter", "adapter", "business_host",
                            "MessageMap", "iris_package_name"})

_FRAMEWORK_MODULES = ("iop", "intersystems_pyprod")
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_MISSING: Any = object()


class Category:
    """Common sections of the production settings UI; any other string names a custom section."""

    INFO = "Info"
    BASIC = "Basic"
    CONNECTION = "Connection"
    ADDITIONAL = "Additional"
    ALERTING = "Alerting"
    DEV = "Dev"


def _selector(context: str) -> str:
    return "selector?context={" + context + "}"


class _Controls:
    """Editor context strings that tell the portal which picker to show for a setting."""

    @staticmethod
    def directory() -> str:
        """Directory picker."""
        return "directorySelector"

    @staticmethod
    def file() -> str:
        """File picker."""
        return "fileSelector"

    @staticmethod
    def production_item(
        targets: bool = True, production_name: str = "@productionId", multi_select: bool = False
    ) -> str:
        """Picker of the production's items, for target settings such as TargetConfigNames."""
        context = _selector(
            f"Ens.ContextSearch/ProductionItems?targets={int(bool(targets))}"
            f"&productionName={production_name}"
        )
        if multi_select:
            # IRIS's own classes put multiSelect before the context: selector?multiSelect=1&...
            return context.replace("selector?", "selector?multiSelect=1&", 1)
        return context

    @staticmethod
    def credentials() -> str:
        """Credentials picker."""
        return "credentialsSelector"

    @staticmethod
    def rule() -> str:
        """Rule definition picker."""
        return "ruleSelector"

    @staticmethod
    def dtl() -> str:
        """Data transformation picker."""
        return "dtlSelector"

    @staticmethod
    def schedule() -> str:
        """Schedule picker."""
        return "scheduleSelector"

    @staticmethod
    def ssl_config() -> str:
        """SSL/TLS configuration picker."""
        return "sslConfigSelector"

    @staticmethod
    def framing(host: str = "@currHostId", prop: str = "Framing") -> str:
        """Display list of the ``prop`` property of ``host``."""
        return _selector(f"Ens.ContextSearch/getDisplayList?host={host}&prop={prop}")

    @staticmethod
    def character_set() -> str:
        """Character set picker."""
        return _selector("Ens.ContextSearch/CharacterSets")

    @staticmethod
    def local_interface() -> str:
        """Picker of the configured TCP local interfaces."""
        return _selector("Ens.ContextSearch/TCPLocalInterfaces")

    @staticmethod
    def schema_category(host: str) -> str:
        """Schema categories of ``host`` (a host expression such as ``@currHostId``)."""
        return _selector(f"Ens.ContextSearch/SchemaCategories?host={host}")

    @staticmethod
    def search_table(host: str) -> str:
        """Search table classes of ``host``."""
        return _selector(f"Ens.ContextSearch/SearchTableClasses?host={host}")

    @staticmethod
    def raw(context: str) -> str:
        """Any editor context string, unchanged."""
        return context


controls = _Controls()


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


# -- annotations ---------------------------------------------------------------


def _own_annotations(klass: type) -> dict[str, Any]:
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


def _type_name(annotation: Any) -> str | None:
    """Short type name (``int``, ``str``, ...) of an annotation, ignoring Optional and Annotated."""
    if annotation is None:
        return None
    if isinstance(annotation, str):
        text = annotation.strip().removeprefix("typing.")
        if text.startswith(("Annotated[", "ClassVar[")):
            return None
        if text.startswith("Optional[") and text.endswith("]"):
            return _type_name(text[len("Optional[") : -1])
        parts = [p.strip() for p in text.split("|") if p.strip() != "None"]
        return parts[0] if len(parts) == 1 else "str"
    origin = get_origin(annotation)
    if origin is Annotated or origin is typing.ClassVar:
        return _type_name(get_args(annotation)[0])
    if origin is typing.Union or type(annotation).__name__ == "UnionType":
        args = [a for a in get_args(annotation) if a is not type(None)]
        return _type_name(args[0]) if len(args) == 1 else "str"
    if origin is typing.Literal:
        return type(get_args(annotation)[0]).__name__
    if origin is not None:
        return getattr(origin, "__name__", str(origin))
    return getattr(annotation, "__name__", str(annotation))


def _type_of_default(value: Any) -> str:
    return "str" if value is None else type(value).__name__


def install_annotated_defaults(cls: type) -> None:
    """Turn ``Name: Annotated[T, Setting(...)]`` declared on ``cls`` into class-level settings."""
    for name, raw in _own_annotations(cls).items():
        annotation = _evaluate(cls, raw)
        if get_origin(annotation) is not Annotated:
            continue
        found = [m for m in annotation.__metadata__ if isinstance(m, Setting)]
        if not found:
            continue
        existing = cls.__dict__.get(name, _MISSING)
        if isinstance(existing, Setting):
            existing.python_type = existing.python_type or _type_name(annotation)
            continue
        declared = copy.copy(found[-1])  # one Setting object may annotate several classes
        declared.python_type = declared.python_type or _type_name(annotation)
        if existing is _MISSING:
            declared._iop_from_annotation = True
        else:
            declared.default = existing
        setattr(cls, name, declared)
        declared.__set_name__(cls, name)


# -- description -----------------------------------------------------------------


def _is_framework(klass: type) -> bool:
    module = getattr(klass, "__module__", "") or ""
    if module in ("builtins", "typing", "abc"):
        return True
    return any(module == root or module.startswith(root + ".") for root in _FRAMEWORK_MODULES)


def _is_behaviour(value: Any) -> bool:
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
        python_type = value.python_type or _type_name(annotation) or _type_of_default(value.default)
        return SettingInfo(
            name, python_type, value.default, value.category, value.control,
            value.required, value.description, isinstance(value, PortDeclaration),
        )
    python_type = _type_name(annotation) or _type_of_default(value)
    return SettingInfo(name, python_type, value, None, None, False, "", False)


def describe_settings(cls: type) -> list[SettingInfo]:
    """The settings of a component class in declaration order, base classes first."""
    found: dict[str, SettingInfo] = {}
    for klass in reversed(cls.__mro__):
        if klass is object:
            continue
        framework = _is_framework(klass)
        annotations = _own_annotations(klass)
        for name in _declaration_order(klass, annotations):
            value = klass.__dict__[name]
            if isinstance(value, Setting):
                found[name] = _info(name, value, annotations.get(name))
            elif framework or name.startswith("_") or name in EXCLUDED_NAMES:
                continue
            elif _is_behaviour(value):
                found.pop(name, None)  # a subclass replaced the setting with behaviour
            else:
                found[name] = _info(name, value, annotations.get(name))
    return list(found.values())


def _attribute_info(cls: type, name: str) -> SettingInfo | None:
    """Info for a plain attribute that is not a listed setting (framework attributes)."""
    value = inspect.getattr_static(cls, name, _MISSING)
    if value is _MISSING or name.startswith("_") or _is_behaviour(value):
        return None
    annotation = None
    for klass in cls.__mro__:
        annotation = _own_annotations(klass).get(name)
        if annotation is not None:
            break
    return _info(name, value, annotation)


# -- values ----------------------------------------------------------------------


def coerce_setting_value(info_or_type: Any, text: Any, *, name: str | None = None) -> Any:
    """Convert a setting value received as text to the declared type; ValueError if it can't.

    ``info_or_type`` is a SettingInfo, a Setting, a type or a type name. Empty text gives the
    declared default for non-string types.
    """
    default: Any = None
    if isinstance(info_or_type, SettingInfo):
        name = name or info_or_type.name
        type_name, default = info_or_type.python_type, info_or_type.default
    elif isinstance(info_or_type, Setting):
        name = name or info_or_type.name
        default = info_or_type.default
        type_name = info_or_type.python_type or _type_of_default(default)
    elif isinstance(info_or_type, type):
        type_name = info_or_type.__name__
    else:
        type_name = _type_name(info_or_type) or "str"
    if not isinstance(text, str):
        text = str(text)
    if type_name in ("str", "Any", "object") or type_name not in _PARSERS:
        return text
    if text.strip() == "":
        return default
    try:
        return _PARSERS[type_name](text.strip())
    except (ValueError, TypeError):
        label = f"setting {name!r}" if name else "setting value"
        raise ValueError(f"{label}: {text!r} is not a valid {type_name}") from None


def _parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(text)


def _parse_json(kind: type) -> Any:
    def parse(text: str) -> Any:
        value = json.loads(text)
        if not isinstance(value, kind):
            raise ValueError(text)
        return value
    return parse


_PARSERS: dict[str, Any] = {
    "bool": _parse_bool,
    "int": lambda text: int(text, 10),
    "float": float,
    "list": _parse_json(list),
    "dict": _parse_json(dict),
}


def _parse_percent_settings(text: str) -> list[tuple[str, str]]:
    """Parse the ``%settings`` host setting: one ``name=value`` per line."""
    pairs = []
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            pairs.append((key.strip(), value))
    return pairs


def apply_settings(instance: Any, host_settings: Mapping[str, Any]) -> list[str]:
    """Set configured settings on a component instance; return the names it does not declare.

    Declared settings are coerced to their type; other names become plain string attributes.
    The ``%settings`` entry holds ``name=value`` lines, applied the same way but never reported.
    """
    cls = type(instance)
    declared = {info.name: info for info in describe_settings(cls)}
    undeclared: list[str] = []
    for name, value in host_settings.items():
        if name == "%settings":
            for key, extra in _parse_percent_settings(str(value or "")):
                _apply_one(instance, cls, declared, key, extra)
        elif not _apply_one(instance, cls, declared, name, value):
            undeclared.append(name)
    return undeclared


def _apply_one(
    instance: Any, cls: type, declared: Mapping[str, SettingInfo], name: str, value: Any
) -> bool:
    info = declared.get(name) or _attribute_info(cls, name)
    if info is not None:
        setattr(instance, name, coerce_setting_value(info, value))
        return True
    existing = inspect.getattr_static(cls, name, _MISSING)
    if existing is not _MISSING and _is_behaviour(existing):
        raise ValueError(f"setting {name!r} would replace {cls.__qualname__}.{name}")
    setattr(instance, name, value if isinstance(value, str) else str(value))
    return False


def missing_required(cls: type, host_settings: Mapping[str, Any]) -> list[str]:
    """Required settings that have neither a configured value nor a non-empty default."""
    missing = []
    for info in describe_settings(cls):
        if not info.required:
            continue
        configured = host_settings.get(info.name)
        if configured not in (None, "") or info.default not in (None, ""):
            continue
        missing.append(info.name)
    return missing
