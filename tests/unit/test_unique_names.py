"""Names that say what they hold: no two modules of one top-level package share a name, and no
two classes in src/ share a name, except the shared names listed (and explained) below.

Read from the source with ``ast`` only, so nothing is imported or run. Exceptions are left to
their own tree (``iop.errors``), where IoP's public exception names decide.
"""

from __future__ import annotations

import ast
import builtins
import collections
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"

# Module names that more than one package of a top-level package may use, and why.
SHARED_MODULE_NAMES = {
    # Each package's own abstract base: store.base (Store), client.base (Client),
    # messages.base (Message).
    "base": "the abstract base of its package",
    # Each layer's own exceptions (engine, production, store), until they join one tree.
    "errors": "the exceptions of its layer",
    # The two backend packages, iop.store.sqlite and iop.store.postgres, hold the same parts
    # each for its own database: the store class, its transaction, its schema, its purge batch.
    "store": "the store class of each backend package",
    "tx": "the transaction of each backend package",
    "schema": "the schema of each backend package",
    "purge": "the purge batch of each backend package",
}

# Class names more than one class may have, and why.
SHARED_CLASS_NAMES = {
    # Public names of both packages: intersystems_pyprod's hosts and adapters (its public API,
    # with pyprod's callbacks) subclass iop's (IoP's public names), each under its own package.
    "BusinessService": "public in iop and in intersystems_pyprod",
    "BusinessProcess": "public in iop and in intersystems_pyprod",
    "BusinessOperation": "public in iop and in intersystems_pyprod",
    "InboundAdapter": "public in iop and in intersystems_pyprod",
    "OutboundAdapter": "public in iop and in intersystems_pyprod",
}


def _python_files() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def _classes() -> list[tuple[str, list[str], Path]]:
    """Every class statement in src/: its name, the last part of each base's name, its file."""
    found = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.ClassDef):
                bases = [ast.unparse(base).rsplit(".", 1)[-1] for base in node.bases]
                found.append((node.name, bases, path))
    return found


def _exception_names(classes: list[tuple[str, list[str], Path]]) -> set[str]:
    """Names of the classes that derive from BaseException, following bases through src/."""
    exceptions = {name for name, value in vars(builtins).items()
                  if isinstance(value, type) and issubclass(value, BaseException)}
    grew = True
    while grew:
        grew = False
        for name, bases, _ in classes:
            if name not in exceptions and any(base in exceptions for base in bases):
                exceptions.add(name)
                grew = True
    return exceptions


def _shared_module_names() -> dict[str, list[str]]:
    by_name: dict[tuple[str, str], list[str]] = collections.defaultdict(list)
    for path in _python_files():
        relative = path.relative_to(SRC)
        if path.name != "__init__.py":
            by_name[(relative.parts[0], path.stem)].append(str(relative))
    return {name: paths for (_, name), paths in by_name.items() if len(paths) > 1}


def _shared_class_names() -> dict[str, list[str]]:
    classes = _classes()
    exceptions = _exception_names(classes)
    by_name: dict[str, list[str]] = collections.defaultdict(list)
    for name, _, path in classes:
        if name not in exceptions:
            by_name[name].append(str(path.relative_to(SRC)))
    return {name: paths for name, paths in by_name.items() if len(paths) > 1}


def test_sources_are_found() -> None:
    classes = {name for name, _, _ in _classes()}
    assert {"HostRuntime", "EngineServices", "Outcome", "Setting"} <= classes
    assert "NotRunning" in _exception_names(_classes())


def test_one_module_per_name_within_a_package() -> None:
    shared = _shared_module_names()
    unexplained = {name: paths for name, paths in shared.items()
                   if name not in SHARED_MODULE_NAMES}
    assert unexplained == {}, "modules sharing a name: give each a name for what it holds"
    assert "runtime" not in shared


def test_one_class_per_name() -> None:
    shared = _shared_class_names()
    unexplained = {name: paths for name, paths in shared.items()
                   if name not in SHARED_CLASS_NAMES}
    assert unexplained == {}, "classes sharing a name: rename the internal one"


def test_shared_names_listed_are_still_shared() -> None:
    """An entry whose name is no longer shared is removed, so the lists only hold real cases."""
    assert set(SHARED_MODULE_NAMES) - set(_shared_module_names()) == set()
    assert set(SHARED_CLASS_NAMES) - set(_shared_class_names()) == set()
