"""Class names: ``<iris_package_name>.<ClassName>``, the names productions and messages use."""

from __future__ import annotations

import ast
import os
import re
import sys
from functools import lru_cache

PACKAGE_VARIABLE = "iris_package_name"
_PACKAGE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def snake_to_pascal(name: str) -> str:
    """``target_name`` → ``TargetName``, as pyprod names IRIS properties; other names unchanged."""
    if "_" in name and (name.lower() == name or name.upper() == name):
        return "".join(part.capitalize() for part in name.split("_") if part)
    return name


@lru_cache(maxsize=64)
def _declared_in_source(path: str, mtime: float) -> str | None:
    """The string assigned to ``iris_package_name`` at the top level of a file, if any."""
    try:
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read(), path)
    except (OSError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == PACKAGE_VARIABLE:
                    value = node.value.value
                    return value if isinstance(value, str) else None
    return None


def _module_file_stem(module_name: str) -> str:
    module = sys.modules.get(module_name)
    path = getattr(module, "__file__", None)
    if path:
        return os.path.splitext(os.path.basename(path))[0]
    return module_name.rsplit(".", 1)[-1]


def package_name(cls: type) -> str:
    """The package a component or message class is registered under.

    A class attribute ``iris_package_name`` wins, then the module's global of that name (read
    from the source when the class is created above the assignment), then the file name.
    """
    value = getattr(cls, PACKAGE_VARIABLE, None)
    if value is None:
        module = sys.modules.get(cls.__module__)
        value = getattr(module, PACKAGE_VARIABLE, None)
        path = getattr(module, "__file__", None)
        if value is None and path and os.path.exists(path):
            value = _declared_in_source(os.path.abspath(path), os.path.getmtime(path))
    if value is None:
        return _module_file_stem(cls.__module__)
    if not isinstance(value, str) or not _PACKAGE.fullmatch(value):
        raise TypeError(f"{cls.__qualname__}: {PACKAGE_VARIABLE} must be names joined by "
                        f"periods (letters, digits, underscores), such as 'helloworld' or "
                        f"'demo.orders', not {value!r}")
    return value


def full_name(cls: type) -> str:
    """``<package>.<ClassName>``: the name a class is bound and shown under."""
    return f"{package_name(cls)}.{cls.__name__}"
