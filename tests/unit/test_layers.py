"""No module of src/ imports a layer above its own (issue 24's layering acceptance).

The layers, top to bottom (a module may import its own layer and those below it):

- facade: the public entry points - the ``iop`` package itself (its ``__init__``, the API users
  import), ``python -m iop``, the command line (``iop.cli``) and ``intersystems_pyprod``;
- server: ``iop.server`` (REST API, portal, accounts);
- runtime: ``iop.runtime``'s Director, which does IoP's director calls through a Client;
- client: ``iop.client`` (LocalClient, RemoteClient, choosing one);
- production: ``iop.production``, ``iop.migration`` and ``iop.runtime.protocol``:
  DirectorProtocol is the contract Production's lifecycle methods call, so it sits with them
  (it imports nothing of ours); its module keeps IoP's path;
- engine: ``iop.engine`` and ``iop.connectors`` (the adapters, services and operations the
  engine ships; its registry loads them by class name);
- store: ``iop.store``, ``iop.messages``, ``iop.components``;
- base: ``iop.names``, ``iop.errors``, ``iop.version``, ``iop.director_hook`` (where the
  production layer finds the Director the facade wires in; it imports nothing of ours).

Every import counts, wherever it is written - at the top, inside a function, under
``TYPE_CHECKING``: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGES = ("iop", "intersystems_pyprod")

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (  # top to bottom
    ("facade", ("iop.__main__", "iop.cli", "intersystems_pyprod")),
    ("server", ("iop.server",)),
    ("runtime", ("iop.runtime",)),
    ("client", ("iop.client",)),
    ("production", ("iop.production", "iop.migration", "iop.runtime.protocol")),
    ("engine", ("iop.engine", "iop.connectors")),
    ("store", ("iop.store", "iop.messages", "iop.components")),
    ("base", ("iop.names", "iop.errors", "iop.version", "iop.director_hook")),
)
FACADE_PACKAGE = "iop"  # the package's own __init__ only: its modules each have a layer

# Upward imports that remain, each with why: (importing module, imported module) -> reason.
EXCEPTIONS: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    path: Path
    line: int
    target: str  # the module imported (or the package whose name was imported)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_modules() -> dict[str, Path]:
    return {module_name(path): path for package in PACKAGES
            for path in sorted((SRC / package).rglob("*.py"))}


def layer_of(module: str) -> int | None:
    """The index in LAYERS of the module's layer (0 is the top); None when it has none."""
    if module == FACADE_PACKAGE:
        return 0
    best: tuple[int, int] | None = None  # (length of the matching prefix, layer)
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[0]:
                    best = (len(prefix), index)
    return None if best is None else best[1]


def _ours(name: str) -> bool:
    return name.split(".")[0] in PACKAGES


def imports_of(module: str, path: Path, known: set[str]) -> list[Import]:
    """Every import of our packages in the module, at any depth of its syntax tree."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            # ``from package import module`` depends on that module, else on the package
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                       for alias in node.names]
        found += [Import(module, path, node.lineno, target) for target in targets
                  if _ours(target)]
    return found


def upward_imports() -> list[str]:
    modules = source_modules()
    known = set(modules)
    problems = []
    for module, path in modules.items():
        own = layer_of(module)
        for imp in imports_of(module, path, known):
            target = layer_of(imp.target)
            if own is None or target is None or target >= own:
                continue
            if (imp.module, imp.target) in EXCEPTIONS:
                continue
            problems.append(f"{imp.path.relative_to(SRC.parent)}:{imp.line} imports "
                            f"{imp.target}: layer {LAYERS[own][0]!r} imports layer "
                            f"{LAYERS[target][0]!r} above it")
    return problems


def test_every_module_has_a_layer() -> None:
    unplaced = [module for module in source_modules() if layer_of(module) is None]
    assert unplaced == [], f"modules with no layer in LAYERS: {unplaced}"


def test_no_module_imports_a_layer_above_its_own() -> None:
    problems = upward_imports()
    assert problems == [], "upward imports:\n" + "\n".join(problems)


def test_the_exceptions_are_still_needed() -> None:
    modules = source_modules()
    known = set(modules)
    present = {(imp.module, imp.target) for module, path in modules.items()
               for imp in imports_of(module, path, known)}
    assert [pair for pair in EXCEPTIONS if pair not in present] == []


def test_the_check_sees_lazy_and_type_checking_imports(tmp_path: Path) -> None:
    # A module of the engine importing the client inside a function and under
    # TYPE_CHECKING: both imports are found and both are upward.
    code = ("from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n"
            "    from iop.client.base import Client\n"
            "def f():\n"
            "    from ..client import local\n")
    path = tmp_path / "probe.py"
    path.write_text(code, encoding="utf-8")
    found = imports_of("iop.engine.probe", path, {"iop.client.local", "iop.client.base"})
    assert [(i.line, i.target) for i in found] == [(3, "iop.client.base"),
                                                  (5, "iop.client.local")]
    layers = {layer_of(i.target) for i in found}
    assert layers == {layer_of("iop.client")}
    assert layer_of("iop.client") < layer_of("iop.engine.probe")  # type: ignore[operator]
