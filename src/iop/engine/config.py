"""Read a production definition (the IRIS export shape) into what the engine runs."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from iop.engine.errors import EngineError


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _bool(text: Any, default: bool) -> bool:
    if text is None or text == "":
        return default
    return str(text).strip().lower() in ("1", "true", "yes", "on")


@dataclass
class ItemConfig:
    """One configured business host."""

    name: str
    class_name: str
    pool_size: int = 1
    enabled: bool = True
    foreground: bool = False
    comment: str = ""
    category: str = ""
    schedule: str = ""
    host_settings: dict[str, str] = field(default_factory=dict)
    adapter_settings: dict[str, str] = field(default_factory=dict)
    code: str = ""  # fingerprint of the implementing source file, filled in by the supervisor
    kind: str = ""  # service, process or operation, filled in by the supervisor

    def signature(self) -> str:
        """Changes when anything that needs a job restart changes (settings or code)."""
        data = [self.class_name, self.pool_size, self.enabled, sorted(self.host_settings.items()),
                sorted(self.adapter_settings.items()), self.code]
        return hashlib.sha1(json.dumps(data).encode()).hexdigest()


@dataclass
class ProductionConfig:
    """A production as the engine runs it."""

    name: str
    testing_enabled: bool = False
    actor_pool_size: int = 1
    settings: dict[str, str] = field(default_factory=dict)
    items: list[ItemConfig] = field(default_factory=list)

    def item(self, name: str) -> ItemConfig | None:
        for item in self.items:
            if item.name == name:
                return item
        return None

    def setting(self, name: str, default: float) -> float:
        try:
            return float(self.settings.get(name, default))
        except ValueError:
            return default


def parse_production(definition: dict[str, Any]) -> ProductionConfig:
    """Turn the stored export shape into a ProductionConfig; raise EngineError if malformed."""
    if not isinstance(definition, dict) or not definition:
        raise EngineError("production definition must be an object")
    body = definition.get("Production")
    if body is None:
        body = next(iter(definition.values()))
    if not isinstance(body, dict):
        raise EngineError("production definition must be an object")
    name = body.get("@Name") or next(iter(definition.keys()))
    settings = {}
    for s in _as_list(body.get("Setting")):
        settings[str(s.get("@Name"))] = str(s.get("#text", ""))
    try:
        pool = int(body.get("ActorPoolSize") or 1)
    except ValueError as exc:
        raise EngineError(f"production {name}: ActorPoolSize is not a number") from exc
    config = ProductionConfig(
        name=name, testing_enabled=_bool(body.get("@TestingEnabled"), False),
        actor_pool_size=pool, settings=settings,
    )
    seen = set()
    for raw in _as_list(body.get("Item")):
        item_name = raw.get("@Name")
        class_name = raw.get("@ClassName") or item_name
        if not item_name:
            raise EngineError(f"production {name}: an item has no @Name")
        if item_name in seen:
            raise EngineError(f"production {name}: item {item_name} is defined twice")
        seen.add(item_name)
        try:
            pool_size = int(raw.get("@PoolSize") or 1)
        except ValueError as exc:
            raise EngineError(f"production {name}: item {item_name} has a non-numeric PoolSize") from exc
        item = ItemConfig(
            name=item_name, class_name=class_name, pool_size=pool_size,
            enabled=_bool(raw.get("@Enabled"), True), foreground=_bool(raw.get("@Foreground"), False),
            comment=raw.get("@Comment") or "", category=raw.get("@Category") or "",
            schedule=raw.get("@Schedule") or "",
        )
        for s in _as_list(raw.get("Setting")):
            target = s.get("@Target", "Host")
            bucket = item.adapter_settings if target == "Adapter" else item.host_settings
            bucket[str(s.get("@Name"))] = str(s.get("#text", ""))
        config.items.append(item)
    return config
