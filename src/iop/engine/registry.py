"""Resolve an item's class name to a Python class: built-ins, then bindings, then import."""

from __future__ import annotations

import importlib
import os
import sys
import threading
import time
import weakref
from typing import Any

from iop.engine.errors import UnknownClass
from iop.messages import codec
from iop.messages.base import is_message_class
from iop.store.base import Store
from iop.store.records import Binding

_builtins: dict[str, type] = {}

# Binding kind of PersistentMessage classes registered through a migration's CLASSES.
MESSAGE_BINDING_KIND = "message"
# A message class name with no binding is looked up again after this many seconds, so a
# migration made while a process runs is seen without a query per message.
_MISS_RECHECK = 5.0


def register_builtin(class_name: str, cls: type) -> None:
    """Pre-register a class the engine ships (Ens.*, EnsLib.*)."""
    _builtins[class_name] = cls


def builtin_classes() -> dict[str, type]:
    """Every built-in class by name (this imports every connector module, but none of the
    client libraries they use: those load when an adapter connects)."""
    _load_builtins()
    from iop.connectors.catalog import CONNECTOR_CLASSES

    for name in CONNECTOR_CLASSES:
        builtin_class(name)
    return dict(_builtins)


def builtin_class(class_name: str) -> type | None:
    """The built-in class named ``class_name``, or None; a connector's module is imported on
    first use, so that starting a job loads only the connectors its production names."""
    _load_builtins()
    cls = _builtins.get(class_name)
    if cls is not None:
        return cls
    from iop.connectors.catalog import CONNECTOR_CLASSES

    where = CONNECTOR_CLASSES.get(class_name)
    if where is None:
        return None
    module_name, _, attr = where.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    _builtins[class_name] = obj
    return obj


def _load_builtins() -> None:
    if not _builtins:
        importlib.import_module("iop.engine.builtins")


def add_classpaths(paths: list[str]) -> None:
    """Put import roots on sys.path (first) so bound modules import."""
    for path in reversed(paths):
        for part in path.split(os.pathsep):
            if part and part not in sys.path:
                sys.path.insert(0, part)


def import_binding(b: Binding) -> type:
    """Import the class a binding points to."""
    if b.classpath:
        add_classpaths([b.classpath])
    try:
        module = importlib.import_module(b.module)
    except Exception as exc:  # an import error inside user code is the user's to see
        raise UnknownClass(
            f"{b.class_name}: cannot import module {b.module} "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    obj: Any = module
    try:
        for part in b.classname.split("."):
            obj = getattr(obj, part)
    except AttributeError as exc:
        raise UnknownClass(f"{b.class_name}: module {b.module} has no class {b.classname}") from exc
    return obj


def resolve(store: Store, class_name: str) -> type:
    """The Python class for ``class_name`` in the store's namespace."""
    cls = builtin_class(class_name)
    if cls is not None:
        return cls
    binding = store.get_binding(class_name)
    if binding is not None:
        return import_binding(binding)
    add_classpaths(store.list_classpaths())
    dotted = class_name[len("Python."):] if class_name.startswith("Python.") else class_name
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            continue
        if isinstance(obj, type):
            return obj
    raise UnknownClass(f"class {class_name} is not bound in namespace {store.namespace}; "
                       "run iop -m with a settings file that defines it")


class _MessageBindings:
    """Message class lookup through the stores' message bindings (seed 001: incoming bodies use
    the metadata CLASSES wrote first, then the naming convention)."""

    def __init__(self) -> None:
        self._stores: dict[str, weakref.ref[Store]] = {}
        self._misses: dict[str, float] = {}
        self._lock = threading.Lock()

    def watch(self, store: Store) -> None:
        with self._lock:
            self._stores[store.namespace] = weakref.ref(store)
            self._misses.clear()

    def __call__(self, class_name: str) -> type | None:
        missed = self._misses.get(class_name)
        if missed is not None and time.monotonic() - missed < _MISS_RECHECK:
            return None
        with self._lock:
            stores = [ref() for ref in self._stores.values()]
        for store in stores:
            try:
                binding = store.get_binding(class_name) if store is not None else None
            except Exception:  # a closed store knows nothing any more
                continue
            if binding is None or binding.kind != MESSAGE_BINDING_KIND:
                continue
            try:
                cls = import_binding(binding)
            except UnknownClass as exc:
                raise codec.MessageError(f"message class {exc}") from exc
            codec.register_message_class(class_name, cls)
            return cls
        self._misses[class_name] = time.monotonic()
        return None


_message_bindings = _MessageBindings()


def _connector_message(class_name: str) -> type | None:
    """A message class a connector ships (EnsLib.HL7.Message, EnsLib.HTTP.GenericMessage...),
    by its IRIS name: its module is imported on first use, as the connector's hosts are."""
    from iop.connectors.catalog import CONNECTOR_CLASSES

    if class_name not in CONNECTOR_CLASSES:
        return None
    cls = builtin_class(class_name)
    if cls is None or not is_message_class(cls):
        return None
    codec.register_message_class(class_name, cls)
    return cls


codec.add_class_finder(_connector_message)


def use_message_bindings(store: Store) -> None:
    """Resolve message class names through ``store``'s message bindings from now on."""
    _message_bindings.watch(store)
    codec.add_class_finder(_message_bindings)
