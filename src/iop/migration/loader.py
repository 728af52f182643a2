"""Load a migration (settings) file and turn it into a checked MigrationPlan.

The file is imported under its own name (so ``if __name__ == "__main__":`` code does not run)
with its folder first on sys.path. Everything it declares is checked before the writer
touches the store.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from iop.migration.classes import (
    ClassEntry,
    MigrationError,
    SchemaEntry,
    class_entries,
    component_binding,
    schema_entries,
)
from iop.names import check_definition_names
from iop.production.errors import ProductionError
from iop.production.export_shape import production_export
from iop.production.production import Production
from iop.store import records as r

__all__ = ["MigrationError", "MigrationPlan", "ProductionEntry", "collect", "load_migration",
           "load_settings_module", "migrate_file"]


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
        where = exc.filename if exc.filename and exc.filename != path else path
        raise MigrationError(f"settings file {where} line {exc.lineno}: syntax error: "
                             f"{exc.msg}") from exc
    except BaseException as exc:
        _restore(name, previous)
        if isinstance(exc, (KeyboardInterrupt, GeneratorExit)):
            raise
        raise MigrationError(f"settings file {path} failed while importing "
                             f"({_user_frame(exc)}): {type(exc).__name__}: {exc}") from exc
    return module


_IOP_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _user_frame(exc: BaseException, fallback: bool = True) -> str:
    """``file:line`` of the innermost frame in the user's code, not in iop or importlib (else
    the innermost frame, or nothing without ``fallback``)."""
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if not f.filename.startswith((_IOP_DIR + os.sep, "<frozen"))]
    if not mine and not (fallback and frames):
        return ""
    frame = (mine or frames)[-1]
    return f"{frame.filename}:{frame.lineno}"


def _restore(name: str, previous: ModuleType | None) -> None:
    if previous is None:
        sys.modules.pop(name, None)
    else:
        sys.modules[name] = previous


@dataclass
class ProductionEntry:
    """One PRODUCTIONS entry: its definition and the Production it was built from."""

    name: str
    definition: dict[str, Any]
    production: Production


@dataclass
class MigrationPlan:
    """What a settings file declares, checked but not yet written."""

    path: str
    classes: list[ClassEntry] = field(default_factory=list)
    schemas: list[SchemaEntry] = field(default_factory=list)
    productions: list[ProductionEntry] = field(default_factory=list)
    # Bindings of Python classes the productions use, not listed in CLASSES.
    production_bindings: list[r.Binding] = field(default_factory=list)
    remote_settings: dict[str, Any] | None = None

    @property
    def folder(self) -> str:
        return os.path.dirname(self.path)

    def bindings(self) -> list[r.Binding]:
        """Every binding the migration writes: CLASSES first, then the productions' classes."""
        return [entry.binding for entry in self.classes] + self.production_bindings

    def production(self, name: str | None) -> Production:
        """The production named ``name`` (or the only one); MigrationError lists the choices."""
        names = [entry.name for entry in self.productions]
        if name is None and len(names) == 1:
            return self.productions[0].production
        for entry in self.productions:
            if entry.name == name:
                return entry.production
        which = ", ".join(names) or "none"
        if name is None:
            raise MigrationError(f"settings file {self.path} declares several productions "
                                 f"({which}); name one with --production")
        raise MigrationError(f"settings file {self.path} declares no production {name} "
                             f"(productions: {which})")


def _production_of(index: int, value: Any) -> Production:
    try:
        if isinstance(value, type) and issubclass(value, Production):
            return value()
        if isinstance(value, Production):
            return value
        if isinstance(value, Mapping) and value:
            return Production.from_dict(value)
    except ProductionError as exc:
        raise MigrationError(f"PRODUCTIONS[{index}]: {exc}") from None
    except Exception as exc:  # a class-style declaration that cannot be instantiated
        where = _user_frame(exc, fallback=False)
        raise MigrationError(f"PRODUCTIONS[{index}]: {value.__qualname__}() failed"
                             f"{f' ({where})' if where else ''}: {type(exc).__name__}: {exc}"
                             ) from exc
    raise MigrationError(f"PRODUCTIONS[{index}] is a {type(value).__name__}, not a Production "
                         "or an exported production dict")


def collect(module: ModuleType, path: str) -> MigrationPlan:
    """Read CLASSES, SCHEMAS, PRODUCTIONS and REMOTE_SETTINGS; raise on anything malformed."""
    plan = MigrationPlan(os.path.abspath(path))
    plan.classes = class_entries(getattr(module, "CLASSES", None) or {}, plan.folder)
    plan.schemas = schema_entries(getattr(module, "SCHEMAS", None) or [])
    remote = getattr(module, "REMOTE_SETTINGS", None)
    if remote is not None:
        if not isinstance(remote, Mapping) or not isinstance(remote.get("url"), str):
            raise MigrationError("REMOTE_SETTINGS must be a dict with at least a \"url\"")
        plan.remote_settings = dict(remote)
    declared = getattr(module, "PRODUCTIONS", None) or []
    if not isinstance(declared, (list, tuple)):
        raise MigrationError(f"PRODUCTIONS must be a list, not {type(declared).__name__}")
    owners: dict[str, tuple[type, str]] = {e.class_name: (e.cls, "CLASSES") for e in plan.classes}
    for index, value in enumerate(declared):
        prod = _production_of(index, value)
        if any(entry.name == prod.name for entry in plan.productions):
            raise MigrationError(f"PRODUCTIONS declares production {prod.name} twice")
        try:
            classes = prod.python_classes()
            definition = production_export(prod)
        except ProductionError as exc:
            raise MigrationError(f"production {prod.name}: {exc}") from None
        # Again on what will be stored: attributes may have been changed after declaration.
        check_definition_names(definition, MigrationError)
        for class_name, cls in classes.items():
            owner = owners.get(class_name)
            if owner is not None and owner[0] is not cls:
                raise MigrationError(
                    f"class name {class_name} is used for {owner[0].__qualname__} ({owner[1]}) "
                    f"and for {cls.__qualname__} (production {prod.name})"
                )
            if owner is None:
                owners[class_name] = (cls, f"production {prod.name}")
                plan.production_bindings.append(component_binding(class_name, cls, plan.folder))
        plan.productions.append(ProductionEntry(prod.name or "", definition, prod))
    return plan


def load_migration(path: str) -> MigrationPlan:
    """Import a settings file and collect what it declares."""
    return collect(load_settings_module(path), path)


def migrate_file(store: Any, path: str, dry_run: bool = False, strict: bool = False,
                 **_: Any) -> list[str]:
    """Apply a settings file to the store (or only explain it); returns the lines to print."""
    from iop.migration.writer import explain, plan_text, write

    plan = load_migration(path)
    if dry_run:
        return plan_text(plan, store, strict=strict)
    lines = explain(plan, store, strict=strict)
    write(plan, store)
    lines.append("Migration succeeded")
    return lines
