"""Turn message objects into (class name, JSON text) and back, guided by their type hints."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import decimal
import enum
import importlib
import json
import sys
import types
import typing
import uuid
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from iop.errors import BodyRefused, MessageError
from iop.messages.persistent import Model, PersistentMessage, decode_class_name, typed_row

Decoder = Callable[[Any], Any]


class SerializationError(MessageError):
    """A message class that cannot be serialised at all (IoP's name for the error)."""


def mixed_dataclass_text(cls: type) -> str:
    """IoP's text for a PydanticMessage that was also decorated with @dataclass."""
    return (f"Class '{cls.__name__}' combines @dataclass with PydanticMessage, which are "
            "incompatible. Use either 'class HelloMessage(PydanticMessage): ...' (no @dataclass) "
            "or '@dataclass\nclass HelloMessage(Message): ...' (dataclass with Message).")


# Engine-wide names for message classes that are not importable by their Python path
# (built-ins such as Ens.StringRequest, PersistentMessage Meta.classname values).
_named: dict[str, type] = {}
_imported: dict[str, type] = {}  # dotted names found by import, per process
# Lookups consulted before the naming convention: message metadata the engine keeps (the
# bindings migration CLASSES writes); each returns the class or None.
_finders: list[Callable[[str], type | None]] = []


def register_message_class(name: str, cls: type) -> None:
    """Make ``cls`` resolvable under ``name`` (built-ins, Meta.classname, migration CLASSES)."""
    _named[name] = cls


def add_class_finder(finder: Callable[[str], type | None]) -> None:
    """Consult ``finder`` for names not registered, before the Python naming convention."""
    if finder not in _finders:
        _finders.append(finder)


def message_class_name(cls: type) -> str:
    """The class name stored in message headers for instances of ``cls``."""
    own = cls.__dict__.get("_iop_class_name")
    if own:
        return str(own)
    if issubclass(cls, PersistentMessage):
        name = cls.iris_classname()
        _named.setdefault(name, cls)
        return name
    module = cls.__module__
    if module == "__main__":
        module = _main_module_name()
    return f"{module}.{cls.__qualname__}"


def _main_module_name() -> str:
    # A script run as `python demo.py` defines its messages in __main__; jobs import it as `demo`.
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None) or "__main__"
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name:
        return str(spec.name)
    name = path.rsplit("/", 1)[-1]
    return name[:-3] if name.endswith(".py") else name


def resolve_class(name: str) -> type:
    """Find a class by engine name or dotted Python path, importing its module if needed."""
    cls = _named.get(name) or _imported.get(name)
    if cls is not None:
        return cls
    for finder in list(_finders):
        found = finder(name)
        if found is not None:
            return found
    cls = _import_class(name)
    _imported[name] = cls  # every message of a class pays the import walk only once
    return cls


def _import_class(name: str) -> type:
    for candidate in (name, decode_class_name(name)):
        parts = candidate.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            module_name = ".".join(parts[:cut])
            try:
                obj: Any = importlib.import_module(module_name)
            except ImportError:
                continue
            try:
                for attr in parts[cut:]:
                    obj = getattr(obj, attr)
            except AttributeError:
                continue
            if isinstance(obj, type):
                return obj
    raise MessageError(f"message class {name} cannot be found (is its module on a classpath?)")


# ---------------------------------------------------------------- encoding


_SCALARS = frozenset({str, int, float, bool, type(None)})
_dataclass_fields: dict[type, tuple[str, ...]] = {}


def _encode_dataclass(value: Any) -> dict[str, Any]:
    cls = type(value)
    names = _dataclass_fields.get(cls)
    if names is None:
        names = _dataclass_fields[cls] = tuple(f.name for f in dataclasses.fields(value))
    out = {}
    for name in names:
        item = getattr(value, name)
        out[name] = item if type(item) in _SCALARS else _encode_value(item)
    attributes = getattr(value, "__dict__", None)
    if attributes is not None and len(attributes) > len(names):
        # Attributes set after construction travel too, as IoP keeps them.
        for name, item in attributes.items():
            if name not in out and not name.startswith("_"):
                out[name] = _encode_value(item)
    return out


def _encode_value(value: Any) -> Any:
    if type(value) in _SCALARS or value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_encode_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode_value(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _encode_dataclass(value)
    if isinstance(value, (PersistentMessage, Model)):
        return {n: _encode_value(getattr(value, n)) for n in value._iop_fields}
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, enum.Enum):
        return _encode_value(value.value)
    if hasattr(value, "__dict__"):
        return {k: _encode_value(v) for k, v in vars(value).items() if not k.startswith("_")}
    raise MessageError(f"cannot store a value of type {type(value).__name__} in a message")


# One encoder for every message: json.dumps with options builds a new encoder per call.
_to_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_class_names: dict[type, str] = {}


