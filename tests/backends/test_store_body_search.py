"""The message viewer's extended search on both backends: conditions on body fields (JSON
bodies and PersistentMessage bodies), partial item names, short body class names, the result
count, oldest-first pages, and hostile conditions that must stay data."""

from __future__ import annotations

import json
from typing import Any

import pytest

from iop.messages import codec
from iop.messages.persistent import PersistentMessage
from iop.store import records as r
from iop.store.base import Store
from iop.store.conditions import parse_condition, parse_conditions
from iop.store.queries import MessageFilter


class Invoice(PersistentMessage):
    amount: float = 0.0
    status: str = ""
    paid: bool = False


def _send(store: Store, source: str, target: str, body: dict[str, object] | str,
          body_class: str = "demo.msgs.Order") -> int:
    text = body if isinstance(body, str) else json.dumps(body)
    return store.send([r.MessageDraft(source, target, body_class, text)])[0]


def _seed(store: Store) -> dict[str, int]:
    ids = {
        "big": _send(store, "OrderService", "PricingProcess",
                     {"amount": 900, "status": "NEW", "customer": {"name": "Ada"},
                      "lines": [{"sku": "A-1"}]}),
        "small": _send(store, "OrderService", "PricingProcess",
                       {"amount": 40.5, "status": "shipped", "customer": {"name": "Bob"}}),
        "text_amount": _send(store, "WebService", "PricingBackup",
                             {"amount": "900", "status": "NEW"}),
        "other_class": _send(store, "WebService", "Audit", {"amount": 700, "flag": True,
                                                            "note": None},
                             "demo.other.Ticket"),
        "not_json": _send(store, "WebService", "Audit", "plain text, not JSON"),
    }
    # JSON that PostgreSQL's jsonb refuses (a NUL character): searched around, never an error
    ids["nul"] = _send(store, "Other", "Other", {"amount": 5, "text": "nul\u0000"}, "demo.Nul")
    invoice = Invoice(amount=1250.0, status="open", paid=False)
    name, text = codec.encode(invoice)
    ids["invoice"] = store.send([r.MessageDraft("Billing", "Ledger", name, text,
                                                typed=codec.typed_row_of(invoice))])[0]
    return ids


def _found(store: Store, *conditions: str, **filters: object) -> set[int]:
    f = MessageFilter(conditions=tuple(parse_condition(c) for c in conditions),
                      **filters)  # type: ignore[arg-type]
    return {h.id for h in store.search_messages(f, limit=100)}


def test_conditions_on_json_bodies_compare_numbers_as_numbers(store: Store) -> None:
    ids = _seed(store)
    assert _found(store, "amount > 500") == {ids["big"], ids["other_class"], ids["invoice"]}
    assert _found(store, "amount <= 40.5") - {ids["nul"]} == {ids["small"]}
    assert _found(store, "amount != 900") - {ids["nul"]} == {ids["small"], ids["other_class"],
                                              ids["invoice"]}
    assert _found(store, "amount = 900") == {ids["big"]}  # the text "900" is not 900
    assert _found(store, 'amount = "900"') == {ids["text_amount"]}
    assert _found(store, 'status = "NEW"') == {ids["big"], ids["text_amount"]}
    assert _found(store, "status = shipped") == {ids["small"]}
    assert _found(store, "status contains hip") == {ids["small"]}
    assert _found(store, "status contains new") == {ids["big"], ids["text_amount"]}
    assert _found(store, "customer.name = Ada") == {ids["big"]}
    assert _found(store, 'lines[0].sku = "A-1"') == {ids["big"]}
    assert _found(store, "flag = true") == {ids["other_class"]}
    assert _found(store, "note = null") == {ids["other_class"]}
    assert _found(store, "missing = 1") == set()
    # all conditions must hold, and they combine with the other filters
    assert _found(store, "amount > 500", 'status = "NEW"') == {ids["big"]}
    assert _found(store, "amount > 500", target="Audit") == {ids["other_class"]}


def test_conditions_on_persistent_message_fields(store: Store) -> None:
    ids = _seed(store)
    invoice_class = store.get_header(ids["invoice"]).body_class
    assert invoice_class is not None and invoice_class.endswith(".Invoice")
    assert _found(store, "amount >= 1250") == {ids["invoice"]}
    assert _found(store, "paid = false", "status = open") == {ids["invoice"]}
    assert _found(store, "amount > 1000", body_class="Invoice") == {ids["invoice"]}
    # the full class name: its typed table's columns serve the conditions they can
    for conditions in (("amount > 1000",), ("amount = 1250",), ("status = open",),
                       ("status contains PE",), ("paid = false", "amount < 2000"),
                       ("amount > 1000", "status != closed")):
        assert _found(store, *conditions, body_class=invoice_class) == {ids["invoice"]}, \
            conditions
    for conditions in (("amount > 1250",), ('amount = "1250"',), ("status != open",),
                       ("paid = true",), ("status = 1",)):
        assert _found(store, *conditions, body_class=invoice_class) == set(), conditions
    f = MessageFilter(body_class=invoice_class, conditions=parse_conditions("amount > 1000"))
    assert store.count_messages(f) == 1


