"""Where a suspended request's response goes, on every backend: a business process instance
that asked for it keeps waiting while it is suspended (resubmit delivers to it, discard
answers it with an error); a synchronous caller is answered at once, and a resubmission's
response is then kept for the trace only."""

from __future__ import annotations

import json

from iop.engine import queue_actions, suspended
from iop.store import records as r
from iop.store.base import Store


def _call_from_process(store: Store) -> tuple[int, int]:
    """A business process instance (context) waiting for its call to Op: (context, call)."""
    (request_id,) = store.send([r.MessageDraft("Svc", "Proc", "demo.Msg", "{}")])
    with store.transaction() as tx:
        tx.save_context(r.Context(id=request_id, item="Proc", request_id=request_id,
                                  state="{}", pending=1))
    (call_id,) = store.send([r.MessageDraft(
        "Proc", "Op", "demo.Msg", json.dumps({"n": 1}), session_id=request_id,
        response_required=True, context_id=request_id, completion_key="k")])
    return request_id, call_id


def test_a_waiting_process_is_not_answered_when_its_call_is_suspended(store: Store) -> None:
    context_id, call_id = _call_from_process(store)
    queue_actions.act(store, "Op", [call_id], "suspend", "bob")
    assert store.find_response(call_id) is None  # the process still waits
    (listed,) = suspended.list_suspended(store)
    route, text = suspended.response_route(store, listed)
    assert route == suspended.TO_PROCESS and "goes to business process Proc, whose instance waits" in text

    suspended.resubmit(store, [call_id])
    (delivery,) = store.claim("Op", "job", 1, 30)
    header = store.get_header(call_id)
    assert delivery.header.id == call_id and header is not None
    assert header.context_id == context_id and header.response_required  # still answers it


def test_discarding_the_call_answers_the_waiting_process_with_an_error(store: Store) -> None:
    context_id, call_id = _call_from_process(store)
    queue_actions.act(store, "Op", [call_id], "suspend", "bob")
    suspended.discard(store, [call_id])
    found = store.find_response(call_id)
    assert found is not None
    answer, _ = found
    assert answer.status == "error" and answer.context_id == context_id
    assert "discarded by an operator after it was suspended" in (answer.error or "")
    assert answer.id in [d.header.id for d in store.claim("Proc", "job", 5, 30)]


def test_an_edited_copy_answers_the_waiting_process(store: Store) -> None:
    context_id, call_id = _call_from_process(store)
    queue_actions.act(store, "Op", [call_id], "suspend", "bob")
    done = suspended.resubmit_edited(store, call_id, '{"n": 2}', check_body=False)
    copy = store.get_header(done["resubmitted_as"])
    assert copy is not None and (copy.context_id, copy.response_required,
                                 copy.completion_key) == (context_id, True, "k")


def test_an_answered_synchronous_caller_gets_no_second_answer(store: Store) -> None:
    (call_id,) = store.send([r.MessageDraft("Svc", "Op", "demo.Msg", "{}",
                                            reply_to="caller-address", response_required=True,
                                            priority=r.SYNC)])
    queue_actions.act(store, "Op", [call_id], "suspend", "bob")
    assert store.find_response(call_id) is not None  # answered with the error at once
    (listed,) = suspended.list_suspended(store)
    route, text = suspended.response_route(store, listed)
    assert route == suspended.ANSWERED and "cannot reach Svc" in text
    suspended.resubmit(store, [call_id])
    header = store.get_header(call_id)
    assert header is not None and header.reply_to is None and not header.response_required
    notes = [e for e in store.log_since(0) if e.source_class == suspended.NOTE_SOURCE]
    assert notes[-1].session_id == header.session_id
    assert notes[-1].text.startswith(f"message {call_id} resubmitted; its response cannot "
                                     "reach Svc")
