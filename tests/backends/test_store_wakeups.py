"""Wake-ups: a ring (direct, or a commit that queues work) wakes listeners in other processes.

Only whether a listener wakes is asserted, never how fast: each wait has a generous limit.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

import pytest
from backends_support import Backend

from iop.store import records as r
from iop.store.base import Store

WAKE = 20.0  # seconds a listener waits when a ring is expected


def _line(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    return proc.stdout.readline().strip()


def _finish(proc: subprocess.Popen[str]) -> str:
    out, _ = proc.communicate(timeout=WAKE + 30)
    assert proc.returncode == 0
    return out.strip()


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
    assert _line(listener) == "ready"
    store.notifier.ring_item("Op", urgent=False)
    assert _finish(listener) == "rung"


def test_a_committed_send_wakes_the_target_in_another_process(backend: Backend,
                                                              store: Store) -> None:
    target = backend.python("listen-item", "Op", 0, WAKE, 1)  # urgent only: a sync send
    bystander = backend.python("listen-item", "Other", 0, 1.5, 0)
    assert _line(target) == "ready" and _line(bystander) == "ready"
    store.send([r.MessageDraft("Svc", "Op", None, None, priority=r.SYNC)])
    assert _finish(target) == "rung"
    assert _finish(bystander) == "timeout"  # only the target item is rung


def test_a_private_listener_is_woken_by_a_completion(backend: Backend, store: Store) -> None:
    caller = backend.python("listen-private", WAKE)
    address = _line(caller)
    assert address
    with store.transaction() as tx:
        tx.wake_address(address)
        tx.wake_address(None)
    assert _finish(caller) == "rung"
    second = backend.python("listen-private", WAKE)
    store.notifier.ring(_line(second))
    assert _finish(second) == "rung"


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
