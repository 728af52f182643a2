"""An operator's actions on an item's queue, on every backend: list it (keyset pages,
in-progress entries with their lease owner), abort and suspend waiting messages."""

from __future__ import annotations

import json

import pytest

from iop.engine import queue_actions, suspended
from iop.engine.queue_actions import NotWaiting
from iop.store import queries as q
from iop.store import records as r
from iop.store.base import Store


def _send(store: Store, count: int, target: str = "Op", **fields: object) -> list[int]:
    return store.send([r.MessageDraft(source="Svc", target=target, body_class="demo.Msg",
                                      body_text=json.dumps({"n": n}), **fields)  # type: ignore[arg-type]
                       for n in range(count)])


def test_queue_pages_oldest_first_and_marks_the_messages_in_progress(store: Store) -> None:
    ids = _send(store, 5)
    _send(store, 2, target="Other")
    held = store.claim("Op", "job-7", 1, 60)
    assert [d.header.id for d in held] == ids[:1]

    first = queue_actions.queue_page(store, "Op", limit=2)
    assert [m["id"] for m in first["messages"]] == ids[:2]
    assert first["messages"][0]["in_progress"] and first["messages"][0]["lease_owner"] == "job-7"
    assert not first["messages"][1]["in_progress"] and first["messages"][1]["lease_owner"] is None
    second = queue_actions.queue_page(store, "Op", first["next_after_id"], limit=2)
    assert [m["id"] for m in second["messages"]] == ids[2:4]
    last = queue_actions.queue_page(store, "Op", second["next_after_id"], limit=2)
    assert [m["id"] for m in last["messages"]] == ids[4:] and last["next_after_id"] is None
    assert queue_actions.queue_page(store, "Nobody")["messages"] == []


def test_abort_takes_waiting_messages_out_marks_them_aborted_and_logs_who(store: Store) -> None:
    ids = _send(store, 3)
    done = queue_actions.act(store, "Op", ids[:2], "abort", "alice")
    assert done == [{"id": ids[0], "status": "aborted"}, {"id": ids[1], "status": "aborted"}]
    assert [store.get_header(i).status for i in ids] == ["aborted", "aborted", "queued"]  # type: ignore[union-attr]
    assert "aborted by alice" in (store.get_header(ids[0]).error or "")  # type: ignore[union-attr]
    assert store.queue_counts() == {"Op": 1}
    assert [d.header.id for d in store.claim("Op", "job", 10, 30)] == ids[2:]  # never delivered
    lines = [e.text for e in store.search_log(q.LogFilter(item="Op"))]
    assert f"message {ids[0]} aborted by alice from the queue of Op" in lines
    assert store.item_counts()["Op"].received.get("aborted") == 2


def test_suspend_moves_a_message_to_the_suspended_ones_where_resubmit_works(store: Store) -> None:
    (header_id,) = _send(store, 1)
    queue_actions.act(store, "Op", [header_id], "suspend", "bob")
    assert store.get_header(header_id).status == "suspended"  # type: ignore[union-attr]
    assert store.queue_counts() == {}
    assert [h.id for h in suspended.list_suspended(store)] == [header_id]
    suspended.resubmit(store, [header_id])
    assert [d.header.id for d in store.claim("Op", "job", 10, 30)] == [header_id]


def test_in_progress_or_absent_messages_are_refused_and_nothing_changes(store: Store) -> None:
    ids = _send(store, 2)
    store.claim("Op", "job-9", 1, 60)
    with pytest.raises(NotWaiting, match=f"message {ids[0]} is in progress \\(held by job "
                                         "job-9\\).*nothing was aborted"):
        queue_actions.act(store, "Op", [ids[1], ids[0]], "abort", "alice")
    assert store.get_header(ids[1]).status == "queued"  # type: ignore[union-attr]
    with pytest.raises(NotWaiting, match=f"message {ids[1]} is not waiting in the queue of "
                                         "Elsewhere"):
        queue_actions.act(store, "Elsewhere", [ids[1]], "suspend")
    with pytest.raises(NotWaiting, match="message 999999 is not waiting"):
        queue_actions.act(store, "Op", [999999], "abort")
    assert store.queue_counts() == {"Op": 2}


def test_a_waiting_synchronous_caller_gets_an_error_answer(store: Store) -> None:
    (header_id,) = _send(store, 1, reply_to="caller-address", response_required=True,
                         priority=r.SYNC)
    queue_actions.act(store, "Op", [header_id], "abort", "carol")
    found = store.find_response(header_id)
    assert found is not None
    answer, _ = found
    assert answer.status == "error" and "aborted by carol" in (answer.error or "")
