"""Which method of a business host handles which message class (@handler, DISPATCH, typed methods)."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from iop.messages.base import is_message_class
from iop.messages.codec import message_class_name

F = TypeVar("F", bound=Callable[..., Any])

PRIORITY_HANDLER = 3
PRIORITY_DISPATCH = 2
PRIORITY_TYPED = 1
_PRIORITY_NAMES = {PRIORITY_HANDLER: "@handler", PRIORITY_DISPATCH: "DISPATCH", PRIORITY_TYPED: "typed method"}

# Methods of the framework base classes never count as typed handlers.
_RESERVED = {
    "on_message", "on_request", "on_response", "on_complete", "on_process_input", "on_init",
    "on_tear_down", "on_connected", "on_keepalive", "on_task", "on_poll", "reply",
    "send_request_sync", "send_request_async", "send_multi_request_sync", "log_info",
    "log_error", "log_warning", "log_alert", "log_trace", "log_assert", "get_adapter_type",
}


def handler(message_type: type | str) -> Callable[[F], F]:
    """Mark a method as the handler of ``message_type`` (a class or a dotted class name)."""

    def mark(func: F) -> F:
        targets = list(getattr(func, "_iop_handles", ()))
        targets.append(message_type)
        func._iop_handles = targets  # type: ignore[attr-defined]
        return func

    return mark


def _name(message_type: type | str) -> str:
    return message_type if isinstance(message_type, str) else message_class_name(message_type)


@dataclass
class DispatchTable:
    """Message class name → method name, with the warnings raised while building it."""

    methods: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    _by_class: dict[type, str | None] = field(default_factory=dict, repr=False)

    def method_for(self, message: Any) -> str | None:
        """The method name for ``message``, looking up its class and then its bases."""
        message_cls = type(message)
        try:
            return self._by_class[message_cls]  # every message of a class finds the same one
        except KeyError:
            pass
        found = None
        for cls in message_cls.__mro__:
            if not is_message_class(cls) and cls is not message_cls:
                continue
            found = self.methods.get(message_class_name(cls))
            if found is not None:
                break
        self._by_class[message_cls] = found
        return found


def build_dispatch_table(host_cls: type) -> DispatchTable:
    """Collect handlers of ``host_cls`` honouring priority @handler > DISPATCH > typed methods."""
    table = DispatchTable()
    chosen: dict[str, tuple[int, str]] = {}

    def offer(msg_name: str, method: str, priority: int) -> None:
        previous = chosen.get(msg_name)
        if previous is None:
            chosen[msg_name] = (priority, method)
            return
        old_priority, old_method = previous
        if old_method == method and old_priority == priority:
            return
        if priority >= old_priority:
            chosen[msg_name] = (priority, method)
            kept, dropped, dropped_priority = method, old_method, old_priority
        else:
            kept, dropped, dropped_priority = old_method, method, priority
        table.warnings.append(
            f"{host_cls.__name__}: {msg_name} is handled by {kept}; "
            f"discarded {_PRIORITY_NAMES[dropped_priority]} handler {dropped}"
        )

    members = _own_methods(host_cls)
    for name, func in members:
        if name.startswith("_") or name in _RESERVED:
            continue
        if getattr(func, "_iop_handles", None):
            continue
        msg_type = _typed_argument(func, host_cls)
        if msg_type is not None:
            offer(message_class_name(msg_type), name, PRIORITY_TYPED)
    dispatch = getattr(host_cls, "DISPATCH", None) or ()
    entries = dispatch.items() if isinstance(dispatch, dict) else dispatch
    for msg, method in entries:
        offer(_name(msg), method if isinstance(method, str) else method.__name__, PRIORITY_DISPATCH)
    for name, func in members:
        for msg in getattr(func, "_iop_handles", ()):
            offer(_name(msg), name, PRIORITY_HANDLER)
    table.methods = {msg: method for msg, (_, method) in chosen.items()}
    return table


def _own_methods(host_cls: type) -> list[tuple[str, Any]]:
    # Walk user classes from the most basic to the most derived so overrides come last.
    seen: dict[str, Any] = {}
    for cls in reversed(host_cls.__mro__):
        if cls.__module__.startswith(("iop.", "intersystems_pyprod.")) or cls is object:
            continue
        for name, value in vars(cls).items():
            if inspect.isfunction(value):
                seen[name] = value
    return list(seen.items())


def _typed_argument(func: Any, host_cls: type) -> type | None:
    params = list(inspect.signature(func).parameters.values())
    if len(params) != 2:
        return None
    try:
        hints = typing.get_type_hints(func, globalns=vars(inspect.getmodule(host_cls) or object))
    except Exception:
        return None
    annotation = hints.get(params[1].name)
    return annotation if is_message_class(annotation) else None