def encode(message: Any) -> tuple[str, str]:
    """Return ``(class name, JSON text)`` for a message object."""
    cls = type(message)
    if isinstance(message, BaseModel) and dataclasses.is_dataclass(message):
        raise SerializationError(mixed_dataclass_text(cls))
    raw = getattr(cls, "_iop_encode_raw", None)
    if raw is not None:
        # A class stored in its own text form, not JSON (EnsLib.HL7.Message: its ER7 text).
        return message_class_name(cls), raw(message)
    if isinstance(message, BaseModel):
        data = message.model_dump(mode="json")
    else:
        data = _encode_value(message)
    try:
        text = _to_json(data)
    except (TypeError, ValueError) as exc:
        raise MessageError(f"{cls.__name__} cannot be stored as JSON: {exc}") from exc
    name = _class_names.get(cls)
    if name is None:
        name = message_class_name(cls)
        if cls.__dict__.get("_iop_class_name") is None:
            _class_names[cls] = name  # a class named by set_class_name is looked up each time
    return name, text


def typed_row_of(message: Any) -> tuple[str, dict[str, str], dict[str, Any]] | None:
    """The typed-table row of a PersistentMessage, None for other messages."""
    return typed_row(message) if isinstance(message, PersistentMessage) else None


# ---------------------------------------------------------------- decoding


def _identity(value: Any) -> Any:
    return value


