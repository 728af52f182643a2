"""The one set of body limits (iop.messages.json_body) and the edge check of dataclass field
types (codec.check_field_types / build(strict=True)); decoding stored messages stays as IoP's."""

from __future__ import annotations

import dataclasses

import pytest

from iop.errors import MessageError
from iop.messages import codec
from iop.messages.json_body import (
    MAX_BODY_BYTES,
    MAX_JSON_DEPTH,
    BodyError,
    check_depth,
    decode_utf8,
    parse_json,
)


@dataclasses.dataclass
class Inner:
    code: int = 0


@dataclasses.dataclass
class Typed:
    uid: str = ""
    count: int = 0
    ratio: float = 0.0
    tags: list[str] = dataclasses.field(default_factory=list)
    maybe: int | None = None
    inner: Inner | None = None


@dataclasses.dataclass
class Refuses:
    n: int = 0

    def __post_init__(self) -> None:
        raise RuntimeError("no thanks")


@pytest.mark.parametrize("raw, needle", [
    (b"\x00\x01\xff", "binary data"),
    (b'{"a": "caf\xe9"}', "not valid UTF-8 (byte 0xe9 at offset 10)"),
    ('{"a": "\udce9"}', "not valid UTF-8"),  # a command-line argument's surrogate escape
    (b"{}\x00", "NUL byte at offset 2"),
    ('{"a": "\\udce9"}', "lone surrogate"),  # valid JSON, not valid Unicode
    ("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1), f"deeper than {MAX_JSON_DEPTH}"),
    ("[" * 100_000 + "]" * 100_000, f"deeper than {MAX_JSON_DEPTH}"),
    ('{"a": ', "not valid JSON"),
    ("1" * 5000, "not valid JSON"),  # an integer too long for Python's int conversion
    (b" " * (MAX_BODY_BYTES + 1), f"limit of {MAX_BODY_BYTES} bytes"),
])
def test_bodies_breaking_a_limit_are_refused_in_one_line(raw: bytes | str, needle: str) -> None:
    with pytest.raises(BodyError) as refused:
        parse_json(raw, "the body")
    text = str(refused.value)
    assert needle in text and text.startswith("the body ") and "\n" not in text


def test_bodies_within_the_limits_parse() -> None:
    deepest = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert parse_json(deepest) is not None
    assert parse_json('{"a": "[[[[' + "[" * 100 + '"}') == {"a": "[[[[" + "[" * 100}
    assert parse_json('{"a": "caf\u00e9"}'.encode()) == {"a": "caf\u00e9"}
    assert parse_json('"\\ud83d\\ude00"') == "\U0001f600"  # a surrogate pair is fine
    assert decode_utf8("plain text") == "plain text"
    check_depth(b'["\\"[[' + b"{" * 100 + b'"]')


@pytest.mark.parametrize("data, needle", [
    ({"uid": 12345}, "Typed.uid expects str, got int 12345"),
    ({"count": "many"}, "Typed.count expects int"),
    ({"count": 1.5}, "Typed.count expects int"),
    ({"tags": [1, 2]}, "Typed.tags expects list[str]"),
    ({"maybe": "x"}, "Typed.maybe expects int | None"),
    ({"inner": {"code": "x"}}, "Inner.code expects int"),
])
def test_strict_build_refuses_values_not_of_their_field_type(data: dict[str, object],
                                                             needle: str) -> None:
    with pytest.raises(MessageError, match=needle.replace("|", r"\|").replace("[", r"\[")):
        codec.build(Typed, data, strict=True)
    codec.build(Typed, data)  # decoding what is stored keeps IoP's leniency


def test_strict_build_accepts_what_pydantic_would() -> None:
    built = codec.build(Typed, {"uid": "12345", "count": "7", "ratio": 2, "maybe": None,
                                "inner": {"code": 3}}, strict=True)
    assert built.uid == "12345" and built.inner == Inner(3)


def test_a_constructor_that_raises_is_named_in_one_line() -> None:
    with pytest.raises(MessageError) as refused:
        codec.build(Refuses, {"n": 1})
    text = str(refused.value)
    assert "Refuses could not be created: RuntimeError: no thanks" in text
    assert "\n" not in text


def test_a_setting_value_its_type_cannot_read_is_a_migration_error() -> None:
    from iop import PollingBusinessService, Production, setting
    from iop.production.validation import ERROR, check_production

    class Ticker(PollingBusinessService):
        Batch = setting(10)

    prod = Production("Unit.Settings")
    prod.service("Ticker", Ticker).host_setting("Batch", "0.1") \
        .adapter_setting("CallInterval", "soon")
    issues = check_production(prod)
    assert sorted((i.level, str(i)) for i in issues) == [
        (ERROR, "item Ticker: adapter setting CallInterval='soon' is not a valid float"),
        (ERROR, "item Ticker: host setting Batch='0.1' is not a valid int")]
    fine = Production("Unit.Settings")
    # "5" for an int is common in settings files; CallInterval is %Numeric in IRIS.
    fine.service("Ticker", Ticker).host_setting("Batch", "5") \
        .adapter_setting("CallInterval", "0.1")
    assert check_production(fine) == []
