"""Persistable messages: JsonSerialize classes with declared fields, stored as JSON."""

from __future__ import annotations

import ast
import copy
import inspect
import textwrap
from typing import Any

from intersystems_pyprod import _naming
from iop.messages import Field, Model
from iop.messages.codec import register_message_class

_FRAMEWORK = "intersystems_pyprod"
_NOT_FIELDS = frozenset({_naming.PACKAGE_VARIABLE})
_MUTABLE = (list, dict, set, bytearray)


class Column(Field):
    """A message field with a default; pyprod's ``index`` and ``datatype`` are kept as metadata."""

    def __init__(self, default: Any = None, datatype: Any = None, description: Any = None,
                 index: bool = False, **extra: Any) -> None:
        super().__init__(default, description=description or "", **extra)
        self.datatype = datatype
        self.index = bool(index)


def _is_data(value: Any) -> bool:
    if isinstance(value, Field):
        return True
    return not (callable(value) or hasattr(type(value), "__get__"))


def _body_order(cls: type) -> list[str] | None:
    """Field names in the order the class body declares them, read from the source."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return None
    node = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls.__name__),
                None)
    if node is None:
        return None
    names: list[str] = []
    for stmt in node.body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            if "ClassVar" not in ast.unparse(stmt.annotation):
                names.append(stmt.target.id)
        elif isinstance(stmt, ast.Assign):
            names += [t.id for t in stmt.targets if isinstance(t, ast.Name)]
    return names


def _own_fields(cls: type) -> dict[str, Any]:
    namespace = cls.__dict__
    annotations = namespace.get("__annotations__", {})
    order = _body_order(cls)
    if order is None:  # no source (e.g. built in a REPL): annotations, then assignments
        order = list(annotations) + [n for n in namespace if n not in annotations]
    fields: dict[str, Any] = {}
    for name in order:
        if name.startswith("_") or name in _NOT_FIELDS or name in fields:
            continue
        if name in namespace:
            if _is_data(namespace[name]):
                fields[name] = namespace[name]
        elif name in annotations:
            fields[name] = None
    return fields


class ProductionMessage(Model):
    """Base of persistable messages: the fields are the class body's annotated or assigned names.

    Build one positionally in field order, by keyword, or empty and assign fields afterwards;
    missing fields take the class default (or None).
    """

    _pyprod_name = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__module__.startswith(_FRAMEWORK + "."):
            return
        fields: dict[str, Any] = {}
        for base in reversed(cls.__mro__[1:]):
            if issubclass(base, ProductionMessage):
                fields.update(base.__dict__.get("_iop_fields", {}))
        fields.update(_own_fields(cls))
        cls._iop_fields = fields
        name = _naming.full_name(cls)
        cls._pyprod_name = name
        # Message headers name the body class `<package>.<Class>`; decoding finds it here.
        cls._iop_class_name = name  # type: ignore[attr-defined]
        register_message_class(name, cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        cls = type(self)
        names = list(cls._iop_fields)
        if len(args) > len(names):
            raise TypeError(f"{cls.__name__}() takes at most {len(names)} positional arguments "
                            f"({len(args)} given)")
        values = dict(zip(names, args, strict=False))
        for key, value in kwargs.items():
            if key not in cls._iop_fields:
                raise TypeError(f"{cls.__name__}() got an unexpected argument {key!r}; "
                                f"its fields are {', '.join(names) or 'none'}")
            if key in values:
                raise TypeError(f"{cls.__name__}() got two values for {key!r}")
            values[key] = value
        for name, declared in cls._iop_fields.items():
            if name in values:
                value = values[name]
            else:
                value = declared.default if isinstance(declared, Field) else declared
                if isinstance(value, _MUTABLE):
                    value = copy.deepcopy(value)
            object.__setattr__(self, name, value)


class JsonSerialize(ProductionMessage):
    """A persistable message stored as a JSON document of its fields.

    ``class MyRequest(JsonSerialize): content: str`` is registered as
    ``<iris_package_name>.MyRequest``.
    """
