"""Message classes through the codec: dataclass, Pydantic and PersistentMessage bodies."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import json
import uuid
from dataclasses import dataclass, field
from typing import Optional

import pytest

from iop import Field, Message, PersistentMessage, PydanticMessage
from iop.messages import MessageError, codec
from iop.messages.codec import SerializationError
from iop.messages.persistent import decode_class_name, encode_class_name


@dataclass
class Address:
    street: str = ""
    since: Optional[dt.date] = None


@dataclass
class Line:
    sku: str = ""
    quantity: int = 0
    price: decimal.Decimal = decimal.Decimal("0")


@dataclass
class Order(Message):
    order_id: uuid.UUID = field(default_factory=uuid.uuid4)
    placed: dt.datetime = field(default_factory=lambda: dt.datetime(2000, 1, 1))
    due: dt.date = dt.date(2000, 1, 1)
    total: decimal.Decimal = decimal.Decimal("0")
    address: Address = field(default_factory=Address)
    lines: list[Line] = field(default_factory=list)
    by_sku: dict[str, Line] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    signature: bytes = b""
    billing: Optional[Address] = None
    note: Optional[str] = None


class Quote(PydanticMessage):
    symbol: str
    bid: decimal.Decimal
    at: dt.datetime
    venues: list[str] = []
    extra: Optional[dict[str, int]] = None


class Patient(PersistentMessage):
    name: str = Field(required=True, max_length=8)
    ward: str = Field("general", max_length=12)
    age: int = 0


def _roundtrip(message: object) -> object:
    class_name, text = codec.encode(message)
    json.loads(text)  # the stored body is a JSON document
    return codec.decode(class_name, text)


def test_dataclass_message_round_trip_keeps_every_type() -> None:
    home = Address("1 Main St", dt.date(2019, 5, 1))
    order = Order(
        order_id=uuid.UUID("12345678-1234-5678-1234-567812345678"),
        placed=dt.datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=dt.timezone.utc),
        due=dt.date(2024, 3, 31),
        total=decimal.Decimal("1234.5600"),
        address=home,
        lines=[Line("A-1", 2, decimal.Decimal("9.99")), Line("B_2", 1, decimal.Decimal("0.10"))],
        by_sku={"A-1": Line("A-1", 2, decimal.Decimal("9.99"))},
        tags=["rush", "gift"],
        counts={"boxes": 3},
        signature=bytes(range(256)),
        billing=Address("PO Box 7"),
        note=None,
    )
    back = _roundtrip(order)
    assert type(back) is Order
    assert back == order
    assert isinstance(back.address, Address) and back.address.since == dt.date(2019, 5, 1)
    assert isinstance(back.lines[0], Line) and back.lines[0].price == decimal.Decimal("9.99")
    assert isinstance(back.by_sku["A-1"], Line)
    assert back.placed.tzinfo is not None and back.placed.microsecond == 123456
    assert str(back.total) == "1234.5600"  # Decimal precision is not lost to a float
    assert back.signature == bytes(range(256))
    assert back.billing == Address("PO Box 7") and back.note is None


def test_dataclass_message_optional_nested_none_stays_none() -> None:
    back = _roundtrip(Order(billing=None, address=Address("x", None)))
    assert back.billing is None
    assert back.address.since is None


def test_encoded_class_name_is_the_python_path() -> None:
    class_name, _ = codec.encode(Order())
    assert class_name == f"{__name__}.Order"
    assert codec.resolve_class(class_name) is Order


def test_decode_keeps_unknown_keys_as_attributes_and_rejects_bad_json() -> None:
    # As IoP's dataclass_from_dict: a stored key that is not a field becomes an attribute.
    class_name, _ = codec.encode(Order())
    assert codec.decode(class_name, '{"no_such_field": 1}').no_such_field == 1
    with pytest.raises(MessageError, match="no field 'no_such_field'"):
        codec.build(Order, {"no_such_field": 1})  # a user's input (iop -t -B) stays strict
    with pytest.raises(MessageError, match="not valid JSON"):
        codec.decode(class_name, "{broken")


def test_attributes_added_after_construction_survive_the_round_trip() -> None:
    order = Order()
    order.note = "rush"
    order.lines_seen = [1, 2]
    order._private = "not stored"
    class_name, text = codec.encode(order)
    assert json.loads(text)["note"] == "rush"
    back = codec.decode(class_name, text)
    assert back == order and back.note == "rush" and back.lines_seen == [1, 2]
    assert not hasattr(back, "_private")


def test_dataclass_on_a_pydantic_message_is_a_clear_error() -> None:
    with pytest.raises(SerializationError, match="combines @dataclass with PydanticMessage"):
        @dataclasses.dataclass
        class Mixed(PydanticMessage):
            a: int = 0

        Mixed(a=1)


def test_decode_of_unknown_class_is_a_message_error() -> None:
    with pytest.raises(MessageError, match="nowhere.Missing"):
        codec.decode("nowhere.Missing", "{}")


def test_pydantic_message_round_trip() -> None:
    quote = Quote("ACME", decimal.Decimal("10.25"),
                  dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc),
                  venues=["X", "Y"], extra={"lots": 4})
    back = _roundtrip(quote)
    assert type(back) is Quote
    assert back == quote
    assert back.bid == decimal.Decimal("10.25")


def test_pydantic_positional_construction_matches_field_order() -> None:
    quote = Quote("ACME", "1.5", dt.datetime(2024, 1, 1))
    assert quote.symbol == "ACME" and quote.bid == decimal.Decimal("1.5")


def test_pydantic_validation_failure_is_a_message_error() -> None:
    class_name, _ = codec.encode(Quote("A", decimal.Decimal(1), dt.datetime(2024, 1, 1)))
    with pytest.raises(MessageError) as info:
        codec.decode(class_name, json.dumps({"symbol": "A", "bid": "not a number",
                                             "at": "2024-01-01T00:00:00"}))
    assert "Quote" in str(info.value)
    assert "\n" not in str(info.value)  # one line, fit for the CLI


def test_persistent_message_round_trip() -> None:
    patient = Patient("Ada", "cardio", 36)
    back = _roundtrip(patient)
    assert type(back) is Patient
    assert (back.name, back.ward, back.age) == ("Ada", "cardio", 36)
    assert Patient("Bob").ward == "general"


def test_persistent_message_required_field() -> None:
    with pytest.raises(ValueError, match="name is required"):
        Patient()
    with pytest.raises(ValueError, match="name is required"):
        Patient(name=None)
    class_name, _ = codec.encode(Patient("Ada"))
    with pytest.raises(MessageError, match="name is required"):
        codec.decode(class_name, '{"ward": "x"}')


def test_persistent_message_max_length() -> None:
    with pytest.raises(ValueError, match="max_length=8"):
        Patient("Bartholomew")
    Patient("Exactly8")  # the limit itself is allowed
    class_name, _ = codec.encode(Patient("Ada"))
    with pytest.raises(MessageError, match="max_length=12"):
        codec.decode(class_name, json.dumps({"name": "Ada", "ward": "w" * 13}))


def test_persistent_message_class_name_is_the_encoded_python_name() -> None:
    class_name, _ = codec.encode(Patient("Ada"))
    assert class_name == encode_class_name(f"{__name__}.Patient")
    assert decode_class_name(class_name) == f"{__name__}.Patient"
    assert codec.resolve_class(class_name) is Patient


def test_persistent_message_meta_classname_is_used() -> None:
    class Named(PersistentMessage):
        value: str = ""

        class Meta:
            classname = "Demo.Msg.Named"

    class_name, text = codec.encode(Named("v"))
    assert class_name == "Demo.Msg.Named"
    assert codec.decode(class_name, text) == Named("v")


@pytest.mark.parametrize("name, encoded", [
    ("my_module.My_Class", "myzUmodule.MyzUClass"),
    ("zoo.Lazy", "zzoo.Lazzy"),
    ("a.z_", "a.zzzU"),
    ("a.zU", "a.zzU"),
    ("a.zX0041", "a.zzX0041"),
    ("weird-name.Ωmega", "weirdzX002Dname.zX03A9mega"),
])
def test_encode_class_name_rules(name: str, encoded: str) -> None:
    assert encode_class_name(name) == encoded
    assert decode_class_name(encoded) == name


@pytest.mark.parametrize("name", [
    "pkg.sub_pkg.Class_With_Under_scores",
    "zz.z.zU.zX.zzz_",
    "a__b.__dunder__",
    "x.y-z.w z",
    "naïve.Ünïcödé",
    "deep.𠀀Class",  # a valid identifier outside the Basic Multilingual Plane
    "mix._z_Z_x_X_",
])
def test_class_name_encoding_is_reversible_and_safe(name: str) -> None:
    encoded = encode_class_name(name)
    assert decode_class_name(encoded) == name
    assert "_" not in encoded
    assert all(ch.isascii() and (ch.isalnum() or ch == ".") for ch in encoded)


def test_builtin_string_request_resolves_by_its_iris_name() -> None:
    cls = codec.resolve_class("Ens.StringRequest")
    message = cls(StringValue="hello")
    class_name, text = codec.encode(message)
    assert class_name == "Ens.StringRequest"
    back = codec.decode("Ens.StringRequest", text)
    assert type(back) is cls and back.StringValue == "hello"
    response_cls = codec.resolve_class("Ens.StringResponse")
    assert codec.encode(response_cls(StringValue="ok"))[0] == "Ens.StringResponse"
