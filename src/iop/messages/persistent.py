"""PersistentMessage: message bodies with declared fields, stored as native engine message classes."""

from __future__ import annotations

import re
from typing import Any, ClassVar, get_type_hints

_MISSING = object()


class Field:
    """Declares a PersistentMessage field with a default and constraints (required, max_length)."""

    def __init__(
        self,
        default: Any = None,
        *,
        required: bool = False,
        max_length: int | None = None,
        description: str = "",
        **extra: Any,
    ) -> None:
        self.default = default
        self.required = required
        self.max_length = max_length
        self.description = description
        self.extra = extra
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def check(self, owner: str, value: Any) -> None:
        """Raise ValueError when ``value`` breaks this field's constraints."""
        if self.required and value is None:
            raise ValueError(f"{owner}.{self.name} is required")
        if self.max_length is not None and isinstance(value, str) and len(value) > self.max_length:
            raise ValueError(
                f"{owner}.{self.name} is longer than max_length={self.max_length} ({len(value)})"
            )


class _DeclaredFields:
    """Shared machinery: annotated class attributes become keyword/positional fields."""

    _iop_fields: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__()
        fields: dict[str, Any] = {}
        for base in reversed(cls.__mro__[1:]):
            fields.update(getattr(base, "_iop_fields", {}))
        for name in cls.__dict__.get("__annotations__", {}):
            if name.startswith("_"):
                continue
            fields[name] = cls.__dict__.get(name, None)
        cls._iop_fields = fields

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        names = list(self._iop_fields)
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__} takes at most {len(names)} positional arguments")
        for name, value in zip(names, args, strict=False):
            if name in kwargs:
                raise TypeError(f"{type(self).__name__} got two values for {name}")
            kwargs[name] = value
        unknown = set(kwargs) - set(names)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {sorted(unknown)[0]!r}")
        for name, declared in self._iop_fields.items():
            value = kwargs.get(name, _MISSING)
            if isinstance(declared, Field):
                if value is _MISSING:
                    value = declared.default
                declared.check(type(self).__name__, value)
            elif value is _MISSING:
                value = declared
            object.__setattr__(self, name, value)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self._iop_fields)

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._iop_fields)
        return f"{type(self).__name__}({inner})"

    @classmethod
    def field_types(cls) -> dict[str, Any]:
        """Type hints of the declared fields."""
        hints = get_type_hints(cls)
        return {n: hints.get(n, Any) for n in cls._iop_fields}


class Model(_DeclaredFields):
    """A structured value embedded in a PersistentMessage (``serial=True`` stores it inline)."""

    _iop_serial: ClassVar[bool] = False

    def __init_subclass__(cls, serial: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._iop_serial = serial


class PersistentMessage(_DeclaredFields):
    """Message body class with declared fields; ``Meta.classname`` names its engine class."""

    _iop_message: ClassVar[bool] = True

    @classmethod
    def iris_classname(cls) -> str:
        """The engine class name: ``Meta.classname`` or the reversible encoding of the Python name."""
        meta = cls.__dict__.get("Meta")
        explicit = getattr(meta, "classname", None) if meta is not None else None
        if explicit:
            return str(explicit)
        return encode_class_name(f"{cls.__module__}.{cls.__qualname__}")


_SAFE = re.compile(r"[A-Za-y0-9.]")


def encode_class_name(python_name: str) -> str:
    """Encode a dotted Python name as an IRIS-safe class name.

    ``_`` becomes ``zU``, a literal ``z`` becomes ``zz``, any other character outside
    ``[A-Za-y0-9.]`` becomes ``zX`` + 4 hex digits (``zY`` + 6 beyond U+FFFF).
    """
    out = []
    for ch in python_name:
        if ch == "_":
            out.append("zU")
        elif ch == "z":
            out.append("zz")
        elif _SAFE.fullmatch(ch):
            out.append(ch)
        elif ord(ch) <= 0xFFFF:
            out.append(f"zX{ord(ch):04X}")
        else:
            out.append(f"zY{ord(ch):06X}")
    return "".join(out)


def decode_class_name(iris_name: str) -> str:
    """Reverse :func:`encode_class_name`."""
    out = []
    i = 0
    while i < len(iris_name):
        ch = iris_name[i]
        if ch == "z" and i + 1 < len(iris_name):
            nxt = iris_name[i + 1]
            if nxt == "U":
                out.append("_")
                i += 2
                continue
            if nxt == "z":
                out.append("z")
                i += 2
                continue
            width = {"X": 4, "Y": 6}.get(nxt)
            if width and i + 2 + width <= len(iris_name):
                out.append(chr(int(iris_name[i + 2 : i + 2 + width], 16)))
                i += 2 + width
                continue
        out.append(ch)
        i += 1
    return "".join(out)


_SQL_TYPES = {int: "INTEGER", bool: "INTEGER", float: "REAL", str: "TEXT"}


def table_name(class_name: str) -> str:
    """SQL table holding the typed rows of a PersistentMessage class."""
    return "msg_" + re.sub(r"[^A-Za-z0-9]", "_", class_name)


def typed_row(message: PersistentMessage) -> tuple[str, dict[str, str], dict[str, Any]]:
    """(table, column → SQL type, column → value) for a message's typed table row."""
    import json

    from iop.messages.codec import _encode_value

    types = type(message).field_types()
    columns: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name in type(message)._iop_fields:
        tp = types.get(name)
        sql_type = _SQL_TYPES.get(tp, "TEXT") if isinstance(tp, type) else "TEXT"
        value = getattr(message, name)
        if value is not None and sql_type == "TEXT" and not isinstance(value, str):
            value = json.dumps(_encode_value(value), separators=(",", ":"))
        elif isinstance(value, bool):
            value = int(value)
        columns[name] = sql_type
        values[name] = value
    return table_name(type(message).iris_classname()), columns, values
