"""Bindings (the class registry) from Python: register, unregister and list them."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from iop.components import kinds
from iop.engine.config import parse_production
from iop.engine.errors import EngineError, UnknownClass
from iop.migration.classes import MESSAGE_KIND, PERSISTENT, classpath_of
from iop.store import open_store
from iop.store import records as r
from iop.store.base import Store

_SUPER = {**kinds.IRIS_SUPER, MESSAGE_KIND: "Ens.MessageBody"}


def _store(store: Store | None) -> Store:
    return store or open_store()


def _import_class(module: str, classname: str, path: str) -> type:
    """``module.classname`` importable from ``path``; with a short kind (bs/bp/bo) as the
    module, the class is looked up in the Python files of ``path``."""
    try:
        return getattr(importlib.import_module(module), classname)
    except (ImportError, AttributeError) as exc:
        if module not in kinds.SHORT_KINDS or not os.path.isdir(path):
            raise UnknownClass(f"cannot import {module}.{classname} from {path}: {exc}") from exc
    wanted = kinds.SHORT_KINDS[module]
    for filename in sorted(os.listdir(path)):
        stem, ext = os.path.splitext(filename)
        if ext != ".py" or not stem.isidentifier():
            continue
        try:
            cls = getattr(importlib.import_module(stem), classname, None)
        except Exception:  # another file of the folder that does not import is not ours
            continue
        if isinstance(cls, type) and kinds.kind_of(cls) == wanted:
            return cls
    raise UnknownClass(f"no {wanted} class {classname} in the Python files of {path}")


def register_component(module: str, classname: str, path: str, overwrite: int = 1,
                       iris_classname: str | None = None, store: Store | None = None) -> str:
    """Bind ``classname`` of ``module`` (a module importable from ``path``, or a short kind
    ``bs``/``bp``/``bo``) under a class name, ``Python.<classname>`` unless given."""
    store = _store(store)
    path = os.path.abspath(path)
    if path not in sys.path:
        sys.path.insert(0, path)
    cls = _import_class(module, classname, path)
    kind = kinds.kind_of(cls)
    if kind is None:
        raise EngineError(f"{module}.{classname} is not a business host or adapter class")
    if module in kinds.SHORT_KINDS and kinds.SHORT_KINDS[module] != kind:
        raise EngineError(f"{classname} is a {kind}, not a {kinds.SHORT_KINDS[module]} ({module})")
    name = iris_classname or f"Python.{classname}"
    if not overwrite and store.get_binding(name) is not None:
        raise EngineError(f"class {name} is already bound; pass overwrite=1 to replace it")
    store.put_binding(r.Binding(name, cls.__module__, cls.__qualname__,
                                classpath_of(cls, path), kind))
    store.add_classpath(classpath_of(cls, path))
    return name


bind_component = register_component


def usage(store: Store) -> dict[str, list[dict[str, str]]]:
    """Which production items use each class name."""
    used: dict[str, list[dict[str, str]]] = {}
    for p in store.list_productions():
        definition = store.get_production(p["name"])
        if definition is None:
            continue
        for item in parse_production(definition).items:
            used.setdefault(item.class_name, []).append({"production": p["name"], "item": item.name})
    return used


def list_bindings(unused_only: bool = False, store: Store | None = None) -> list[dict[str, Any]]:
    """Bindings sorted by class name, in the remote API's shape."""
    store = _store(store)
    used = usage(store)
    rows = []
    for b in store.list_bindings():
        users = used.get(b.class_name, [])
        if unused_only and users:
            continue
        row = {"class": b.class_name, "super": _SUPER.get(b.kind, ""), "module": b.module,
               "classname": b.classname, "classpaths": b.classpath, "used": bool(users),
               "used_by": users}
        if b.kind == MESSAGE_KIND:
            row["metadata"] = {"IOP_MESSAGE_KIND": PERSISTENT,
                               "IOP_PYTHON_CLASS": f"{b.module}.{b.classname}",
                               "IOP_PYTHON_CLASSPATH": b.classpath}
        rows.append(row)
    return rows


def unregister_component(classname: str, store: Store | None = None) -> None:
    """Remove a binding; refused while a production item still uses it."""
    classname = str(classname or "").strip()
    if not classname:
        raise ValueError("IRIS class name is required.")  # IoP's check, before any store
    store = _store(store)
    if store.get_binding(classname) is None:
        raise UnknownClass(f"class {classname} is not bound in namespace {store.namespace}")
    users = usage(store).get(classname, [])
    if users:
        names = ", ".join(f"{u['production']}/{u['item']}" for u in users)
        raise EngineError(f"class {classname} is still used by production items: {names}")
    store.delete_binding(classname)


unbind_component = unregister_component
