"""Delivery semantics every backend keeps: sends, claims, leases, sessions, responses, queries."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from backends_support import Backend

from iop.store import records as r
from iop.store.base import Store


def draft(target: str = "Op", n: int = 0, **fields: Any) -> r.MessageDraft:
    """A request to ``target`` with body ``{"n": n}``."""
    fields.setdefault("source", "Svc")
    return r.MessageDraft(target=target, body_class="demo.Msg", body_text=json.dumps({"n": n}),
                          **fields)


def body_numbers(deliveries: list[r.Delivery]) -> list[int]:
    return [json.loads(d.body_text or "{}")["n"] for d in deliveries]


# ---------------------------------------------------------------------------- send and claim


def test_send_is_durable_and_claims_oldest_first(backend: Backend, store: Store) -> None:
    ids = store.send([draft(n=i) for i in range(3)])
    assert ids == sorted(ids) and len(set(ids)) == 3
    other = backend.open(initialize=False)  # a second connection sees the committed send
    assert [h.id for h in other.query_headers(oldest_first=True)] == ids
    assert store.has_work("Op") and not store.has_work("Elsewhere")
    assert store.queue_counts() == {"Op": 3}

    first = store.claim("Op", "job-a", 2, 30)
    assert body_numbers(first) == [0, 1]
    assert [d.header.status for d in first] == ["delivered", "delivered"]
    assert [(d.attempts, d.header.attempts) for d in first] == [(1, 1), (1, 1)]
    assert store.get_header(ids[0]).status == "delivered"  # type: ignore[union-attr]
    second = other.claim("Op", "job-b", 10, 30)
    assert body_numbers(second) == [2]
    assert store.claim("Op", "job-c", 10, 30) == []
    assert not store.has_work("Op")
    assert store.queue_counts() == {"Op": 3}  # leased entries still count as waiting


def test_claim_without_check_first_and_inside_a_transaction(store: Store) -> None:
    store.send([draft(n=1), draft(n=2)])
    assert body_numbers(store.claim("Op", "job", 1, 30, check_first=False)) == [1]
    with store.transaction() as tx:
        got = tx.claim("Op", "job", 5, 30)
    assert body_numbers(got) == [2]
    assert store.claim("Op", "job", 5, 30, check_first=False) == []


def test_finish_delivery_completes_and_empties_the_queue(store: Store) -> None:
    (header_id,) = store.send([draft()])
    (delivery,) = store.claim("Op", "job", 5, 30)
    with store.transaction() as tx:
        assert tx.finish_delivery(delivery.queue_id, "job")
        assert tx.set_status(header_id, r.COMPLETED)
    header = store.get_header(header_id)
    assert header is not None and header.status == "completed" and header.processed
    assert store.queue_counts() == {}
    with store.transaction() as tx:
        assert not tx.finish_delivery(delivery.queue_id, "job")  # already gone


def test_complete_delivery_finishes_and_records_the_status_together(store: Store) -> None:
    (done, timed_out, kept) = store.send([draft(n=1), draft(n=2, priority=r.SYNC), draft(n=3)])
    with store.transaction() as tx:  # the caller of the second one gave up waiting
        assert tx.set_status(timed_out, r.ERROR, f"{r.TIMED_OUT} after 1 s")
    first, second, third = store.claim("Op", "job", 5, 30)
    with store.transaction() as tx:
        assert tx.complete_delivery(first.queue_id, "job", done, r.COMPLETED) == (True, True)
        assert tx.complete_delivery(second.queue_id, "job", timed_out, r.COMPLETED) == \
            (True, False)  # finished, but the timed-out caller's error stays
        assert tx.complete_delivery(third.queue_id, "job", kept, None) == (True, False)
        # Not (or no longer) ours: nothing is written at all.
        assert tx.complete_delivery(first.queue_id, "job", done, r.ERROR, "late") == \
            (False, False)
    statuses = {h.id: (h.status, h.error) for h in store.query_headers(target="Op", limit=0)}
    assert statuses == {done: ("completed", None),
                        timed_out: ("error", "timed out after 1 s"),
                        kept: ("delivered", None)}
    assert store.queue_counts() == {}

    (again,) = store.send([draft(n=4)])
    (delivery,) = store.claim("Op", "job", 5, 30)
    with store.transaction() as tx:
        assert tx.complete_delivery(delivery.queue_id, "other-job", again, r.COMPLETED) == \
            (False, False)
    assert store.get_header(again).status == "delivered"  # type: ignore[union-attr]
    assert store.queue_counts() == {"Op": 1}


def _answer(request_id: int, n: int) -> r.MessageDraft:
    return r.MessageDraft("Op", "Svc", "demo.Reply", json.dumps({"n": n}), type=r.RESPONSE,
                          priority=r.SYNC, corresponding_id=request_id, status=r.COMPLETED,
                          enqueue=False)


def test_an_answer_is_stored_with_the_completion_only_while_the_lease_is_held(
        store: Store) -> None:
    done, timed_out, lost = store.send([draft(n=1, priority=r.SYNC),
                                        draft(n=2, priority=r.SYNC),
                                        draft(n=3, priority=r.SYNC)])
    with store.transaction() as tx:  # the caller of the second one gave up waiting
        assert tx.set_status(timed_out, r.ERROR, f"{r.TIMED_OUT} after 1 s")
    first, second, third = store.claim("Op", "job", 5, 30)
    answers = [_answer(done, 1), _answer(timed_out, 2), _answer(lost, 3)]
    with store.transaction() as tx:
        assert tx.complete_delivery(first.queue_id, "job", done, r.COMPLETED,
                                    answer=answers[0]) == (True, True)
        assert tx.complete_delivery(second.queue_id, "job", timed_out, r.COMPLETED,
                                    answer=answers[1]) == (True, False)
        # The lease ran out and another job finished the message: the answer is not ours.
        assert tx.complete_delivery(third.queue_id, "job", lost, r.COMPLETED) == (True, True)
        assert tx.complete_delivery(third.queue_id, "job", lost, r.COMPLETED,
                                    answer=answers[2]) == (False, False)
    found = store.find_response(done)
    assert found is not None and found[0].id == answers[0].header_id
    assert (found[0].status, found[1]) == ("completed", '{"n": 1}')
    late = store.find_response(timed_out)
    assert late is not None and late[0].status == "discarded"  # kept for the trace only
    assert store.find_response(lost) is None
    responses = store.query_headers(type="response", limit=0)
    assert sorted(h.corresponding_id for h in responses) == [done, timed_out]
    assert store.get_header(timed_out).status == "error"  # type: ignore[union-attr]
    assert store.queue_counts() == {}


def test_a_deferred_completion_reports_a_lost_lease_by_commit_time(store: Store) -> None:
    # A store may send a deferred completion with the commit: its answer then comes back
    # optimistic, and what it found out is in lost_at_commit once the transaction is done.
    ours, theirs, given_up = store.send([draft(n=1, priority=r.SYNC),
                                         draft(n=2, priority=r.SYNC),
                                         draft(n=3, priority=r.SYNC)])
    with store.transaction() as tx:
        assert tx.set_status(given_up, r.ERROR, f"{r.TIMED_OUT} after 1 s")
    (first,) = store.claim("Op", "job", 1, 30)
    (second,) = store.claim("Op", "job", 1, 0.2)
    (third,) = store.claim("Op", "job", 1, 30)
    time.sleep(0.4)  # the second one's lease runs out; another job takes it
    assert [d.header.id for d in store.claim("Op", "other", 5, 30)] == [theirs]
    answers = [_answer(ours, 1), _answer(theirs, 2), _answer(given_up, 3)]
    with store.transaction() as tx:
        results = [tx.complete_delivery(d.queue_id, "job", d.header.id, r.COMPLETED,
                                        answer=a, defer=True)
                   for d, a in zip((first, second, third), answers, strict=True)]
    assert results[0] == (True, True)
    # Not finished: reported at once (False) or at commit (counted in lost_at_commit).
    assert [f for f, _ in results].count(False) + tx.lost_at_commit == 1
    assert not results[1][0] or tx.lost_at_commit == 1
    statuses = {h.id: h.status for h in store.query_headers(target="Op", limit=0)}
    assert statuses == {ours: "completed", theirs: "delivered", given_up: "error"}
    assert store.queue_counts() == {"Op": 1}  # still the other job's
    mine = store.find_response(ours)
    assert mine is not None and mine[0].status == "completed"
    assert store.find_response(theirs) is None
    late = store.find_response(given_up)
    assert late is not None and late[0].status == "discarded"


def test_deferred_completions_of_a_batch_each_report_their_own_lease(store: Store) -> None:
    ids = store.send([draft(n=n) for n in range(4)])
    held = store.claim("Op", "job", 3, 30)
    (expiring,) = store.claim("Op", "job", 1, 0.2)
    time.sleep(0.4)
    assert [d.header.id for d in store.claim("Op", "other", 5, 30)] == [ids[3]]
    with store.transaction() as tx:
        results = [tx.complete_delivery(d.queue_id, "job", d.header.id, r.COMPLETED,
                                        defer=True) for d in [*held, expiring]]
    assert results[:3] == [(True, True)] * 3
    assert [f for f, _ in results].count(False) + tx.lost_at_commit == 1
    statuses = [store.get_header(i).status for i in ids]  # type: ignore[union-attr]
    assert statuses == ["completed", "completed", "completed", "delivered"]
    assert store.queue_counts() == {"Op": 1}


def test_a_claim_at_commit_takes_the_next_batch_with_the_commit(store: Store) -> None:
    (first_id,) = store.send([draft(n=1)])
    (first,) = store.claim("Op", "job", 5, 30)
    store.send([draft(n=2), draft(n=3)])
    with store.transaction() as tx:
        assert tx.complete_delivery(first.queue_id, "job", first_id, r.COMPLETED)[0]
        claimed = tx.claim_at_commit("Op", "job", 5, 30)
    following = claimed() if callable(claimed) else claimed
    assert body_numbers(following) == [2, 3]
    assert {d.header.status for d in following} == {"delivered"}
    assert store.claim("Op", "other", 5, 30) == []  # leased to "job" by that commit
    with store.transaction() as tx:
        claimed = tx.claim_at_commit("Op", "job", 5, 30)  # nothing else written
    assert (claimed() if callable(claimed) else claimed) == []


def test_a_claim_at_commit_respects_business_process_contexts(store: Store) -> None:
    with store.transaction() as tx:
        tx.save_context(_context(700, pending=2))
    _respond_to(store, 700, 0)
    _respond_to(store, 700, 1)
    store.send([draft(target="Proc", n=5)])
    with store.transaction() as tx:
        tx.log([r.LogEntry(type="info", text="something written")])
        claimed = tx.claim_at_commit("Proc", "job", 10, 30)
    following = claimed() if callable(claimed) else claimed
    assert body_numbers(following) == [0, 5]  # one response per instance at a time


def test_expired_lease_is_redelivered_and_the_old_owner_loses(store: Store) -> None:
    (header_id,) = store.send([draft()])
    (first,) = store.claim("Op", "slow-job", 5, 0.3)
    assert store.claim("Op", "other-job", 5, 30) == []  # the lease holds
    time.sleep(0.6)
    assert store.has_work("Op")
    (second,) = store.claim("Op", "other-job", 5, 30)
    assert second.queue_id == first.queue_id
    assert second.attempts == 2 and second.header.attempts == 2
    with store.transaction() as tx:
        assert not tx.finish_delivery(first.queue_id, "slow-job")  # lease lost: nothing written
    with store.transaction() as tx:
        assert tx.finish_delivery(second.queue_id, "other-job")
    assert store.get_header(header_id).attempts == 2  # type: ignore[union-attr]


def test_extend_leases_keeps_entries_from_expiring(store: Store) -> None:
    store.send([draft()])
    store.claim("Op", "job", 5, 0.4)
    store.extend_leases("job", 30)
    time.sleep(0.7)
    assert store.claim("Op", "thief", 5, 30) == []


def test_release_leases_makes_entries_claimable_again(store: Store) -> None:
    ids = store.send([draft(n=i) for i in range(3)])
    store.claim("Op", "dead-job", 2, 60)
    assert store.release_leases("nobody") == []
    assert sorted(store.release_leases("dead-job")) == ids[:2]
    again = store.claim("Op", "new-job", 10, 60)
    assert body_numbers(again) == [0, 1, 2]
    assert [d.attempts for d in again] == [2, 2, 1]


def test_claim_does_not_touch_headers_already_final(store: Store) -> None:
    (header_id,) = store.send([draft()])
    with store.transaction() as tx:
        tx.set_status(header_id, r.ERROR, "timed out after 1 s")
    (delivery,) = store.claim("Op", "job", 5, 30)
    assert delivery.header.status == "error"
    assert store.get_header(header_id).status == "error"  # type: ignore[union-attr]


def test_messages_not_enqueued_are_never_claimed(store: Store) -> None:
    store.send([draft(enqueue=False, status=r.COMPLETED)])
    assert store.claim("Op", "job", 5, 30, check_first=False) == []
    (header,) = store.query_headers()
    assert header.status == "completed" and header.processed is not None


# ---------------------------------------------------------------------------- group commit


def test_group_commit_from_threads(backend: Backend, store: Store) -> None:
    threads, per_thread = 8, 25
    results: dict[int, list[int]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def sender(index: int) -> None:
        try:
            start.wait()
            mine = []
            for i in range(per_thread):
                mine += store.send([draft(n=index * 1000 + i)],
                                   [r.LogEntry("info", f"sent {index}/{i}")])
            results[index] = mine
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    workers = [threading.Thread(target=sender, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert not errors
    every = [i for ids in results.values() for i in ids]
    assert len(every) == len(set(every)) == threads * per_thread
    for ids in results.values():
        assert ids == sorted(ids)  # each sender's messages in its own order
    headers = {h.id: h for h in backend.open(initialize=False).query_headers(limit=0)}
    assert set(headers) == set(every)
    assert all(h.session_id == h.id for h in headers.values())
    for index, ids in results.items():
        assert [json.loads(store.get_body(headers[i]) or "")["n"] for i in ids] == \
            [index * 1000 + i for i in range(per_thread)]
    assert len(store.log_since(0)) == threads * per_thread


def test_one_send_with_many_drafts_keeps_their_order(store: Store) -> None:
    ids = store.send([draft(n=i, session_id=None) for i in range(10)])
    assert ids == sorted(ids)
    assert body_numbers(store.claim("Op", "job", 20, 30)) == list(range(10))


# ---------------------------------------------------------------------------- sessions, responses


def test_session_ids(store: Store) -> None:
    (first,) = store.send([draft()])
    (second,) = store.send([draft(session_id=first)])
    with store.transaction() as tx:
        third = tx.insert_message(draft(target="Other", session_id=first))
        fourth = tx.insert_message(draft(target="Other"))
    assert store.get_header(first).session_id == first  # type: ignore[union-attr]
    assert store.get_header(second).session_id == first  # type: ignore[union-attr]
    assert store.get_header(third).session_id == first  # type: ignore[union-attr]
    assert store.get_header(fourth).session_id == fourth  # type: ignore[union-attr]
    assert first < second < third < fourth
    assert [h.id for h in store.query_headers(session_id=first, oldest_first=True)] == \
        [first, second, third]


def test_find_response_and_bodies(store: Store) -> None:
    (request_id,) = store.send([draft(reply_to="somewhere")])
    assert store.find_response(request_id) is None
    request = store.get_header(request_id)
    assert request is not None and request.reply_to == "somewhere"
    assert json.loads(store.get_body(request) or "") == {"n": 0}
    with store.transaction() as tx:
        tx.insert_message(r.MessageDraft(
            source="Op", target="Svc", body_class="demo.Reply", body_text='{"ok": 1}',
            type=r.RESPONSE, session_id=request.session_id, corresponding_id=request_id,
            status=r.COMPLETED, enqueue=False))
        tx.insert_message(r.MessageDraft(
            source="Op", target="Svc", body_class=None, body_text=None, type=r.RESPONSE,
            session_id=request.session_id, corresponding_id=request_id, status=r.ERROR,
            error="late failure", enqueue=False))
    found = store.find_response(request_id)
    assert found is not None
    response, text = found
    assert (response.type, response.status, response.error, text) == \
        ("response", "error", "late failure", None)  # the newest response wins
    assert response.body_id is None and store.get_body(response) is None
    assert response.corresponding_id == request_id and response.session_id == request_id
    # The request names its (latest) response, as IRIS's CorrespondingMessageId does.
    assert store.get_header(request_id).corresponding_id == response.id  # type: ignore[union-attr]
    earlier = store.query_headers(type="response", oldest_first=True)[0]
    assert store.get_body(earlier) == '{"ok": 1}' and earlier.body_class == "demo.Reply"


def test_set_status_keeps_a_timed_out_request(store: Store) -> None:
    (header_id,) = store.send([draft(priority=r.SYNC)])
    with store.transaction() as tx:
        assert tx.set_status(header_id, r.ERROR, f"{r.TIMED_OUT} after 1 s")
    with store.transaction() as tx:
        assert not tx.set_status(header_id, r.COMPLETED)
    header = store.get_header(header_id)
    assert header is not None and (header.status, header.error) == ("error", "timed out after 1 s")
    (other,) = store.send([draft()])
    with store.transaction() as tx:
        assert tx.set_status(other, r.ERROR, "boom")
        assert tx.set_status(other, r.COMPLETED)  # an ordinary error may still change
    assert store.get_header(other).error == "boom"  # type: ignore[union-attr]


def test_header_fields_round_trip(store: Store) -> None:
    (header_id,) = store.send([draft(
        target="Proc", priority=r.SYNC, reply_to="addr", response_required=True, context_id=7,
        completion_key="key-1", description="a description")])
    header = store.get_header(header_id)
    assert header is not None
    assert (header.source, header.target, header.type, header.priority, header.status) == \
        ("Svc", "Proc", "request", "sync", "queued")
    assert (header.reply_to, header.response_required, header.context_id,
            header.completion_key, header.description) == ("addr", True, 7, "key-1",
                                                           "a description")
    assert header.response_required is True and isinstance(header.created, float)
    assert header.body_id is not None and header.processed is None
    assert r.format_time(header.created)[:2] == "20"
    assert store.get_header(header_id + 1000) is None


# ---------------------------------------------------------------------------- queries


def test_query_headers_filters_and_ordering(store: Store) -> None:
    a = store.send([draft(target="A", source="S1")])[0]
    b = store.send([draft(target="B", source="S1")])[0]
    c = store.send([draft(target="A", source="S2", session_id=a)])[0]
    with store.transaction() as tx:
        tx.set_status(b, r.COMPLETED)
        d = tx.insert_message(r.MessageDraft(source="A", target="S1", body_class=None,
                                             body_text=None, type=r.RESPONSE, session_id=a,
                                             corresponding_id=a, status=r.COMPLETED,
                                             enqueue=False))

    def ids(**filters: Any) -> list[int]:
        return [h.id for h in store.query_headers(**filters)]

    assert ids() == [d, c, b, a]
    assert ids(oldest_first=True) == [a, b, c, d]
    assert ids(target="A") == [c, a]
    assert ids(source="S1") == [b, a]
    assert ids(status="completed") == [d, b]
    assert ids(type="request") == [c, b, a]
    assert ids(type="response") == [d]
    assert ids(session_id=a) == [d, c, a]
    assert ids(before_id=c) == [b, a]
    assert ids(limit=2) == [d, c]
    assert ids(limit=2, oldest_first=True) == [a, b]
    assert ids(limit=0) == [d, c, b, a]
    assert ids(target="A", source="S2", session_id=a) == [c]
    assert ids(target="nobody") == []


def test_count_by_status(store: Store) -> None:
    ids = store.send([draft(n=i) for i in range(4)])
    store.claim("Op", "job", 1, 30)
    with store.transaction() as tx:
        tx.set_status(ids[3], r.ERROR, "bad")
        tx.insert_message(r.MessageDraft(source="Op", target="Svc", body_class=None,
                                         body_text=None, type=r.RESPONSE, session_id=ids[0],
                                         corresponding_id=ids[0], status=r.COMPLETED,
                                         enqueue=False))
    assert store.count_by_status() == {"delivered": 1, "queued": 2, "error": 1, "completed": 1}
    assert store.count_by_status(type="request") == {"delivered": 1, "queued": 2, "error": 1}
    assert store.count_by_status(type="response") == {"completed": 1}


# ---------------------------------------------------------------------------- business processes


def _context(context_id: int, **fields: Any) -> r.Context:
    return r.Context(id=context_id, item="Proc", request_id=context_id, state="s0", **fields)


def test_contexts_save_load_delete(store: Store) -> None:
    assert store.load_context(99) is None
    with store.transaction() as tx:
        tx.save_context(_context(99, pending=2, response_class="demo.R", response_text="{}"))
    ctx = store.load_context(99)
    assert ctx == _context(99, pending=2, response_class="demo.R", response_text="{}")
    with store.transaction() as tx:
        tx.save_context(_context(99, pending=0, replied=True, failed="no"))
    ctx = store.load_context(99)
    assert ctx is not None and (ctx.pending, ctx.replied, ctx.failed) == (0, True, "no")
    assert ctx.replied is True
    with store.transaction() as tx:
        tx.delete_context(99)
    assert store.load_context(99) is None


def _respond_to(store: Store, context_id: int, n: int) -> int:
    """Queue a response for business process context ``context_id``."""
    with store.transaction() as tx:
        return tx.insert_message(r.MessageDraft(
            source="Op", target="Proc", body_class="demo.Msg", body_text=json.dumps({"n": n}),
            type=r.RESPONSE, session_id=context_id, context_id=context_id, status=r.QUEUED,
            completion_key=f"k{n}"))


def test_one_response_per_context_at_a_time(backend: Backend, store: Store) -> None:
    with store.transaction() as tx:
        tx.save_context(_context(500, pending=3))
        tx.save_context(_context(600, pending=1))
    for n in range(3):
        _respond_to(store, 500, n)
    _respond_to(store, 600, 10)
    store.send([draft(target="Proc", n=20)])  # a new request: no context, always claimable

    first = store.claim("Proc", "job-a", 10, 30)
    assert body_numbers(first) == [0, 10, 20]  # one response of each instance, plus the request
    assert first[0].header.completion_key == "k0" and first[0].header.context_id == 500
    other = backend.open(initialize=False)
    assert other.claim("Proc", "job-b", 10, 30, check_first=False) == []  # both instances owned

    # Finishing the response saves the context, which releases its owner.
    with store.transaction() as tx:
        assert tx.finish_delivery(first[0].queue_id, "job-a")
        tx.save_context(_context(500, pending=2))
    second = other.claim("Proc", "job-b", 10, 30)
    assert body_numbers(second) == [1]
    assert store.claim("Proc", "job-a", 10, 30, check_first=False) == []

    # A dead job's instance is freed with its leases.
    store.release_leases("job-b")
    assert body_numbers(store.claim("Proc", "job-c", 10, 30)) == [1]


def test_context_ownership_expires_with_the_lease(store: Store) -> None:
    with store.transaction() as tx:
        tx.save_context(_context(700, pending=2))
    _respond_to(store, 700, 1)
    _respond_to(store, 700, 2)
    (first,) = store.claim("Proc", "slow", 10, 0.3)
    time.sleep(0.6)
    again = store.claim("Proc", "fast", 10, 30)
    assert body_numbers(again) == [1]  # the expired entry first, and still one per instance


def test_response_to_a_vanished_context_is_claimable(store: Store) -> None:
    _respond_to(store, 800, 1)  # no context row (the instance already finished)
    assert body_numbers(store.claim("Proc", "job", 10, 30)) == [1]


# ---------------------------------------------------------------------------- typed bodies


def test_persistent_message_rows_extend_their_table(backend: Backend, store: Store) -> None:
    table = "msg_demo_Typed"
    typed = (table, {"name": "TEXT", "count": "INTEGER"}, {"name": "a", "count": 1})
    store.send([r.MessageDraft(source="Svc", target="Op", body_class="demo.Typed",
                               body_text="{}", typed=typed)])
    wider = (table, {"name": "TEXT", "count": "INTEGER", "ratio": "REAL"},
             {"name": "b", "count": 2, "ratio": 0.5})
    ids = store.send([r.MessageDraft(source="Svc", target="Op", body_class="demo.Typed",
                                     body_text="{}", typed=wider)] * 2)
    rows = backend.sql(f'SELECT body_id, "name", "count", "ratio" FROM "{table}" ORDER BY body_id')
    assert [tuple(row)[1:] for row in rows] == [("a", 1, None), ("b", 2, 0.5), ("b", 2, 0.5)]
    assert [row[0] for row in rows][1:] == ids


# ---------------------------------------------------------------------------- several processes


def test_concurrent_claimers_in_processes_never_share_an_entry(backend: Backend,
                                                               store: Store) -> None:
    ids = store.send([draft(n=i) for i in range(300)])
    workers = [backend.python("claim", "Op", f"proc-{i}", 7) for i in range(3)]
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    claimed: list[int] = []
    for worker in workers:
        out, _ = worker.communicate(timeout=120)
        assert worker.returncode == 0, out
        claimed += json.loads(out.strip().splitlines()[-1])
    assert sorted(claimed) == ids  # every entry once, none twice
    assert store.queue_counts() == {}
