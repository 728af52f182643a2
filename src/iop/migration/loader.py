"""Load a settings (migration) file and store what it declares: bindings and productions."""

from __future__ import annotations

import importlib.util
import os
import sys
import traceback
from types import ModuleType
from typing import Any

from iop.components import kinds
from iop.engine.errors import EngineError
from iop.store import records as r
from iop.store.base import Store


class MigrationError(EngineError):
    """The settings file cannot be loaded or declares something invalid."""


def load_settings_module(path: str) -> ModuleType:
    """Import the file as a module named after it, with its folder first on sys.path."""
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise MigrationError(f"settings file {path} does not exist")
    folder = os.path.dirname(path)
    name = os.path.splitext(os.path.basename(path))[0]
    if folder in sys.path:
        sys.path.remove(folder)
    sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise MigrationError(f"settings file {path} cannot be imported")
    module = importlib.util.module_from_spec(spec)
    previous = sys.modules.get(name)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        _restore(name, previous)
        raise MigrationError(f"settings file {path} line {exc.lineno}: syntax error: {exc.msg}") from exc
    except Exception as exc:
        _restore(name, previous)
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        raise MigrationError(
            f"settings file {path} failed while importing ({frame.filename}:{frame.lineno}): "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    return module


def _restore(name: str, previous: ModuleType | None) -> None:
    if previous is None:
        sys.modules.pop(name, None)
    else:
        sys.modules[name] = previous


def _binding_for(class_name: str, cls: type, classpath: str) -> r.Binding:
    kind = kinds.kind_of(cls)
    if kind is None:
        raise MigrationError(f"CLASSES[{class_name!r}] is {cls!r}, not a component or message class")
    return r.Binding(class_name=class_name, module=cls.__module__, classname=cls.__qualname__,
                     classpath=classpath, kind=kind)


def collect(module: ModuleType, path: str) -> tuple[list[r.Binding], list[tuple[str, dict[str, Any]]]]:
    """Bindings and production definitions a settings module declares."""
    from iop.production import Production

    classpath = os.path.dirname(os.path.abspath(path))
    bindings: dict[str, r.Binding] = {}
    classes = getattr(module, "CLASSES", {}) or {}
    if not isinstance(classes, dict):
        raise MigrationError("CLASSES must be a dict of class name → class")
    for class_name, cls in classes.items():
        if not isinstance(cls, type):
            raise MigrationError(f"CLASSES[{class_name!r}] must be a class, got {type(cls).__name__}")
        if kinds.kind_of(cls) is None:
            continue  # message classes need no binding; PersistentMessage tables come later
        bindings[class_name] = _binding_for(class_name, cls, classpath)
    productions: list[tuple[str, dict[str, Any]]] = []
    declared = getattr(module, "PRODUCTIONS", []) or []
    if not isinstance(declared, (list, tuple)):
        raise MigrationError("PRODUCTIONS must be a list")
    for index, prod in enumerate(declared):
        if isinstance(prod, type) and issubclass(prod, Production):
            prod = prod()
        if isinstance(prod, Production):
            for class_name, cls in prod.python_classes().items():
                bindings.setdefault(class_name, _binding_for(class_name, cls, classpath))
            productions.append((prod.name, prod.to_dict()))
        elif isinstance(prod, dict) and prod:
            name = next(iter(prod))
            definition = prod if name == "Production" else {"Production": prod[name]}
            productions.append((definition["Production"].get("@Name", name), definition))
        else:
            raise MigrationError(f"PRODUCTIONS[{index}] is a {type(prod).__name__}, "
                                 "not a Production or an exported production dict")
    return list(bindings.values()), productions


def migrate_file(store: Store, path: str, dry_run: bool = False, **_: Any) -> list[str]:
    """Apply a settings file to the store; returns the lines to print."""
    module = load_settings_module(path)
    bindings, productions = collect(module, path)
    lines = ["Mode: LOCAL", f"Namespace: {store.namespace}"]
    lines.append("CLASSES:")
    lines += [f"  {b.class_name} -> {b.module}.{b.classname} ({b.kind})" for b in bindings] or ["  (none)"]
    lines.append("PRODUCTIONS:")
    lines += [f"  {name}" for name, _ in productions] or ["  (none)"]
    if dry_run:
        lines.append("Dry run: nothing was written")
        return lines
    store.add_classpath(os.path.dirname(os.path.abspath(path)))
    for binding in bindings:
        store.put_binding(binding)
    for name, definition in productions:
        store.save_production(name, definition)
    if productions and not store.get_meta("default_production"):
        store.set_meta("default_production", productions[0][0])
    lines.append("Migration succeeded")
    return lines
