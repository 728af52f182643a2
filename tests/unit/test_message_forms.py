"""The Test form's pieces: the fields of each kind of message class, and the body a form
posts (coerced by field type, bad input named)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from iop import Field, Message, PersistentMessage, PydanticMessage
from iop.client.message_forms import fields_of
from iop.server.portal.pages_items import body_from, refusal_without_testing


@dataclass
class Order(Message):
    sku: str
    amount: float = 0.0
    urgent: bool = False
    tags: list[str] = field(default_factory=list)
    note: str | None = None


class Shout(PydanticMessage):
    text: str
    times: int = 2


class Invoice(PersistentMessage):
    number: int = Field(required=True)
    customer: str = Field("anon", max_length=20)


def _by_name(rows: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {str(r["name"]): r for r in rows}


def test_dataclass_fields_with_types_defaults_and_required() -> None:
    rows = _by_name(fields_of(Order))
    assert list(rows) == ["sku", "amount", "urgent", "tags", "note"]
    assert rows["sku"] == {"name": "sku", "type": "str", "kind": "str", "required": True,
                           "default": None}
    assert rows["amount"]["kind"] == "float" and rows["amount"]["default"] == 0.0
    assert rows["urgent"]["kind"] == "bool"
    assert rows["tags"]["kind"] == "json" and rows["tags"]["required"] is False
    assert rows["note"]["kind"] == "str"  # Optional[str] is edited as text


def test_pydantic_and_persistent_fields() -> None:
    shout = _by_name(fields_of(Shout))
    assert shout["text"]["required"] is True and shout["times"]["default"] == 2
    assert shout["times"]["kind"] == "int"
    invoice = _by_name(fields_of(Invoice))
    assert invoice["number"] == {"name": "number", "type": "int", "kind": "int",
                                 "required": True, "default": None}
    assert invoice["customer"]["default"] == "anon"


def test_body_from_fields_coerces_each_kind() -> None:
    form = {"mode": ["fields"], "field:sku": ["A1"], "kind:sku": ["str"],
            "field:amount": ["2.5"], "kind:amount": ["float"],
            "field:urgent": ["0", "1"], "kind:urgent": ["bool"],
            "field:tags": ['["x"]'], "kind:tags": ["json"],
            "field:n": [""], "kind:n": ["int"]}
    assert body_from(form) == {"sku": "A1", "amount": 2.5, "urgent": True, "tags": ["x"]}


@pytest.mark.parametrize(("kind", "text", "said"), [
    ("int", "two", "field f: 'two' is not a whole number"),
    ("float", "x", "field f: 'x' is not a number"),
    ("json", "[1,", "field f: not JSON"),
])
def test_body_from_names_a_bad_field(kind: str, text: str, said: str) -> None:
    with pytest.raises(ValueError, match=said.replace("[", r"\[")):
        body_from({"mode": ["fields"], "field:f": [text], "kind:f": [kind]})


def test_json_mode_and_refusal_without_testing() -> None:
    assert body_from({"mode": ["json"], "body": [' {"a": 1} ']}) == '{"a": 1}'
    assert body_from({"mode": ["json"], "body": [""]}) is None
    assert refusal_without_testing("P", True) is None
    assert "Testing is not enabled for production P" in str(refusal_without_testing("P", False))
