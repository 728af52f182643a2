"""The one error tree: every exception class of the packages derives from ``iop.errors.IopError``
(IoP's public warning excepted), no two share a name, and ``iop.errors`` writes them all out."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

import iop.errors
from intersystems_pyprod import StatusError
from iop.errors import IopError

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGES = ("iop", "intersystems_pyprod")

# Public names of IoP 4.1.1 (and of InterSystems' pyprod) with the base they have there.
PUBLIC_BASES: dict[str, type[BaseException]] = {
    "ProductionValidationError": ValueError,
    "ProductionValidationWarning": UserWarning,
    "SerializationError": Exception,
    "StatusError": RuntimeError,
}
# Public exceptions that stay outside the tree, as IoP has them: a warning is issued, not raised.
OUTSIDE_THE_TREE = {"ProductionValidationWarning"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _defined_classes() -> list[tuple[str, str, ast.ClassDef, bool]]:
    """(module, class name, node, defined at module level) for every class in the packages."""
    found = []
    for package in PACKAGES:
        for path in sorted((SRC / package).rglob("*.py")):
            if path.name == "__main__.py":
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            top = set(tree.body)
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef):
                    found.append((_module_name(path), node.name, node, node in top))
    return found


def _exception_classes() -> list[tuple[str, type[BaseException]]]:
    classes = []
    for module_name, name, _, top_level in _defined_classes():
        if not top_level:
            continue
        cls = getattr(importlib.import_module(module_name), name)
        if isinstance(cls, type) and issubclass(cls, BaseException):
            classes.append((module_name, cls))
    return classes


EXCEPTIONS = _exception_classes()


def test_the_walk_finds_the_tree_and_its_leaves() -> None:
    names = {cls.__name__ for _, cls in EXCEPTIONS}
    assert {"IopError", "StoreError", "EngineError", "ProductionError", "MessageError",
            "RemoteError", "CliError", "UnknownProduction", "LoadError", "BadRequest"} <= names
    assert len(EXCEPTIONS) > 50


def test_no_exception_class_is_defined_inside_a_function_or_class() -> None:
    nested = [f"{module}.{name}" for module, name, node, top_level in _defined_classes()
              if not top_level and any(re.search(r"(Error|Exception|Warning)$", ast.unparse(b))
                                       for b in node.bases)]
    assert nested == []


@pytest.mark.parametrize("module,cls", EXCEPTIONS, ids=lambda v: getattr(v, "__name__", v))
def test_every_exception_class_is_in_the_tree(module: str, cls: type[BaseException]) -> None:
    if cls.__name__ in OUTSIDE_THE_TREE:
        assert not issubclass(cls, IopError)
    else:
        assert issubclass(cls, IopError), f"{module}.{cls.__name__} is not an IopError"


def test_public_names_keep_their_bases() -> None:
    by_name = {cls.__name__: cls for _, cls in EXCEPTIONS}
    for name, base in PUBLIC_BASES.items():
        assert issubclass(by_name[name], base), name
    assert iop.ProductionValidationError is by_name["ProductionValidationError"]
    assert iop.ProductionValidationWarning is by_name["ProductionValidationWarning"]
    assert StatusError is by_name["StatusError"]


def test_exception_class_names_are_unique() -> None:
    seen: dict[str, str] = {}
    twins = []
    for module, cls in EXCEPTIONS:
        if cls.__name__ in seen:
            twins.append(f"{cls.__name__} in {seen[cls.__name__]} and {module}")
        seen[cls.__name__] = module
    assert twins == []


def test_the_branches_hang_from_the_root_in_iop_errors() -> None:
    for name in ("StoreError", "EngineError", "ProductionError", "MessageError", "RemoteError",
                 "CliError", "ComponentError", "RequestRefused"):
        branch = getattr(iop.errors, name)
        assert branch.__module__ == "iop.errors" and IopError in branch.__bases__, name


@pytest.mark.parametrize("module,cls", EXCEPTIONS, ids=lambda v: getattr(v, "__name__", v))
def test_the_docstring_of_iop_errors_lists_every_class_with_its_module(
        module: str, cls: type[BaseException]) -> None:
    doc = iop.errors.__doc__ or ""
    lines = [line for line in doc.splitlines()
             if re.search(rf"(?<![\w.]){cls.__name__}(?!\w)", line)]
    assert lines, f"{cls.__name__} is not in iop.errors' docstring"
    if module != "iop.errors":
        assert any(re.search(rf"\b{re.escape(module)}\b(?!\.)", line) for line in lines), (
            f"iop.errors' docstring does not say {cls.__name__} lives in {module}")


def test_old_import_paths_still_name_the_branches() -> None:
    from iop.engine.errors import EngineError
    from iop.messages.codec import MessageError
    from iop.production.errors import ProductionError
    from iop.store.errors import StoreError

    assert (StoreError, EngineError, ProductionError, MessageError) == (
        iop.errors.StoreError, iop.errors.EngineError, iop.errors.ProductionError,
        iop.errors.MessageError)
