"""Load a pyprod script: import it, check its classes, bind them in the namespace's store."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from intersystems_pyprod._component import PyprodComponent
from intersystems_pyprod._hosts import BusinessOperation
from intersystems_pyprod._messages import ProductionMessage
from iop.components import kinds
from iop.engine import registry
from iop.engine.errors import EngineError
from iop.migration.classes import MESSAGE_KIND
from iop.store import records as r
from iop.store.base import Store

MESSAGE = MESSAGE_KIND  # message classes are bound with the kind iop migration gives them
_ADAPTER_KIND = {kinds.SERVICE: kinds.INBOUND_ADAPTER, kinds.OPERATION: kinds.OUTBOUND_ADAPTER}


class LoadError(EngineError):
    """The script cannot be loaded; the message names the file, class or line at fault."""


@dataclass(frozen=True)
class LoadedClass:
    """One class of the script and the binding it gets."""

    cls: type
    binding: r.Binding

    @property
    def class_name(self) -> str:
        return self.binding.class_name


def _display(path: str) -> str:
    return os.path.basename(path)


def import_script(path: str) -> ModuleType:
    """Import the file as a module named after it, with its folder first on sys.path."""
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise LoadError(f"{path} does not exist or is not a file")
    name, ext = os.path.splitext(os.path.basename(path))
    if ext != ".py" or not name.isidentifier():
        raise LoadError(f"{_display(path)}: the file name must be a Python module name "
                        "ending in .py, such as HelloWorld.py")
    existing = sys.modules.get(name)
    if existing is not None and os.path.abspath(getattr(existing, "__file__", "") or "") != path:
        raise LoadError(f"{_display(path)}: the name {name!r} is already taken by module "
                        f"{getattr(existing, '__file__', None) or name}; rename the file")
    if name in sys.stdlib_module_names:
        raise LoadError(f"{_display(path)}: {name!r} is the name of a standard library module; "
                        "rename the file")
    try:
        with open(path, encoding="utf-8") as fh:
            source = fh.read()
        compile(source, path, "exec")
    except SyntaxError as exc:
        raise LoadError(f"{_display(path)} line {exc.lineno}: syntax error: {exc.msg}") from exc
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise LoadError(f"{_display(path)} cannot be read: {exc}") from exc
    folder = os.path.dirname(path)
    if folder in sys.path:
        sys.path.remove(folder)
    sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        frames = [f for f in traceback.extract_tb(exc.__traceback__)
                  if os.path.abspath(f.filename) == path]
        where = f" (line {frames[-1].lineno})" if frames else ""
        raise LoadError(f"{_display(path)} failed while importing{where}: "
                        f"{type(exc).__name__}: {exc}") from exc
    return module


def import_module(name: str) -> ModuleType:
    """Import a module by dotted name (``intersystems_pyprod -m package.module``)."""
    try:
        return importlib.import_module(name)
    except Exception as exc:
        raise LoadError(f"module {name} failed while importing: {type(exc).__name__}: {exc}") \
            from exc


def _kind(cls: type) -> str | None:
    if issubclass(cls, ProductionMessage):
        return MESSAGE
    if issubclass(cls, PyprodComponent):
        return kinds.kind_of(cls)
    return None


def _classpath(module: ModuleType) -> str:
    path = os.path.abspath(module.__file__ or "")
    depth = module.__name__.count(".")
    folder = os.path.dirname(path)
    for _ in range(depth):  # a module inside packages is imported from the top package's parent
        folder = os.path.dirname(folder)
    return folder


def collect(module: ModuleType) -> list[LoadedClass]:
    """The script's own message and component classes: messages first, then hosts and adapters."""
    classpath = _classpath(module)
    found: list[LoadedClass] = []
    for value in vars(module).values():
        if not isinstance(value, type) or value.__module__ != module.__name__:
            continue
        kind = _kind(value)
        if kind is None:
            continue
        name = str(getattr(value, "_pyprod_name"))
        found.append(LoadedClass(value, r.Binding(name, module.__name__, value.__qualname__,
                                                  classpath, kind)))
    found.sort(key=lambda loaded: loaded.binding.kind != MESSAGE)
    return found


def _adapter_kind(store: Store, name: str, in_file: dict[str, LoadedClass]) -> str | None:
    loaded = in_file.get(name)
    if loaded is not None:
        return loaded.binding.kind
    builtin = registry.builtin_classes().get(name)
    if builtin is not None:
        return kinds.kind_of(builtin)
    binding = store.get_binding(name)
    return binding.kind if binding is not None else None


def check(store: Store, found: list[LoadedClass], source: str) -> None:
    """Refuse what would fail at start: unknown or wrong adapters, MessageMap methods missing."""
    by_name: dict[str, LoadedClass] = {}
    builtins = registry.builtin_classes()
    for loaded in found:
        name = loaded.class_name
        if name in by_name:
            raise LoadError(f"{source}: {by_name[name].cls.__qualname__} and "
                            f"{loaded.cls.__qualname__} would both be bound as {name}")
        if name in builtins:
            raise LoadError(f"{source}: {loaded.cls.__qualname__} would be bound as {name}, "
                            "a built-in class name; change iris_package_name")
        by_name[name] = loaded
    for loaded in found:
        cls, kind = loaded.cls, loaded.binding.kind
        if kind not in kinds.HOST_KINDS:
            continue
        adapter = cls.get_adapter_type()  # type: ignore[attr-defined]
        if adapter and kind == kinds.PROCESS:
            raise LoadError(f"{source}: {cls.__qualname__} is a BusinessProcess and cannot have "
                            f"an ADAPTER ({adapter})")
        if adapter:
            actual = _adapter_kind(store, adapter, by_name)
            wanted = _ADAPTER_KIND[kind]
            if actual is None:
                raise LoadError(f"{source}: {cls.__qualname__}.ADAPTER names {adapter}, which is "
                                f"neither a class of this file nor bound in namespace "
                                f"{store.namespace}")
            if actual != wanted:
                raise LoadError(f"{source}: {cls.__qualname__}.ADAPTER names {adapter}, which is "
                                f"not an {wanted.replace('_', ' ')}")
        if issubclass(cls, BusinessOperation):
            for message, method in cls._pyprod_routes.items():
                if not callable(getattr(cls, method, None)):
                    raise LoadError(f"{source}: {cls.__qualname__}.MessageMap sends {message} to "
                                    f"{method}, which {cls.__qualname__} does not define")


def bind(store: Store, found: list[LoadedClass], echo: Callable[[str], None] = print) -> None:
    """Write one binding per class, printing the progress lines of the pyprod command."""
    if found:
        store.add_classpath(found[0].binding.classpath)
    for loaded in found:
        echo(f"Loading {loaded.cls.__name__} to IRIS...")
        store.put_binding(loaded.binding)
        echo(f"  {loaded.class_name} -> {loaded.binding.module}.{loaded.binding.classname} "
             f"({loaded.binding.kind}) in namespace {store.namespace}")
        echo("Load finished successfully.")


def load(store: Store, module: ModuleType, echo: Callable[[str], None] = print) -> list[LoadedClass]:
    """Check and bind every class of an imported script; nothing is written if a check fails."""
    source = os.path.basename(module.__file__ or module.__name__)
    found = collect(module)
    if not found:
        raise LoadError(f"{source} defines no message, adapter or business host class of "
                        "intersystems_pyprod")
    check(store, found, source)
    bind(store, found, echo)
    return found


__all__ = ["LoadError", "LoadedClass", "bind", "check", "collect", "import_module",
           "import_script", "load"]
