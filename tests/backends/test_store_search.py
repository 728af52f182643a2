"""The operator's searches on both backends: message filters with keyset paging, event log
filters, the applied definition, and the indexes that keep them fast."""

from __future__ import annotations

import time

from iop.store import records as r
from iop.store.base import Store
from iop.store.queries import LogFilter, MessageFilter


def _draft(source: str, target: str, text: str, body_class: str = "demo.Order",
           **extra: object) -> r.MessageDraft:
    return r.MessageDraft(source, target, body_class, text, **extra)  # type: ignore[arg-type]


def _seed(store: Store) -> list[int]:
    """Twelve messages: sessions, sources, targets, classes and bodies to filter on."""
    ids: list[int] = []
    for n in range(10):
        target = "Pricing" if n % 2 else "Audit"
        ids += store.send([_draft("Poller", target, f'{{"order_id": "ord-{n}", "note": '
                                  f'"{"50%_off" if n == 7 else "plain"}"}}')])
    first = ids[0]
    ids += store.send([_draft("Pricing", "Poller", '{"accepted": true}', "demo.Answer",
                              type=r.RESPONSE, session_id=first, corresponding_id=first,
                              status=r.COMPLETED, enqueue=False)])
    ids += store.send([_draft("Web", "Pricing", '{"order_id": "WEB-1"}', status=r.ERROR,
                              error="ValueError: bad", enqueue=False)])
    return ids


def _ids(headers: list[r.Header]) -> list[int]:
    return [h.id for h in headers]


def test_message_filters_each_narrow_the_result(store: Store) -> None:
    ids = _seed(store)
    everything = store.search_messages(MessageFilter(), limit=100)
    assert _ids(everything) == ids[::-1]  # newest first

    assert _ids(store.search_messages(MessageFilter(source="Web"))) == [ids[11]]
    by_target = store.search_messages(MessageFilter(target="Pricing"))
    assert {h.target for h in by_target} == {"Pricing"} and len(by_target) == 6
    assert _ids(store.search_messages(MessageFilter(status="error"))) == [ids[11]]
    assert _ids(store.search_messages(MessageFilter(type="response"))) == [ids[10]]
    assert _ids(store.search_messages(MessageFilter(body_class="demo.Answer"))) == [ids[10]]
    assert _ids(store.search_messages(MessageFilter(session_id=ids[0]))) == [ids[10], ids[0]]
    # text in the body: case-insensitive, and LIKE's wildcards are taken literally
    assert _ids(store.search_messages(MessageFilter(text="web-1"))) == [ids[11]]
    assert _ids(store.search_messages(MessageFilter(text="50%_off"))) == [ids[7]]
    assert store.search_messages(MessageFilter(text="50%%")) == []
    # filters combine
    assert _ids(store.search_messages(MessageFilter(target="Pricing", source="Poller",
                                                    text="ord-3"))) == [ids[3]]
    assert store.search_messages(MessageFilter(target="Nobody")) == []


def test_message_time_range(store: Store) -> None:
    early = store.send([_draft("A", "B", "{}")])[0]
    middle_time = time.time() + 0.001
    while time.time() <= middle_time:
        time.sleep(0.005)
    late = store.send([_draft("A", "B", "{}")])[0]
    created = {h.id: h.created for h in store.search_messages(MessageFilter())}
    assert created[early] < middle_time <= created[late]
    assert _ids(store.search_messages(MessageFilter(since=middle_time))) == [late]
    assert _ids(store.search_messages(MessageFilter(until=middle_time))) == [early]
    assert store.search_messages(MessageFilter(since=created[late] + 1)) == []


def test_message_keyset_pages_are_stable_while_messages_arrive(store: Store) -> None:
    ids = [store.send([_draft("S", "T", f'{{"n": {n}}}')])[0] for n in range(25)]
    first = store.search_messages(MessageFilter(), limit=10)
    assert _ids(first) == ids[::-1][:10]
    store.send([_draft("S", "T", '{"n": "late"}')])  # arrives while the user reads page 1
    second = store.search_messages(MessageFilter(), before_id=first[-1].id, limit=10)
    assert _ids(second) == ids[::-1][10:20]
    third = store.search_messages(MessageFilter(), before_id=second[-1].id, limit=10)
    assert _ids(third) == ids[::-1][20:]
    # back towards the newest: the page just above an id, still newest first
    back = store.search_messages(MessageFilter(), after_id=second[0].id, limit=10)
    assert _ids(back) == _ids(first)
    assert len(store.search_messages(MessageFilter(), limit=5000)) == 26  # capped, not refused


def test_event_log_filters(store: Store) -> None:
    store.log([r.LogEntry("info", "order 1 priced", item="Pricing", session_id=7),
               r.LogEntry("error", "Pricing failed: KeyError", item="Pricing", session_id=8),
               r.LogEntry("info", "audit ok", item="Audit", session_id=7),
               r.LogEntry("warning", "100% busy", item="Audit")])
    texts = [e.text for e in store.search_log(LogFilter())]
    assert texts == ["100% busy", "audit ok", "Pricing failed: KeyError", "order 1 priced"]
    assert [e.text for e in store.search_log(LogFilter(type="Error"))] == \
        ["Pricing failed: KeyError"]
    assert [e.text for e in store.search_log(LogFilter(item="Audit"))] == \
        ["100% busy", "audit ok"]
    assert [e.text for e in store.search_log(LogFilter(session_id=7))] == \
        ["audit ok", "order 1 priced"]
    assert [e.text for e in store.search_log(LogFilter(text="PRICING"))] == \
        ["Pricing failed: KeyError"]
    assert [e.text for e in store.search_log(LogFilter(text="100%"))] == ["100% busy"]
    newest = store.search_log(LogFilter(), limit=1)[0]
    store.log([r.LogEntry("info", "tail me", item="Audit")])
    assert [e.text for e in store.search_log(LogFilter(item="Audit"),
                                             after_id=newest.id)] == ["tail me"]
    oldest_two = store.search_log(LogFilter(), before_id=newest.id - 1, limit=5)
    assert [e.text for e in oldest_two] == ["Pricing failed: KeyError", "order 1 priced"]


def test_recent_body_classes_and_applied_definition(store: Store) -> None:
    store.send([_draft("S", "T", "{}", "b.Two"), _draft("S", "T", "{}", "a.One"),
                r.MessageDraft("S", "T", None, None)])
    assert store.recent_body_classes() == ["a.One", "b.Two"]
    definition = {"Production": {"@Name": "P", "Item": []}}
    store.save_production("P", definition)
    assert store.get_applied("P") is None and store.get_applied("Missing") is None
    store.mark_production("P", applied=definition)
    assert store.get_applied("P") == definition


def test_schema_2_indexes_serve_the_viewer(store: Store) -> None:
    """The first page of a rare filter is read through an index, not a scan of all headers."""
    if store.backend == "sqlite":
        conn = store.conn  # type: ignore[attr-defined]
        names = {row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index'")}
        plan = " ".join(str(row) for row in conn.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM headers h WHERE h.status = 'error' AND "
            "h.status IN ('error', 'discarded', 'suspended', 'aborted') ORDER BY h.id DESC "
            "LIMIT 50"))
        assert "headers_trouble" in plan
    else:
        names = {row[0] for row in store._rows(  # type: ignore[attr-defined]
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")}
    assert {"headers_target", "headers_source", "headers_created", "headers_trouble",
            "log_session"} <= names
    assert store.schema_version() >= 2
