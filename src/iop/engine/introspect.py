"""What an item's settings are: metadata and current values, for the CLI, the API and the portal."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from iop.components import kinds
from iop.components.settings import describe_settings
from iop.engine import registry
from iop.engine.config import ItemConfig
from iop.store.base import Store


def _settings(cls: type | None, configured: dict[str, str], target: str) -> list[dict[str, Any]]:
    rows = []
    declared = set()
    for info in describe_settings(cls) if cls is not None else []:
        declared.add(info.name)
        row = asdict(info)
        row["section"] = info.section
        row["target"] = target
        row["value"] = configured.get(info.name)
        row["default"] = info.default if isinstance(info.default, (str, int, float, bool)) \
            or info.default is None else str(info.default)
        rows.append(row)
    for name, value in configured.items():
        if name not in declared:
            rows.append({"name": name, "python_type": "str", "default": None, "category": None,
                         "section": "Additional", "control": None, "required": False,
                         "description": "", "is_target": False, "target": target, "value": value})
    return rows


def item_settings(store: Store, item: ItemConfig) -> dict[str, Any]:
    """Host and adapter settings of ``item``: each with type, default, category, control,
    required flag, description and the configured value (None when left at the default)."""
    error = None
    cls = adapter_cls = None
    try:
        cls = registry.resolve(store, item.class_name)
        adapter_name = cls.get_adapter_type() if hasattr(cls, "get_adapter_type") else None
        if adapter_name:
            adapter_cls = registry.resolve(store, adapter_name)
    except Exception as exc:  # an unresolvable class still shows its configured values
        error = str(exc)
    return {
        "item": item.name,
        "class_name": item.class_name,
        "kind": kinds.kind_of(cls) if cls is not None else "component",
        "adapter_class_name": adapter_cls.__name__ if adapter_cls is not None else None,
        "host": _settings(cls, item.host_settings, "Host"),
        "adapter": _settings(adapter_cls, item.adapter_settings, "Adapter"),
        "error": error,
    }