def test_the_typed_table_is_what_is_read(store: Store) -> None:
    """With a PersistentMessage class named in full, its typed table answers the condition."""
    from iop.messages.persistent import table_name
    from iop.store import queries as q

    ids = _seed(store)
    invoice_class = store.get_header(ids["invoice"]).body_class
    assert invoice_class is not None
    f = MessageFilter(body_class=invoice_class, conditions=parse_conditions("amount > 1000"))
    sql_store: Any = store
    query, args, _ = q.message_search_sql(
        f, sql_store.dialect.mark, sql_store.dialect.like, "h.id", None, None, 10,
        trouble_column=sql_store.dialect.trouble_column,
        body_exists=sql_store.dialect.body_exists, typed=sql_store._typed_table(f))
    assert f'"{sql_store._typed_table_name(invoice_class)}" t' in query
    assert table_name(invoice_class).startswith("msg_")
    assert "bodies" not in query  # no JSON read at all
    assert [row[0] for row in sql_store._rows(query, args)] == [ids["invoice"]]


def test_partial_names_short_class_names_count_and_order(store: Store) -> None:
    ids = _seed(store)
    assert _found(store, target="pricing") == {ids["big"], ids["small"], ids["text_amount"]}
    # a name that is exactly an item's selects that item only
    assert _found(store, target="PricingProcess") == {ids["big"], ids["small"]}
    assert _found(store, source="WEB") == {ids["text_amount"], ids["other_class"],
                                           ids["not_json"]}
    assert _found(store, source="nobody") == set()
    # a production's item with no message yet: its exact name selects it alone
    assert _found(store, target="Pricing", item_names=("Pricing",)) == set()
    assert _found(store, target="Pricing") == {ids["big"], ids["small"], ids["text_amount"]}
    assert _found(store, body_class="Order") == {ids["big"], ids["small"],
                                                 ids["text_amount"], ids["not_json"]}
    assert _found(store, body_class="demo.other.Ticket") == {ids["other_class"]}
    assert _found(store, body_class="Ord") == set()  # a short name is the whole last part

    assert store.count_messages(MessageFilter()) == 7
    assert store.count_messages(MessageFilter(source="web")) == 3
    assert store.count_messages(MessageFilter(), cap=4) == 4  # counted up to the cap
    f = MessageFilter(conditions=parse_conditions("amount > 500"))
    assert store.count_messages(f) == 3

    every = sorted(ids.values())
    oldest = store.search_messages(MessageFilter(oldest_first=True), limit=4)
    assert [h.id for h in oldest] == every[:4]
    nxt = store.search_messages(MessageFilter(oldest_first=True), after_id=oldest[-1].id,
                                limit=4)
    assert [h.id for h in nxt] == every[4:]
    back = store.search_messages(MessageFilter(oldest_first=True), before_id=nxt[0].id,
                                 limit=2)
    assert [h.id for h in back] == every[2:4]  # still oldest first


@pytest.mark.parametrize("hostile", [
    "amount'); DROP TABLE headers; -- > 1",
    'a" = 1 OR "1" = "1',
    "amount OR 1=1 > 0",
    "$.amount > 1",
    "amount[0 > 1",
    "a..b = 1",
    "amount > 1 OR 1 = 1; DELETE FROM bodies",
    "amount >",
    "amount ~ 5",
    "amount >> 5",
    "status = two words",
    "amount < true",
    "x" * 1100 + " = 1",
])
def test_hostile_conditions_are_refused_or_stay_data(store: Store, hostile: str) -> None:
    ids = _seed(store)
    try:
        conditions = parse_conditions(hostile)
    except ValueError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 300  # one clear line
        conditions = None
    if conditions is not None:  # parsed: the value is bound, never SQL
        f = MessageFilter(conditions=conditions)
        assert {h.id for h in store.search_messages(f)} <= set(ids.values())
    assert store.count_messages(MessageFilter()) == len(ids)  # nothing was dropped


@pytest.mark.parametrize("body_class", [
    'x"; DROP TABLE headers; --.Y', "demo.msgs.Order' OR '1'='1", "a.b\"c", "%.Order",
])
def test_hostile_body_classes_with_conditions(store: Store, body_class: str) -> None:
    ids = _seed(store)
    f = MessageFilter(body_class=body_class, conditions=parse_conditions("amount > 1"))
    assert store.search_messages(f) == [] and store.count_messages(f) == 0
    assert store.count_messages(MessageFilter()) == len(ids)


@pytest.mark.parametrize("value", [
    "1; DROP TABLE headers", "' OR '1'='1", '" OR 1=1 --', "%", "_", "\\", "tab\there",
    "'); DELETE FROM bodies; --",
])
def test_hostile_values_match_only_themselves(store: Store, value: str) -> None:
    ids = _seed(store)
    literal = _send(store, "S", "T", {"status": value})
    for op in ("=", "contains"):
        condition = parse_condition(f"status {op} {json.dumps(value)}")
        found = {h.id for h in store.search_messages(MessageFilter(conditions=(condition,)))}
        assert found == {literal}, (op, value)
    assert store.count_messages(MessageFilter()) == len(ids) + 1
