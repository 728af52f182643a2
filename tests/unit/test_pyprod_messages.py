"""JsonSerialize messages: fields, construction, names, and the engine's JSON codec."""

from __future__ import annotations

import datetime as dt
import decimal
import json

import pytest

from intersystems_pyprod import Column, JsonSerialize, PickleSerialize
from iop.messages import codec

iris_package_name = "unitmsg"


class Greeting(JsonSerialize):
    content: str


class Mixed(JsonSerialize):
    field_1 = "default_field_1"
    field_2: int
    tags: list = []
    note = Column("n/a", datatype="str", index=True)


class Child(Greeting):
    extra: int = 7


class OwnPackage(JsonSerialize):
    iris_package_name = "elsewhere.sub"
    value: float


class Nested(JsonSerialize):
    inner: Greeting
    items: list[Greeting]


class Typed(JsonSerialize):
    when: dt.datetime
    amount: decimal.Decimal
    raw: bytes
    by_key: dict[str, Greeting]
    maybe: Greeting | None = None
    free = {"a": [1, {"b": 2}]}


def test_positional_and_keyword_construction() -> None:
    assert Greeting("hello").content == "hello"
    assert Greeting(content="hi").content == "hi"
    assert Greeting().content is None


def test_fields_follow_the_class_body_order() -> None:
    assert list(Mixed._iop_fields) == ["field_1", "field_2", "tags", "note"]
    msg = Mixed("New Value", 0)
    assert (msg.field_1, msg.field_2, msg.tags, msg.note) == ("New Value", 0, [], "n/a")
    later = Mixed(field_2=3)
    later.field_1 = "assigned"
    assert (later.field_1, later.field_2) == ("assigned", 3)


def test_mutable_defaults_are_not_shared() -> None:
    first, second = Mixed(), Mixed()
    first.tags.append("x")
    assert second.tags == [] and Mixed._iop_fields["tags"] == []


def test_construction_errors_name_the_problem() -> None:
    with pytest.raises(TypeError, match="at most 1 positional"):
        Greeting("a", "b")
    with pytest.raises(TypeError, match="unexpected argument 'contnet'.*content"):
        Greeting(contnet="typo")
    with pytest.raises(TypeError, match="two values for 'content'"):
        Greeting("a", content="b")


def test_subclass_adds_fields_after_its_base() -> None:
    assert list(Child._iop_fields) == ["content", "extra"]
    assert Child("x").extra == 7
    assert Child._pyprod_name == "unitmsg.Child"


def test_class_names_use_the_package_name() -> None:
    assert codec.message_class_name(Greeting) == "unitmsg.Greeting"
    assert codec.message_class_name(OwnPackage) == "elsewhere.sub.OwnPackage"
    assert codec.resolve_class("unitmsg.Greeting") is Greeting


def test_persisted_as_json_and_rebuilt() -> None:
    name, text = codec.encode(Mixed("v", 2, ["a"]))
    assert name == "unitmsg.Mixed"
    assert json.loads(text) == {"field_1": "v", "field_2": 2, "tags": ["a"], "note": "n/a"}
    back = codec.decode(name, text)
    assert isinstance(back, Mixed) and back == Mixed("v", 2, ["a"])


def test_nested_messages_round_trip() -> None:
    original = Nested(Greeting("in"), [Greeting("a"), Greeting("b")])
    back = codec.decode(*codec.encode(original))
    assert back.inner == Greeting("in") and back.items == [Greeting("a"), Greeting("b")]


def test_typed_fields_come_back_as_their_types() -> None:
    original = Typed(dt.datetime(2024, 1, 2, 3, 4, 5), decimal.Decimal("1.10"), b"\x00\x01",
                     {"k": Greeting("deep")})
    name, text = codec.encode(original)
    assert json.loads(text) == {"when": "2024-01-02T03:04:05", "amount": "1.10", "raw": "AAE=",
                                "by_key": {"k": {"content": "deep"}}, "maybe": None,
                                "free": {"a": [1, {"b": 2}]}}
    back = codec.decode(name, text)
    assert back == original and isinstance(back.by_key["k"], Greeting)
    assert isinstance(back.when, dt.datetime) and isinstance(back.amount, decimal.Decimal)


def test_unknown_stored_field_is_a_clear_error() -> None:
    with pytest.raises(codec.MessageError, match="no field 'other'"):
        codec.decode("unitmsg.Greeting", '{"content": "x", "other": 1}')


def test_repr_and_equality() -> None:
    assert repr(Greeting("x")) == "Greeting(content='x')"
    assert Greeting("x") == Greeting("x") and Greeting("x") != Greeting("y")


class Reading:
    """Not a message and not JSON: what PickleSerialize is for."""

    def __init__(self, value: float) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Reading) and other.value == self.value


class Batch(PickleSerialize):
    label = Column("unnamed")
    count = 1
    readings: list


class TaggedBatch(Batch):
    tag = Column("t")


def test_pickle_message_fields_and_construction() -> None:
    batch = Batch("b1", 2, [Reading(1.5)])
    assert (batch.label, batch.count, batch.readings) == ("b1", 2, [Reading(1.5)])
    assert Batch(count=3).label == "unnamed" and Batch().readings is None
    assert list(TaggedBatch._pyprod_fields) == ["label", "count", "readings", "tag"]
    assert codec.message_class_name(Batch) == "unitmsg.Batch"
    with pytest.raises(TypeError, match="unexpected argument 'colour'"):
        Batch(colour="red")


def test_pickle_message_round_trip_keeps_python_values() -> None:
    batch = TaggedBatch("b2", 2, [Reading(0.5), {"set", "of", "words"}, (1, 2)])
    batch.added_later = Reading(9)  # pickled too, as pyprod pickles the whole object
    name, text = codec.encode(batch)
    stored = json.loads(text)
    # The columns stay readable in the stored body; the pickle carries everything.
    assert (name, stored["label"], stored["tag"]) == ("unitmsg.TaggedBatch", "b2", "t")
    assert set(stored) == {"label", "tag", "SerializedStream"}
    back = codec.decode(name, text)
    assert type(back) is TaggedBatch and back == batch
    assert back.readings[1] == {"set", "of", "words"} and back.added_later == Reading(9)


def test_pickle_message_stored_without_a_pickle_uses_its_columns() -> None:
    back = codec.decode("unitmsg.Batch", '{"label": "typed in the portal"}')
    assert (back.label, back.count, back.readings) == ("typed in the portal", 1, None)


def test_pickle_message_errors_are_clear() -> None:
    import threading

    with pytest.raises(codec.MessageError, match="Batch cannot be pickled: TypeError"):
        codec.encode(Batch("x", 1, [threading.Lock()]))
    with pytest.raises(TypeError, match="SerializedStream is where PickleSerialize keeps"):
        type("Clash", (PickleSerialize,), {"SerializedStream": "x", "__module__": __name__})
    with pytest.raises(codec.MessageError, match="body does not fit unitmsg.Batch"):
        codec.decode("unitmsg.Batch", '{"SerializedStream": "bm90IGEgcGlja2xl"}')
