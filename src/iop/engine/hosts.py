"""Make a live business host from an item: allocate with __new__, apply settings, attach runtime."""

from __future__ import annotations

from typing import Any

from iop.components import kinds
from iop.components import settings as host_settings
from iop.engine import registry
from iop.engine.config import ItemConfig
from iop.engine.errors import EngineError
from iop.engine.host_runtime import HostRuntime
from iop.engine.outcomes.reply_code_actions import BadReplyCodeActions, ReplyCodeActions
from iop.messages.dispatch import DispatchTable, build_dispatch_table
from iop.store.base import Store


class LiveHost:
    """A host instance with its adapter, dispatch table and runtime."""

    def __init__(self, item: ItemConfig, host: Any, adapter: Any, runtime: HostRuntime,
                 dispatch: DispatchTable) -> None:
        self.item = item
        self.host = host
        self.adapter = adapter
        self.runtime = runtime
        self.dispatch = dispatch
        self.kind = kinds.kind_of(type(host))


def _apply(instance: Any, values: dict[str, str], what: str, runtime: HostRuntime) -> None:
    try:
        undeclared = host_settings.apply_settings(instance, values)
    except ValueError as exc:
        raise EngineError(f"item {runtime.item}: {what} {exc}") from exc
    for name in undeclared:
        if not name.startswith("%"):
            runtime.log(instance, "trace", f"{what} setting {name} is not declared by "
                        f"{type(instance).__name__}; set as text", "on_init")


def check_item(store: Store, item: ItemConfig) -> Any:
    """Resolve the item's class and check what can be checked before starting it."""
    cls: Any = registry.resolve(store, item.class_name)
    if kinds.kind_of(cls) not in kinds.HOST_KINDS:
        raise EngineError(f"item {item.name}: class {item.class_name} is not a business service, "
                          "process or operation")
    missing = host_settings.missing_required(cls, item.host_settings)
    if missing:
        raise EngineError(f"item {item.name}: required setting {missing[0]} has no value")
    if kinds.kind_of(cls) == kinds.OPERATION:
        rules = item.host_settings.get("ReplyCodeActions")
        if rules is None:
            declared = getattr(cls, "ReplyCodeActions", "")  # class access gives the Setting
            rules = getattr(declared, "default", declared)
        try:
            ReplyCodeActions(str(rules or ""))
        except BadReplyCodeActions as exc:
            raise EngineError(f"item {item.name}: {exc}") from exc
    adapter_name = cls.get_adapter_type()
    if adapter_name:
        acls = registry.resolve(store, adapter_name)
        missing = host_settings.missing_required(acls, item.adapter_settings)
        if missing:
            raise EngineError(f"item {item.name}: required adapter setting {missing[0]} has no value")
    return cls


def make_host(store: Store, item: ItemConfig, runtime: HostRuntime) -> LiveHost:
    """Build and initialise the host of ``item`` (on_init is called, adapter first)."""
    cls = check_item(store, item)
    host = cls.__new__(cls)
    host._iop_runtime = runtime
    if cls._iop_init_warning:
        runtime.log(host, "warning", cls._iop_init_warning, "__init__")
    _apply(host, item.host_settings, "host", runtime)
    adapter = None
    adapter_name = cls.get_adapter_type()
    if adapter_name:
        acls: Any = registry.resolve(store, adapter_name)
        adapter = acls.__new__(acls)
        adapter._iop_runtime = runtime
        adapter.business_host = host
        _apply(adapter, item.adapter_settings, "adapter", runtime)
        host.Adapter = host.adapter = adapter
    dispatch = build_dispatch_table(cls)
    for warning in dispatch.warnings:
        runtime.log(host, "warning", warning, "dispatch")
    if adapter is not None:
        adapter.on_init()
    host.on_init()
    # Connections (the adapter's) are set up by on_init; tell both that they are ready.
    if adapter is not None:
        adapter.on_connected()
    host.on_connected()
    runtime.flush_logs()
    return LiveHost(item, host, adapter, runtime, dispatch)
