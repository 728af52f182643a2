"""CLASSES and SCHEMAS of a migration file: component bindings, PersistentMessage metadata and
message JSON schemas, checked before anything is written."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, is_dataclass
from typing import Any

from iop.components import kinds
from iop.engine.errors import EngineError
from iop.engine.registry import MESSAGE_BINDING_KIND
from iop.names import CLASS, check_name
from iop.store import records as r

__all__ = ["MESSAGE_KIND", "ClassEntry", "MigrationError", "SchemaEntry", "class_entries",
           "classpath_of", "component_binding", "schema_entries"]

# Binding kind of PersistentMessage classes registered through CLASSES.
MESSAGE_KIND = MESSAGE_BINDING_KIND
PERSISTENT = "persistent"
SCHEMA_META_PREFIX = "schema:"


class MigrationError(EngineError):
    """The settings file cannot be loaded or declares something invalid."""


def classpath_of(cls: type, fallback: str = "") -> str:
    """The import root of ``cls``'s module: the folder its top-level package lives in."""
    module = sys.modules.get(cls.__module__)
    filename = getattr(module, "__file__", None)
    if not filename:
        return fallback
    folder = os.path.dirname(os.path.abspath(filename))
    if os.path.basename(filename) == "__init__.py":
        folder = os.path.dirname(folder)
    for _ in range(kinds.module_of(cls).count(".")):
        folder = os.path.dirname(folder)
    return folder


def component_binding(class_name: str, cls: type, fallback_classpath: str = "") -> r.Binding:
    """The binding of a business host or adapter class under ``class_name``."""
    kind = kinds.kind_of(cls)
    if kind is None:
        raise MigrationError(f"{class_name}: {cls.__qualname__} is not a business host or "
                             "adapter class")
    return r.Binding(class_name=class_name, module=kinds.module_of(cls),
                     classname=cls.__qualname__,
                     classpath=classpath_of(cls, fallback_classpath), kind=kind)


@dataclass
class ClassEntry:
    """One CLASSES entry: a component binding, or a PersistentMessage with its metadata."""

    class_name: str
    cls: type
    binding: r.Binding
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def is_message(self) -> bool:
        return self.binding.kind == MESSAGE_KIND

    def describe(self) -> str:
        """The line the migration plan prints for this entry."""
        target = f"{self.binding.module}.{self.binding.classname}"
        if self.is_message:
            meta = ", ".join(f"{k}={v}" for k, v in self.metadata.items())
            return f"{self.class_name} -> {target} (PersistentMessage; {meta})"
        return f"{self.class_name} -> {target} (component: {self.binding.kind})"


def _persistent_entry(class_name: str, cls: type, fallback: str) -> ClassEntry:
    meta = cls.__dict__.get("Meta")
    explicit = getattr(meta, "classname", None) if meta is not None else None
    if explicit and explicit != class_name:
        raise MigrationError(
            f"CLASSES[{class_name!r}]: {cls.__qualname__}.Meta.classname is {explicit!r}; "
            "the CLASSES key and Meta.classname must be the same class name"
        )
    classpath = classpath_of(cls, fallback)
    module = kinds.module_of(cls)
    python_class = f"{module}.{cls.__qualname__}"
    metadata = {"IOP_MESSAGE_KIND": PERSISTENT, "IOP_PYTHON_CLASS": python_class,
                "IOP_PYTHON_CLASSPATH": classpath}
    binding = r.Binding(class_name=class_name, module=module,
                        classname=cls.__qualname__, classpath=classpath, kind=MESSAGE_KIND)
    return ClassEntry(class_name, cls, binding, metadata)


def class_entries(classes: Any, fallback_classpath: str) -> list[ClassEntry]:
    """Check CLASSES (class name -> class) and turn it into entries; nothing is written."""
    from iop.messages.persistent import PersistentMessage

    if not isinstance(classes, Mapping):
        raise MigrationError(f"CLASSES must be a dict of class name -> class, not "
                             f"{type(classes).__name__}")
    entries = []
    for class_name, cls in classes.items():
        if not isinstance(class_name, str) or not class_name:
            raise MigrationError(f"CLASSES keys must be class names, not {class_name!r}")
        check_name(CLASS, class_name, MigrationError)
        if not isinstance(cls, type):
            raise MigrationError(f"CLASSES[{class_name!r}] must be a class, not "
                                 f"{type(cls).__name__}")
        if issubclass(cls, PersistentMessage):
            entries.append(_persistent_entry(class_name, cls, fallback_classpath))
        elif kinds.kind_of(cls) is not None:
            entries.append(ClassEntry(class_name, cls,
                                      component_binding(class_name, cls, fallback_classpath)))
        else:
            raise MigrationError(
                f"CLASSES[{class_name!r}] is {cls.__qualname__}, not a business host, adapter "
                "or PersistentMessage class (message schemas go in SCHEMAS)"
            )
    return entries


@dataclass
class SchemaEntry:
    """One SCHEMAS entry: a message class and its JSON schema."""

    name: str
    cls: type
    schema: dict[str, Any]

    @property
    def meta_key(self) -> str:
        return SCHEMA_META_PREFIX + self.name

    def stored_text(self) -> str:
        return json.dumps({"name": self.name, "category": kinds.module_of(self.cls),
                           "schema": self.schema}, sort_keys=True)

    def describe(self) -> str:
        return f"{self.name} (JSON schema, {len(self.schema.get('properties', {}))} field(s))"


def _json_schema(cls: type) -> dict[str, Any]:
    from pydantic import BaseModel, TypeAdapter

    if issubclass(cls, BaseModel):
        return cls.model_json_schema()
    if is_dataclass(cls):
        return TypeAdapter(cls).json_schema()
    field_types = getattr(cls, "field_types", None)
    if callable(field_types):
        properties = {}
        for name, tp in field_types().items():
            try:
                properties[name] = TypeAdapter(tp).json_schema()
            except Exception:  # a type pydantic cannot describe is shown as any value
                properties[name] = {}
        return {"title": cls.__name__, "type": "object", "properties": properties}
    raise TypeError("not a message class")


def schema_entries(schemas: Any) -> list[SchemaEntry]:
    """Check SCHEMAS (a list of message classes) and compute their JSON schemas."""
    if isinstance(schemas, Mapping) or isinstance(schemas, str) or \
            not isinstance(schemas, (list, tuple)):
        raise MigrationError(f"SCHEMAS must be a list of message classes, not "
                             f"{type(schemas).__name__}")
    entries = []
    for index, cls in enumerate(schemas):
        if not isinstance(cls, type):
            raise MigrationError(f"SCHEMAS[{index}] must be a message class, not {cls!r}")
        name = f"{kinds.module_of(cls)}.{cls.__qualname__}"
        try:
            schema = _json_schema(cls)
        except Exception as exc:
            raise MigrationError(f"SCHEMAS[{index}] {name}: no JSON schema can be made "
                                 f"({type(exc).__name__}: {exc})") from None
        entries.append(SchemaEntry(name, cls, schema))
    return entries
