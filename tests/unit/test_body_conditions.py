"""Parsing the message viewer's body conditions and the export's spreadsheet-safe cells
(pure functions; the SQL they lead to is tested on both backends in
tests/backends/test_store_body_search.py)."""

from __future__ import annotations

import csv
import io

import pytest

from iop.server.portal.exports import csv_text, safe_cell, utc_iso
from iop.store.conditions import Condition, parse_condition, parse_conditions, parse_path


@pytest.mark.parametrize(("text", "expected"), [
    ("amount > 500", Condition(("amount",), ">", 500)),
    ("amount>=-2.5", Condition(("amount",), ">=", -2.5)),
    ("amount <= 1e3", Condition(("amount",), "<=", 1000.0)),
    ('status = "NEW"', Condition(("status",), "=", "NEW")),
    ("status != shipped", Condition(("status",), "!=", "shipped")),
    ('name = "two \\"words\\""', Condition(("name",), "=", 'two "words"')),
    ("customer.name CONTAINS ada", Condition(("customer", "name"), "contains", "ada")),
    ("lines[0].sku contains 12", Condition(("lines", 0, "sku"), "contains", "12")),
    ("paid = true", Condition(("paid",), "=", True)),
    ("note != null", Condition(("note",), "!=", None)),
    ('code = "007"', Condition(("code",), "=", "007")),
])
def test_conditions_parse(text: str, expected: Condition) -> None:
    assert parse_condition(text) == expected


@pytest.mark.parametrize(("text", "says"), [
    ("amount", "is not 'field operator value'"),
    ("amount ~ 5", "is not 'field operator value'"),
    ("amount >", "has no value"),
    ("amount >> 5", "is not a number"),
    ("status = two words", "is not a number"),
    ('status = "open', "closed \"quoted\" text"),
    ("amount < true", "true/false can only be compared"),
    ("amount > null", "null can only be compared"),
    ("$.amount > 1", "is not a field path"),
    ("a..b = 1", "is not a field path"),
    ("a[x] = 1", "is not a field path"),
    ("a.b.c.d.e.f.g.h.i = 1", "deeper than 8"),
    ("amount = 1e999", "not a finite number"),
    ("x" * 1001, "longer than 1000"),
    ('status contains ""', "contains needs a text"),
])
def test_bad_conditions_say_what_is_wrong_in_one_line(text: str, says: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_condition(text)
    message = str(caught.value)
    assert says in message and "\n" not in message and len(message) < 300


def test_conditions_one_per_line_and_bounded() -> None:
    assert parse_conditions("a = 1\n\n  b > 2 \n") == (Condition(("a",), "=", 1),
                                                       Condition(("b",), ">", 2))
    assert parse_conditions("") == ()
    with pytest.raises(ValueError, match="at most 10 conditions"):
        parse_conditions("\n".join(["a = 1"] * 11))
    assert parse_path("a[2][3].b") == ("a", 2, 3, "b")
    assert str(parse_condition("lines[0].sku = A-1")) == 'lines[0].sku = "A-1"'


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx",
                                  '=HYPERLINK("http://x")'])
def test_cells_a_spreadsheet_would_run_become_text(cell: str) -> None:
    assert safe_cell(cell) == "'" + cell
    rows = list(csv.DictReader(io.StringIO(csv_text([{"id": 1, "created": 0.5,
                                                      "error": cell}]), newline="")))
    assert rows[0]["error"] == "'" + cell


def test_plain_cells_and_times_are_kept() -> None:
    assert safe_cell("plain") == "plain" and safe_cell(None) == "" and safe_cell(12) == "12"
    assert safe_cell("x" * 40_000).endswith("…(cut)")
    assert utc_iso(86400.25) == "1970-01-02T00:00:00.250Z" and utc_iso(None) == ""