def _decoder_for(tp: Any) -> Decoder:
    """Build a function turning JSON data into a value of type ``tp``."""
    if tp is Any or tp is None or tp is type(None) or isinstance(tp, typing.TypeVar):
        return _identity
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _decoder_for(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(options) == 1:
            inner = _decoder_for(options[0])
            return lambda v: None if v is None else inner(v)
        return _identity
    if origin in (list, set, frozenset, tuple, typing.Sequence):
        args = typing.get_args(tp)
        item = _decoder_for(args[0]) if args else _identity
        make = origin if origin in (list, set, frozenset, tuple) else list
        return lambda v: None if v is None else make(item(x) for x in v)
    if origin is dict:
        args = typing.get_args(tp)
        val = _decoder_for(args[1]) if len(args) == 2 else _identity
        return lambda v: None if v is None else {k: val(x) for k, x in v.items()}
    if not isinstance(tp, type):
        return _identity
    if tp in (str, int, float, bool):
        return _identity
    if tp is dt.datetime:
        return lambda v: v if v is None or isinstance(v, dt.datetime) else dt.datetime.fromisoformat(v)
    if tp is dt.date:
        return lambda v: v if v is None or isinstance(v, dt.date) else dt.date.fromisoformat(v)
    if tp is dt.time:
        return lambda v: v if v is None or isinstance(v, dt.time) else dt.time.fromisoformat(v)
    if tp is decimal.Decimal:
        return lambda v: None if v is None else decimal.Decimal(str(v))
    if tp is uuid.UUID:
        return lambda v: None if v is None else uuid.UUID(str(v))
    if tp in (bytes, bytearray):
        return lambda v: None if v is None else tp(base64.b64decode(v))
    if issubclass(tp, enum.Enum):
        return lambda v: None if v is None else tp(v)
    if dataclasses.is_dataclass(tp) or issubclass(tp, (BaseModel, PersistentMessage, Model)):
        return lambda v: None if v is None else build(tp, v)
    return _identity


_plans: dict[type, list[tuple[str, Decoder, bool]]] = {}
_plan_names: dict[type, frozenset[str]] = {}


def _plan(cls: type) -> list[tuple[str, Decoder, bool]]:
    plan = _plans.get(cls)
    if plan is None:
        try:
            hints = typing.get_type_hints(cls, include_extras=True)
        except Exception:  # unresolved forward references: decode values as stored
            hints = {}
        if dataclasses.is_dataclass(cls):
            plan = [(f.name, _decoder_for(hints.get(f.name, Any)), f.init) for f in dataclasses.fields(cls)]
        else:
            names = cls._iop_fields if issubclass(cls, (PersistentMessage, Model)) else hints
            plan = [(n, _decoder_for(hints.get(n, Any)), True) for n in names]
        _plan_names[cls] = frozenset(name for name, _, _ in plan)
        _plans[cls] = plan
    return plan


class ConstructorFailed(BodyRefused):
    """A message class's own constructor raised on the values of a body."""

    def __init__(self, cls: type, exc: Exception) -> None:
        self.reason = f"{type(exc).__name__}: {describe_error(exc)}"
        super().__init__(f"{message_class_name(cls)} could not be created: {self.reason}")


_CHECKABLE = frozenset({str, int, float, bool, dt.datetime, dt.date, dt.time, decimal.Decimal,
                        uuid.UUID, bytes, type(None)})
_adapters: dict[Any, TypeAdapter[Any] | None] = {}


def _adapter(tp: Any) -> TypeAdapter[Any] | None:
    """Pydantic's validator for a field type made only of scalars and containers of them
    (nested message classes are checked by their own ``build``); None for anything else."""
    if tp in _adapters:
        return _adapters[tp]
    found: TypeAdapter[Any] | None = None
    if _plain_type(tp):
        try:
            found = TypeAdapter(tp)
        except Exception:  # a type pydantic cannot check: decoded as the codec always does
            found = None
    _adapters[tp] = found
    return found


def _plain_type(tp: Any) -> bool:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _plain_type(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType, list, set, frozenset, tuple, dict):
        return all(a is Ellipsis or _plain_type(a) for a in typing.get_args(tp))
    return tp in _CHECKABLE


def _type_name(tp: Any) -> str:
    return tp.__name__ if isinstance(tp, type) else str(tp).replace("typing.", "")


def check_field_types(cls: type, data: dict[str, Any]) -> None:
    """Refuse a field whose JSON value is not of the field's declared type, as pydantic
    checks a PydanticMessage: for dataclass and persistent messages, whose decoding (like
    IoP's) keeps such a value as it is. Used where a body enters from outside (test calls,
    edited resubmits), never when stored messages are read back."""
    if issubclass(cls, BaseModel) or not isinstance(data, dict):
        return
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
    except Exception:
        return
    for name, value in data.items():
        tp = hints.get(name)
        if tp is None or value is None:
            continue
        adapter = _adapter(tp)
        if adapter is None:
            nested = _nested_class(tp)
            if nested is not None and isinstance(value, dict):
                check_field_types(nested, value)
            continue
        try:
            adapter.validate_python(value)
        except ValidationError as exc:
            raise BodyRefused(f"{cls.__name__}.{name} expects {_type_name(tp)}, got "
                               f"{type(value).__name__} {_short(value)}") from exc


def _nested_class(tp: Any) -> type | None:
    """The dataclass or persistent class of a field typed ``C`` or ``C | None``."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        tp = options[0] if len(options) == 1 else None
    if isinstance(tp, type) and (dataclasses.is_dataclass(tp)
                                 or issubclass(tp, (PersistentMessage, Model))):
        return tp
    return None


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, bytes) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def build(cls: type, data: Any, keep_extra: bool = False, strict: bool = False) -> Any:
    """Make an instance of ``cls`` from decoded JSON ``data``; keys that are not fields are
    refused, or with ``keep_extra`` set as attributes of a dataclass message (IoP keeps
    them). ``strict`` (at the edges) also refuses values not of their field's type
    (``check_field_types``)."""
    if strict:
        check_field_types(cls, data)
    if issubclass(cls, BaseModel):
        try:
            return cls.model_validate(data)
        except ValueError as exc:
            raise BodyRefused(f"{cls.__name__}: {describe_error(exc)}") from exc
    if not isinstance(data, dict):
        raise BodyRefused(f"{cls.__name__} expects a JSON object, got {type(data).__name__}")
    plan = _plan(cls)
    if not plan and not dataclasses.is_dataclass(cls):
        obj = cls.__new__(cls)
        obj.__dict__.update(data)
        return obj
    extra: dict[str, Any] = {}
    if not _plan_names[cls].issuperset(data):
        unknown = set(data) - _plan_names[cls]
        if not (keep_extra and dataclasses.is_dataclass(cls)):
            raise BodyRefused(f"{cls.__name__} has no field {sorted(unknown)[0]!r}")
        extra = {name: data[name] for name in unknown}
    init_args: dict[str, Any] = {}
    late: dict[str, Any] = {}
    for name, decode_field, in_init in plan:
        if name in data:
            try:
                value = decode_field(data[name])
            except (TypeError, ValueError, decimal.InvalidOperation) as exc:
                raise BodyRefused(f"{cls.__name__}.{name}: {exc}") from exc
            (init_args if in_init else late)[name] = value
    try:
        obj = cls(**init_args)
    except Exception as exc:  # the class's own __init__/__post_init__ refused the values
        raise ConstructorFailed(cls, exc) from exc
    for name, value in late.items():
        setattr(obj, name, value)
    for name, value in extra.items():
        setattr(obj, name, value)
    return obj


def decode(class_name: str, text: str | None, strict: bool = False) -> Any:
    """Rebuild the message object stored as ``(class_name, text)`` (``strict``: also check
    field types, for a body entering from outside; see ``check_field_types``)."""
    cls = resolve_class(class_name)
    if dataclasses.is_dataclass(cls) and issubclass(cls, BaseModel):
        raise SerializationError(mixed_dataclass_text(cls))
    raw = getattr(cls, "_iop_decode_raw", None)
    if raw is not None:
        try:
            return raw(text)
        except MessageError as exc:
            raise BodyRefused(f"body does not fit {class_name}: {exc}") from exc
    try:
        data = json.loads(text) if text else {}
    except json.JSONDecodeError as exc:
        raise BodyRefused(f"body of {class_name} is not valid JSON: {exc.msg} at position "
                          f"{exc.pos}") from exc
    try:
        return build(cls, data, keep_extra=True, strict=strict)
    except ConstructorFailed as exc:
        raise BodyRefused(f"body does not fit {class_name}: {exc.reason}") from exc
    except MessageError:
        raise
    except Exception as exc:  # validation errors from user classes or pydantic
        raise BodyRefused(f"body does not fit {class_name}: {describe_error(exc)}") from exc


def describe_error(exc: Exception) -> str:
    """One line naming each invalid field, for pydantic errors; the message otherwise."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            parts = [f"{'.'.join(str(p) for p in e.get('loc', ())) or 'body'}: {e.get('msg')}"
                     for e in errors()]
            return "; ".join(parts)
        except Exception:
            pass
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
