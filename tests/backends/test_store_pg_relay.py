"""PostgreSQL: a host's jobs are rung through one listening connection, its relay's.

The jobs here are store_worker processes listening as a job does; the relay runs in the test
process, as it runs in a supervisor. Only whether a job wakes is asserted, never how fast.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from backends_support import Backend, finish, first_line, respond

from iop.store import records as r
from iop.store.base import Store

ONLY_PG = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
WAKE = 20.0  # seconds a job waits when a ring is expected


@pytest.fixture
def relay(store: Store) -> Iterator[Any]:
    """This host's relay, run in the test process as a supervisor runs it."""
    started = store.notifier.start_relay()  # type: ignore[attr-defined]
    assert started is not None
    yield started
    started.stop()  # a test may have stopped it already: stopping twice is harmless


def _listening(backend: Backend, *channels: str) -> list[str]:
    """application_name of each backend whose last statement names one of ``channels``."""
    names = " OR ".join(f"query LIKE '%{channel}%'" for channel in channels)
    return [row[0] for row in backend.sql(
        f"SELECT application_name FROM pg_stat_activity WHERE ({names}) "
        "AND pid <> pg_backend_pid()")]


@ONLY_PG
def test_jobs_of_a_host_are_rung_through_its_one_listening_connection(
        backend: Backend, store: Store, relay: Any, wait_for: Callable[..., Any]) -> None:
    notifier = store.notifier
    jobs = [backend.python("job-wait", "Op", slot, WAKE) for slot in (0, 1)]
    try:
        assert [first_line(job) for job in jobs] == ["ready relayed", "ready relayed"]
        item = notifier.item_channel("Op")  # type: ignore[attr-defined]
        own = [notifier.job_channel("Op", store.host, slot)  # type: ignore[attr-defined]
               for slot in (0, 1)]
        assert relay.channels() == {item: 2, own[0]: 1, own[1]: 1}
        # Neither job holds a listening connection: the relay's is the only one.
        assert _listening(backend, item, *own) == [f"iop relay {store.host}"]
        # No job of Op runs in the jobs table: the ring goes to the item's channel, both wake.
        notifier.ring_item("Op")
        assert [finish(job, WAKE) for job in jobs] == ["rung relayed", "rung relayed"]
        # A job that ended gives its channels up.
        wait_for(lambda: relay.channels() == {}, timeout=5, what="the channels to be given up")
    finally:
        for job in jobs:
            job.kill()


@ONLY_PG
def test_a_job_listens_itself_once_its_hosts_relay_is_gone(
        backend: Backend, store: Store, relay: Any, wait_for: Callable[..., Any]) -> None:
    notifier = store.notifier
    job = backend.python("job-wait", "Op", 0, WAKE)
    try:
        assert first_line(job) == "ready relayed"
        relay.stop()  # as when its supervisor is killed
        item = notifier.item_channel("Op")  # type: ignore[attr-defined]
        # The job notices within an idle wait and listens itself.
        wait_for(lambda: _listening(backend, item) == ["iop"], timeout=10,
                 what="the job to listen on its own connection")
        notifier.ring_item("Op")
        assert finish(job, WAKE) == "rung direct"
    finally:
        job.kill()


@ONLY_PG
def test_without_a_relay_a_job_listens_on_its_own_connection(backend: Backend, store: Store) -> None:
    job = backend.python("job-wait", "Op", 0, WAKE)
    try:
        assert first_line(job) == "ready direct"
        store.notifier.ring_item("Op")
        assert finish(job, WAKE) == "rung direct"
    finally:
        job.kill()


@ONLY_PG
def test_a_second_relay_for_the_same_host_is_refused(backend: Backend, store: Store,
                                                    relay: Any) -> None:
    assert store.notifier.start_relay() is None  # type: ignore[attr-defined]


@ONLY_PG
def test_a_waiting_caller_gets_its_response_through_the_relay(
        backend: Backend, store: Store, relay: Any, wait_for: Callable[..., Any]) -> None:
    caller = store.notifier.listen_private()
    assert caller.relayed()  # type: ignore[attr-defined]
    assert relay.channels() == {caller.address: 1}
    assert _listening(backend, caller.address) == [f"iop relay {store.host}"]
    [request] = store.send([r.MessageDraft("Svc", "Op", None, None, priority=r.SYNC,
                                           reply_to=caller.address)])
    respond(store, request, caller.address, '{"n": 7}')
    assert caller.wait(WAKE)
    reply = caller.take_reply(request)
    assert reply is not None  # carried by the ring: no read of the store needed
    assert reply[0].corresponding_id == request and reply[1] == '{"n": 7}'
    caller.close()
    wait_for(lambda: relay.channels() == {}, timeout=5, what="the caller's channel to go")


@ONLY_PG
def test_the_relay_forgets_a_caller_thread_that_ended(
        backend: Backend, store: Store, relay: Any, wait_for: Callable[..., Any]) -> None:
    thread = threading.Thread(target=store.notifier.listen_private)  # never closed
    thread.start()
    thread.join()
    gc.collect()  # the thread's listener, and its socket, are gone
    assert len(relay.channels()) == 1
    wait_for(lambda: relay.channels() == {}, timeout=15, what="the relay to prune the channel")


@ONLY_PG
def test_the_relay_listens_again_after_its_connection_is_killed(
        backend: Backend, store: Store, relay: Any, wait_for: Callable[..., Any]) -> None:
    job = backend.python("job-wait", "Op", 0, WAKE, 1)  # only an urgent ring ends its wait
    name = f"iop relay {store.host}"
    query = f"SELECT pid FROM pg_stat_activity WHERE application_name = '{name}'"
    try:
        assert first_line(job) == "ready relayed"
        [(killed,)] = backend.sql(query)
        backend.sql(f"SELECT pg_terminate_backend({killed})")
        [(again,)] = wait_for(lambda: [row for row in backend.sql(query) if row[0] != killed],
                              timeout=5, what="the relay to connect again")
        assert again != killed
        store.notifier.ring_item("Op")  # urgent: heard only if the relay listens again
        assert finish(job, WAKE) == "rung relayed"
    finally:
        job.kill()
