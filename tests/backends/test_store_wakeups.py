"""Wake-ups: a ring (direct, or a commit that queues work) wakes listeners in other processes.

Only whether a listener wakes is asserted, never how fast: each wait has a generous limit.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from backends_support import Backend, finish, first_line, respond

from iop.store import records as r
from iop.store.base import Store

WAKE = 20.0  # seconds a listener waits when a ring is expected




def _asleep(listener: object) -> None:
    """Say the job sleeps, as a job does before it waits (listeners that track it only)."""
    mark = getattr(listener, "set_asleep", None)
    if mark is not None:
        mark(True)


def _eventually(check: Callable[[], bool], seconds: float = WAKE) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_ring_item_wakes_a_job_in_another_process(backend: Backend, store: Store) -> None:
    listener = backend.python("listen-item", "Op", 0, WAKE, 0)
    assert first_line(listener) == "ready"
    store.notifier.ring_item("Op", urgent=False)
    assert finish(listener, WAKE) == "rung"


def test_a_committed_send_wakes_the_target_in_another_process(backend: Backend,
                                                              store: Store) -> None:
    target = backend.python("listen-item", "Op", 0, WAKE, 1)  # urgent only: a sync send
    bystander = backend.python("listen-item", "Other", 0, 1.5, 0)
    assert first_line(target) == "ready" and first_line(bystander) == "ready"
    store.send([r.MessageDraft("Svc", "Op", None, None, priority=r.SYNC)])
    assert finish(target, WAKE) == "rung"
    assert finish(bystander, WAKE) == "timeout"  # only the target item is rung


def test_a_private_listener_is_woken_by_a_completion(backend: Backend, store: Store) -> None:
    caller = backend.python("listen-private", WAKE)
    address = first_line(caller)
    assert address
    with store.transaction() as tx:
        tx.wake_address(address)
        tx.wake_address(None)
    assert finish(caller, WAKE) == "rung"
    second = backend.python("listen-private", WAKE)
    store.notifier.ring(first_line(second))
    assert finish(second, WAKE) == "rung"


def test_urgent_only_waits_ignore_ordinary_rings(store: Store) -> None:
    listener = store.notifier.listen_item("Op", 0)
    try:
        _asleep(listener)
        store.notifier.ring_item("Op", urgent=False)
        assert not listener.wait(0.5, urgent_only=True)  # consumed, but not urgent
        assert not listener.wait(0.2)  # and it was drained
        _asleep(listener)
        store.notifier.ring_item("Op", urgent=False)
        assert listener.wait(WAKE)
        _asleep(listener)
        store.send([r.MessageDraft("Svc", "Op", None, None)])  # async: an ordinary ring
        store.send([r.MessageDraft("Svc", "Op", None, None, priority=r.SYNC)])
        assert listener.wait(WAKE, urgent_only=True)
        store.notifier.ring_item("Op", urgent=True)
        assert listener.wait(WAKE, urgent_only=True)
    finally:
        listener.close()


def test_a_waiter_that_polls_first_still_sleeps_until_rung(store: Store) -> None:
    listener = store.notifier.listen_private()
    try:
        assert listener.wait(0.2, spin=True) is False  # no ring: it waited, then gave up
        threading.Timer(0.3, store.notifier.ring, args=(listener.address,)).start()
        assert listener.wait(WAKE, spin=True) is True  # rung long after the polling moment
        store.notifier.ring(listener.address)
        assert listener.wait(WAKE, spin=True) is True  # rung before it looked
    finally:
        listener.close()


def test_drain_reports_urgent_rings(store: Store) -> None:
    listener = store.notifier.listen_private()
    try:
        assert listener.drain() is False
        store.notifier.ring(listener.address)
        assert listener.wait(WAKE)  # rung, and drained
        assert listener.drain() is False
        store.notifier.ring(listener.address)
        assert _eventually(listener.drain)
    finally:
        listener.close()


def test_a_rolled_back_transaction_rings_nobody(store: Store) -> None:
    listener = store.notifier.listen_item("Op", 0)
    private = store.notifier.listen_private()
    try:
        _asleep(listener)
        with pytest.raises(RuntimeError), store.transaction() as tx:
            tx.insert_message(r.MessageDraft("Svc", "Op", None, None, priority=r.SYNC))
            tx.wake_address(private.address)
            raise RuntimeError("abort")
        assert not listener.wait(0.5)
        assert not private.wait(0.1)
    finally:
        listener.close()
        private.close()


def test_released_leases_ring_their_items(store: Store) -> None:
    listener = store.notifier.listen_item("Op", 0)
    try:
        _asleep(listener)
        store.send([r.MessageDraft("Svc", "Op", None, None)])
        store.claim("Op", "dead-job", 5, 60)
        assert listener.wait(WAKE)  # the send's ring
        _asleep(listener)
        store.release_leases("dead-job")
        assert listener.wait(WAKE, urgent_only=True)
    finally:
        listener.close()



def test_a_small_response_rides_with_its_ring_exactly_as_stored(store: Store) -> None:
    caller = store.notifier.listen_private()
    try:
        first, second = store.send([r.MessageDraft("Svc", "Op", "demo.Ask", '{"n":1}',
                                                   priority=r.SYNC),
                                    r.MessageDraft("Svc", "Op", "demo.Ask", '{"n":2}',
                                                   priority=r.SYNC)])
        respond(store, first, caller.address, '{"text":"né ✓"}')
        assert caller.wait(WAKE)
        carried = caller.take_reply(first)
        stored = store.find_response(first)
        assert stored is not None and stored[1] == '{"text":"né ✓"}'
        assert carried == stored  # every header field and the body, as the store has them
        assert caller.take_reply(first) is None  # handed over once

        # A response too large to carry still rings; the caller then reads the store.
        big = '{"text":"' + "x" * 40_000 + '"}'
        respond(store, second, caller.address, big)
        assert caller.wait(WAKE)
        assert caller.take_reply(second) is None
        found = store.find_response(second)
        assert found is not None and found[1] == big
    finally:
        caller.close()


def test_a_reply_to_another_request_is_not_taken_for_this_one(store: Store) -> None:
    caller = store.notifier.listen_private()
    try:
        old, new = store.send([r.MessageDraft("Svc", "Op", None, None, priority=r.SYNC),
                               r.MessageDraft("Svc", "Op", None, None, priority=r.SYNC)])
        respond(store, old, caller.address, "{}")  # a late answer to an abandoned call
        assert caller.wait(WAKE)
        assert caller.take_reply(new) is None
        assert caller.take_reply(old) is None  # dropped with the look for ``new``
    finally:
        caller.close()


def _leases(backend: Backend) -> list[tuple[Any, ...]]:
    return backend.sql("SELECT header_id, lease_owner, attempts FROM queue ORDER BY id")


def test_a_sync_request_is_handed_straight_to_a_sleeping_job(backend: Backend,
                                                             store: Store) -> None:
    job = backend.python("take-handoff", "Op", 0, "job-1", WAKE)
    assert first_line(job) == "ready"
    (asked,) = store.send([r.MessageDraft("Svc", "Op", "demo.Ask", '{"n":1}', priority=r.SYNC,
                                          reply_to="nobody")])
    (later,) = store.send([r.MessageDraft("Svc", "Op", "demo.Ask", '{"n":0}')])  # async
    handed = json.loads(finish(job, WAKE))
    header = store.get_header(asked)
    assert header is not None
    if backend.name == "sqlite":
        # Leased to the job by the send itself: the job needs no claim transaction.
        assert handed == [{"queue": handed[0]["queue"], "header": asked, "status": "delivered",
                           "attempts": 1, "body": '{"n":1}'}]
        assert (header.status, header.attempts) == ("delivered", 1)
        assert _leases(backend) == [(asked, "job-1", 1), (later, None, 0)]
        # Nobody else may take it, nor may its owner's ordinary claim; a claim for the
        # hand-overs it never received (a lost datagram) finds it, as the same attempt.
        assert [d.header.id for d in store.claim("Op", "job-2", 5, 60)] == [later]
        assert store.claim("Op", "job-1", 5, 60) == []
        (again,) = store.claim("Op", "job-1", 5, 60, handed=True)
        assert (again.header.id, again.attempts, again.queue_id) == (asked, 1, handed[0]["queue"])
    else:
        assert handed == []  # NOTIFY hands nothing over: the request waits in the queue
        assert [(d.header.id, d.attempts) for d in store.claim("Op", "job-2", 5, 60)] == \
            [(asked, 1), (later, 1)]


def test_a_request_handed_to_a_killed_job_is_queued_for_any_job(backend: Backend,
                                                                store: Store) -> None:
    job = backend.python("take-handoff", "Op", 0, "job-1", "hold")
    assert first_line(job) == "ready"
    job.kill()  # SIGKILL: its slot still reads "asleep, taking hand-overs"
    job.wait(timeout=WAKE)
    (asked,) = store.send([r.MessageDraft("Svc", "Op", "demo.Ask", '{"n":1}', priority=r.SYNC)])
    header = store.get_header(asked)
    assert header is not None and (header.status, header.attempts) == ("queued", 0)
    assert _leases(backend) == [(asked, None, 0)]
    (delivery,) = store.claim("Op", "job-2", 5, 60)
    assert (delivery.header.id, delivery.attempts, delivery.body_text) == (asked, 1, '{"n":1}')
