"""Persistable messages: JsonSerialize (stored as JSON) and PickleSerialize (stored as a pickle)."""

from __future__ import annotations

import ast
import base64
import copy
import inspect
import pickle
import textwrap
from typing import Any, ClassVar

from intersystems_pyprod import _naming
from iop.messages import Field, Model
from iop.messages.codec import MessageError, register_message_class

_FRAMEWORK = "intersystems_pyprod"
_NOT_FIELDS = frozenset({_naming.PACKAGE_VARIABLE})
_MUTABLE = (list, dict, set, bytearray)
PICKLE_FIELD = "SerializedStream"  # the property pyprod's IRIS class keeps the pickle in


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


# Values the engine could write as a body but no host could take back as a message.
_PLAIN_VALUES = (str, bytes, bytearray, int, float, bool, list, tuple, dict, set, frozenset)


def not_persistable(value: Any, what: str) -> str | None:
    """Why ``value`` cannot travel as a request or response, or None when it can."""
    if value is None or not isinstance(value, _PLAIN_VALUES):
        return None
    return (f"{what} is a {type(value).__name__}; requests and responses must be persistable "
            "messages, such as a JsonSerialize or PickleSerialize class of yours")


class ProductionMessage(Model):
    """Base of persistable messages: the fields are the class body's annotated or assigned names.

    Build one positionally in field order, by keyword, or empty and assign fields afterwards;
    missing fields take the class default (or None).
    """

    _pyprod_name = ""
    # A message class to the engine too: iop hosts may route it by a handler's annotation.
    _iop_message: ClassVar[bool] = True
    # The fields the user declared; `_iop_fields` is what the engine's codec stores, which is
    # the same list for JSON messages and the columns plus the pickle for PickleSerialize.
    _pyprod_fields: dict[str, Any] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__module__.startswith(_FRAMEWORK + "."):
            return
        fields: dict[str, Any] = {}
        for base in reversed(cls.__mro__[1:]):
            if issubclass(base, ProductionMessage):
                fields.update(base.__dict__.get("_pyprod_fields", {}))
        fields.update(_own_fields(cls))
        cls._pyprod_fields = fields
        cls._iop_fields = cls._stored_fields(fields)
        name = _naming.full_name(cls)
        cls._pyprod_name = name
        # Message headers name the body class `<package>.<Class>`; decoding finds it here.
        cls._iop_class_name = name  # type: ignore[attr-defined]
        register_message_class(name, cls)

    @classmethod
    def _stored_fields(cls, fields: dict[str, Any]) -> dict[str, Any]:
        """The attributes the engine stores as the JSON body: every declared field."""
        return fields

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        cls = type(self)
        names = list(cls._pyprod_fields)
        if len(args) > len(names):
            raise TypeError(f"{cls.__name__}() takes at most {len(names)} positional arguments "
                            f"({len(args)} given)")
        values = dict(zip(names, args, strict=False))
        for key, value in kwargs.items():
            if key not in cls._pyprod_fields:
                raise TypeError(f"{cls.__name__}() got an unexpected argument {key!r}; "
                                f"its fields are {', '.join(names) or 'none'}")
            if key in values:
                raise TypeError(f"{cls.__name__}() got two values for {key!r}")
            values[key] = value
        for name, declared in cls._pyprod_fields.items():
            if name in values:
                value = values[name]
            else:
                value = declared.default if isinstance(declared, Field) else declared
                if isinstance(value, _MUTABLE):
                    value = copy.deepcopy(value)
            object.__setattr__(self, name, value)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self._pyprod_fields)

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={getattr(self, n, None)!r}" for n in self._pyprod_fields)
        return f"{type(self).__name__}({inner})"


class JsonSerialize(ProductionMessage):
    """A persistable message stored as a JSON document of its fields.

    ``class MyRequest(JsonSerialize): content: str`` is registered as
    ``<iris_package_name>.MyRequest``.
    """


class PickleSerialize(ProductionMessage):
    """A persistable message stored as a pickle of the whole object, for values JSON cannot hold.

    Fields are declared and built as for JsonSerialize. The stored body is a JSON document
    holding the ``Column`` fields (readable in the portal) and ``SerializedStream``, the
    base64 pickle that rebuilds the message, attributes added after construction included.
    As with any pickle, only unpickle messages your own production stored.
    """

    @classmethod
    def _stored_fields(cls, fields: dict[str, Any]) -> dict[str, Any]:
        if PICKLE_FIELD in fields:
            raise TypeError(f"{cls.__qualname__}: {PICKLE_FIELD} is where PickleSerialize keeps "
                            "the pickled message; give the field another name")
        columns = {name: value for name, value in fields.items() if isinstance(value, Column)}
        return {**columns, PICKLE_FIELD: None}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        stream = kwargs.pop(PICKLE_FIELD, None)
        if not stream:
            # New, or stored without a pickle (typed in by hand): the columns are all there is.
            super().__init__(*args, **kwargs)
            return
        # Rebuilt from the store: the pickle is the whole message, the columns only copies.
        state = pickle.loads(base64.b64decode(stream))
        if not isinstance(state, dict):
            raise TypeError(f"{type(self).__name__}: {PICKLE_FIELD} does not hold a pickled "
                            f"message (found {type(state).__name__})")
        for name, value in state.items():
            object.__setattr__(self, name, value)

    @property
    def SerializedStream(self) -> str:  # noqa: N802 (the IRIS property name)
        """The message as a base64 pickle; this is what the engine stores."""
        try:
            data = pickle.dumps(dict(vars(self)), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise MessageError(f"{type(self).__name__} cannot be pickled: "
                               f"{type(exc).__name__}: {exc}") from exc
        return base64.b64encode(data).decode("ascii")
