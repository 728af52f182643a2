"""The one grammar of namespace, production, class and item names (docs/security.md).

Every place where a name enters (the Production DSL, migration, the API, the portal, the
store) checks it here, so a name that could break a file path, a list of names or a log
line is refused at the edge with one line naming the name and the rule. The rules follow
InterSystems IRIS: a production is a class (``Package.Class``), an item name is free text
without IRIS's list separators, a namespace is a short identifier.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["CLASS", "ITEM", "NAMESPACE", "PRODUCTION", "RULES", "check_definition_names",
           "check_name", "name_problem"]

NAMESPACE = "namespace"
PRODUCTION = "production"
CLASS = "class"
ITEM = "item"

MAX_ITEM = 128  # the longest item name IRIS's production configuration accepts
MAX_CLASS = 255
MAX_NAMESPACE = 64

# Letters of any script, digits, '_' and '%' (IRIS's system packages start with '%'; Python
# module names bring '_', and '-' from a settings file named like my-settings.py, whose
# classes are Python.my-settings.X). A part never starts with a digit or '-'.
_CLASS_PART = r"(?:[^\W\d]|%)[\w%-]*"
# A class defined inside a function: python_class_name() writes its qualname.
_CLASS = re.compile(rf"{_CLASS_PART}(?:\.(?:{_CLASS_PART}|<locals>))*")
_NAMESPACE = re.compile(r"[A-Za-z%][A-Za-z0-9_%-]*", re.ASCII)
# '/' and '\\' separate folders; IRIS refuses '|', ';', ',' and '[' in item names (',' separates
# the item names of TargetConfigNames), so none may be part of a name.
_ITEM_FORBIDDEN = "/\\|;,["

RULES = {
    NAMESPACE: f"a namespace name is 1-{MAX_NAMESPACE} ASCII letters, digits, '_', '%' or '-', "
               "starting with a letter or '%'",
    PRODUCTION: f"a production name is a class name: up to {MAX_CLASS} characters, "
                "dot-separated parts of letters, digits, '_', '%' or '-', each starting with "
                "a letter, '_' or '%'",
    CLASS: f"a class name is up to {MAX_CLASS} characters, dot-separated parts of letters, "
           "digits, '_', '%' or '-', each starting with a letter, '_' or '%'",
    ITEM: f"an item name is 1-{MAX_ITEM} printable characters, without leading or trailing "
          "space, none of / \\ | ; , [ and not starting with '-'",
}


def _shown(name: str) -> str:
    """The name as the error shows it: quoted, escaped, long names cut short."""
    if len(name) > 60:
        return f"{name[:40]!r}... ({len(name)} characters)"
    return repr(name)


def _item_problem(name: str) -> str | None:
    if len(name) > MAX_ITEM:
        return f"it is {len(name)} characters long"
    if not name.isprintable():  # the ASCII space is the only separator it lets through
        return "it contains a control or non-printable character"
    if name != name.strip():
        return "it starts or ends with a space"
    bad = next((c for c in name if c in _ITEM_FORBIDDEN), None)
    if bad is not None:
        return f"it contains {bad!r}"
    if name in (".", "..") or name.startswith("-"):
        return "it could be read as a folder or a command-line option"
    return None


def _outside(name: str, allowed: str) -> str:
    """The first character of ``name`` that ``allowed`` (a character class) refuses, or the
    shape at fault when every character is allowed."""
    bad = next((c for c in name if not re.fullmatch(allowed, c)), None)
    if bad is not None:
        return f"it contains {bad!r}"
    if "." in allowed:
        return "a dot-separated part is empty or starts with a digit or '-'"
    return "it does not start with a letter or '%'"


def name_problem(kind: str, name: Any) -> str | None:
    """Why ``name`` is not a valid name of ``kind`` (NAMESPACE, PRODUCTION, CLASS, ITEM), or
    None when it is."""
    if not isinstance(name, str):
        return f"it is a {type(name).__name__}, not text"
    if not name:
        return "it is empty"
    if kind == ITEM:
        return _item_problem(name)
    if kind == NAMESPACE:
        if len(name) > MAX_NAMESPACE:
            return f"it is {len(name)} characters long"
        return None if _NAMESPACE.fullmatch(name) else _outside(name, r"[A-Za-z0-9_%-]")
    if kind in (PRODUCTION, CLASS):
        if len(name) > MAX_CLASS:
            return f"it is {len(name)} characters long"
        return None if _CLASS.fullmatch(name) else _outside(name, r"[\w%.<>-]")
    raise ValueError(f"unknown kind of name {kind!r}")


def check_name(kind: str, name: Any, error: type[Exception] = ValueError) -> str:
    """Return ``name`` if it is a valid name of ``kind``; raise ``error`` with one line that
    names it, says what is wrong and states the rule."""
    problem = name_problem(kind, name)
    if problem is None:
        return str(name)
    shown = _shown(name) if isinstance(name, str) else repr(name)[:60]
    raise error(f"invalid {kind} name {shown}: {problem} ({RULES[kind]})")


def check_definition_names(definition: Mapping[str, Any],
                           error: type[Exception] = ValueError) -> None:
    """Check the production, item and class names of an exported production
    (``{"Production": {"@Name": ..., "Item": [...]}}``)."""
    body = definition.get("Production", definition)
    if not isinstance(body, Mapping):
        return
    check_name(PRODUCTION, body.get("@Name"), error)
    items = body.get("Item") or []
    for item in items if isinstance(items, list) else [items]:
        if isinstance(item, Mapping):
            check_name(ITEM, item.get("@Name"), error)
            if item.get("@ClassName"):
                check_name(CLASS, item.get("@ClassName"), error)
