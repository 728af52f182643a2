"""What the contained child knows of its namespace, and how its wishes reach the store.

The child that imports user code never opens a store. The server hands it a snapshot of the
namespace's configuration (bindings, classpaths, production definitions, default production,
status) as plain JSON; the child works on a ``SnapshotStore`` that answers from it and only
*records* writes. The server then checks each recorded write against what the call may
change and applies them to the real store, all or nothing.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from functools import partial
from typing import Any

from iop.engine import control
from iop.engine.errors import EngineError
from iop.server.code_stage import CodeStage
from iop.store import records as r
from iop.store.base import Store
from iop.store.outage_record import OutageRecord


class NoStoreAccess(EngineError):
    """User code's process asked for something of the store it is not given."""


def take(store: Store, stage: CodeStage) -> dict[str, Any]:
    """The snapshot of ``store``'s configuration, with code paths as the child sees them."""
    bindings = []
    for binding in store.list_bindings():
        row = dataclasses.asdict(binding)
        row["classpath"] = stage.classpath(binding.classpath or "")
        bindings.append(row)
    productions = {}
    for row in store.list_productions():
        definition = store.get_production(row["name"])
        if definition is not None:
            productions[row["name"]] = definition
    running, status = control.current_status(store)
    applied = store.get_applied(running) if running else None
    return {"namespace": store.namespace, "host": store.host, "bindings": bindings,
            "classpaths": [stage.classpath(p) for p in store.list_classpaths()],
            "productions": productions, "status": [running, status],
            "applied": {running: applied} if running and applied is not None else {},
            "meta": {"default_production": store.get_meta("default_production")}}


class SnapshotStore:
    """The child's read-only view of its namespace; writes are recorded, not made."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.namespace: str = data["namespace"]
        self.host: str = data["host"]
        self.location = f"snapshot of namespace {self.namespace}"
        self._bindings = {row["class_name"]: r.Binding(**row) for row in data["bindings"]}
        self._classpaths: list[str] = list(data["classpaths"])
        self._productions: dict[str, Any] = dict(data["productions"])
        self._applied: dict[str, Any] = dict(data["applied"])
        self._meta: dict[str, str] = dict(data["meta"])
        self.status: tuple[str, str] = (data["status"][0], data["status"][1])
        self.writes: list[list[Any]] = []
        self.outage_record = OutageRecord()  # a HostRuntime's; no outage is seen here

    def __getattr__(self, name: str) -> Any:
        raise NoStoreAccess(f"the process that runs user code has no store access "
                            f"({name} is done by the server)")

    # reads
    def get_binding(self, class_name: str) -> r.Binding | None:
        return self._bindings.get(class_name)

    def list_bindings(self) -> list[r.Binding]:
        return list(self._bindings.values())

    def list_classpaths(self) -> list[str]:
        return list(self._classpaths)

    def get_production(self, name: str) -> dict[str, Any] | None:
        definition = self._productions.get(name)
        return json.loads(json.dumps(definition)) if definition is not None else None

    def get_applied(self, name: str) -> dict[str, Any] | None:
        return self._applied.get(name)

    def get_meta(self, key: str, default: str = "") -> str:
        return self._meta.get(key, default)

    # recorded writes
    def put_binding(self, b: r.Binding) -> None:
        self._bindings[b.class_name] = b
        self.writes.append(["put_binding", dataclasses.asdict(b)])

    def set_meta(self, key: str, value: str) -> None:
        self._meta[key] = value
        self.writes.append(["set_meta", key, value])

    def save_production(self, name: str, definition: dict[str, Any]) -> None:
        self._productions[name] = definition
        self.writes.append(["save_production", name, definition])

    def add_classpath(self, path: str) -> None:
        if path not in self._classpaths:
            self._classpaths.insert(0, path)
        self.writes.append(["add_classpath", path])

    def delete_binding(self, class_name: str) -> bool:
        self.writes.append(["delete_binding", class_name])
        return self._bindings.pop(class_name, None) is not None

    def delete_production(self, name: str) -> bool:
        self.writes.append(["delete_production", name])
        return self._productions.pop(name, None) is not None


# ------------------------------------------------------------------ server side
MIGRATION_WRITES = ("put_binding", "set_meta", "save_production", "add_classpath")


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise EngineError(f"the contained child asked to write a {what} that is not a text")
    return value


def _classpath(value: Any, code_root: str) -> str:
    """``value`` if each of its folders is in ``code_root`` (the namespace's projects) or
    open to every account: a remote migration must not make a later call copy another
    namespace's files or a private folder where its code can read them."""
    import os

    from iop.server.containment import open_to_others

    root = os.path.realpath(code_root)
    for part in _text(value, "classpath").split(os.pathsep):
        real = os.path.realpath(part) if part else ""
        if real and not real.startswith(root + os.sep) and not open_to_others(real):
            raise EngineError(f"classpath {part} is neither in this namespace's projects "
                              "folder nor a folder every account may read")
    return str(value)


def _binding(row: Any, code_root: str) -> r.Binding:
    fields = {f.name for f in dataclasses.fields(r.Binding)}
    if not isinstance(row, dict) or not set(row) <= fields:
        raise EngineError("the contained child asked to write a malformed binding")
    for name in fields - {"generated"}:
        _text(row.get(name), f"binding {name}")
    _classpath(row["classpath"], code_root)
    return r.Binding(**row)


def _nothing() -> None:
    pass


def apply(store: Store, writes: Any, allowed: tuple[str, ...], code_root: str,
          production: str | None = None) -> None:
    """Apply the child's recorded ``writes`` (only the ``allowed`` kinds; a save only of
    ``production`` when given; classpaths under IOP_HOME only in ``code_root``); if one
    fails, the ones before it are undone."""
    if not isinstance(writes, list):
        raise EngineError("the contained child's writes are malformed")
    steps: list[tuple[Callable[[], Any], Callable[[], Any]]] = []
    for write in writes:
        if not isinstance(write, list) or not write or write[0] not in allowed:
            raise EngineError(f"the contained child asked for a write this call may not make "
                              f"({write[0] if isinstance(write, list) and write else write!r})")
        kind, args = write[0], write[1:]
        if kind == "put_binding":
            binding = _binding(args[0], code_root)
            old = store.get_binding(binding.class_name)
            steps.append((partial(store.put_binding, binding),
                          partial(store.put_binding, old) if old is not None else
                          partial(store.delete_binding, binding.class_name)))
        elif kind == "set_meta":
            key, value = _text(args[0], "setting name"), _text(args[1], "setting value")
            if key != "default_production" and not key.startswith("schema:"):
                raise EngineError(f"the contained child may not set {key!r}")
            steps.append((partial(store.set_meta, key, value),
                          partial(store.set_meta, key, store.get_meta(key))))
        elif kind == "save_production":
            name = _text(args[0], "production name")
            if production is not None and name != production:
                raise EngineError(f"the contained child may not change production {name}")
            if not isinstance(args[1], dict):
                raise EngineError(f"production {name}: the definition is not an object")
            old_definition = store.get_production(name)
            steps.append((partial(store.save_production, name, args[1]),
                          partial(store.save_production, name, old_definition)
                          if old_definition is not None else
                          partial(store.delete_production, name)))
        elif kind == "add_classpath":
            steps.append((partial(store.add_classpath, _classpath(args[0], code_root)),
                          partial(_nothing)))
    done: list[Callable[[], Any]] = []
    try:
        for do, undo in steps:
            do()
            done.append(undo)
    except Exception:
        for undo in reversed(done):
            try:
                undo()
            except Exception:  # keep undoing; the first error is the one reported
                pass
        raise
