"""Value coercion: setting values configured as text, coerced to the declared type and applied
to a component instance; and the required settings left without a value.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from typing import Any

from iop.components.settings.declaration import Setting, annotation_type_name, type_of_default
from iop.components.settings.description import (
    SettingInfo,
    attribute_info,
    describe_settings,
    is_behaviour,
)

_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_MISSING: Any = object()


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
        type_name = info_or_type.python_type or type_of_default(default)
    elif isinstance(info_or_type, type):
        type_name = info_or_type.__name__
    else:
        type_name = annotation_type_name(info_or_type) or "str"
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
    info = declared.get(name) or attribute_info(cls, name)
    if info is not None:
        setattr(instance, name, coerce_setting_value(info, value))
        return True
    existing = inspect.getattr_static(cls, name, _MISSING)
    if existing is not _MISSING and is_behaviour(existing):
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
