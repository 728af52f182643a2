"""Runtime state every backend keeps for one or several hosts: supervisor rows, heartbeats,
freeing a dead host's messages, and single-instance duties held across processes.

SQLite has one host (one supervisor row, duties on flock); PostgreSQL has one row per host
and duties on advisory locks. The engine calls the same methods on both.
"""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
from backends_support import PG_URL, Backend

from iop.store import host_name
from iop.store import records as r
from iop.store.base import Store


def _job(job_id: str, host: str, item: str = "Op") -> r.JobRecord:
    now = time.time()
    return r.JobRecord(job_id, item, 0, 1, host, "running", now, now)


def _send(store: Store, count: int, target: str = "Op") -> list[int]:
    return store.send([r.MessageDraft("Svc", target, "demo.Msg", json.dumps({"n": n}))
                       for n in range(count)])


# ---------------------------------------------------------------------------- duties


def test_a_duty_moves_to_another_process_when_its_holder_dies(backend: Backend,
                                                              store: Store) -> None:
    holder = backend.python("duty", "poll:Files:0")
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    mine = store.duty("poll:Files:0")
    assert not mine.take() and not mine.held() and not mine
    other = store.duty("poll:Files:1")  # another slot is another duty
    assert other.take() and other.held()
    other.release()
    other.release()  # idempotent
    assert not other.held()

    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(10)
    deadline = time.monotonic() + 30
    while not mine.take():  # the same object retries (on its own connection on PostgreSQL)
        assert time.monotonic() < deadline, "the dead holder's duty was never freed"
        time.sleep(0.1)
    assert mine.held() and mine.take()  # taking a held duty again keeps it
    assert not store.duty("poll:Files:0").take()  # held by this process's first handle
    mine.release()
    with store.duty("poll:Files:0") as again:
        assert again.take()


def test_a_released_duty_is_free_for_another_process(backend: Backend, store: Store) -> None:
    duty = store.duty("lease-sweep")
    assert duty.take()
    waiter = backend.python("duty", "lease-sweep")
    assert waiter.stdout is not None and waiter.stdout.readline().strip() == "free"
    waiter.communicate("", timeout=30)
    duty.release()
    taker = backend.python("duty", "lease-sweep")
    assert taker.stdout is not None and taker.stdout.readline().strip() == "held"
    assert not duty.take()  # the other process holds it now
    taker.communicate("", timeout=30)


def test_duties_are_per_namespace(backend: Backend, store: Store) -> None:
    neighbour = backend.open(namespace=backend.namespace + "N")
    with store.duty("duty") as mine, neighbour.duty("duty") as theirs:
        assert mine.take() and theirs.take()


# ---------------------------------------------------------------------------- supervisor rows


def test_runtime_rows_heartbeat_and_age(store: Store) -> None:
    assert store.host == host_name()
    assert store.list_runtimes() == []  # no supervisor ever ran here
    assert store.claim_runtime("P.One", 4242, store.host, lambda s: True) is None
    (row,) = store.list_runtimes()
    assert (row.host, row.production, row.status, row.live) == (store.host, "P.One",
                                                               "starting", True)
    assert row.age is not None and -5 < row.age < 30
    store.update_runtime(heartbeat=1000.0)  # long ago
    stale = store.get_runtime()
    assert stale.age is not None and stale.age > 1e6
    store.heartbeat_runtime()
    fresh = store.get_runtime()
    assert fresh.age is not None and -5 < fresh.age < 30 and fresh.heartbeat > 1000.0
    store.update_runtime(of_host=store.host, status="running", requested="update")
    state = store.get_runtime()
    assert (state.status, state.requested) == ("running", "update")
    with pytest.raises(Exception, match="unknown runtime field"):
        store.update_runtime(colour="red")


def test_list_jobs_of_every_host_or_one(store: Store) -> None:
    store.put_job(_job("host-a:1:Op:0:aaaaaa", "host-a"))
    store.put_job(_job("host-b:2:Op:0:bbbbbb", "host-b", item="Next"))
    assert [(j.item, j.host) for j in store.list_jobs()] == [("Next", "host-b"), ("Op", "host-a")]
    assert [j.id for j in store.list_jobs(host="host-b")] == ["host-b:2:Op:0:bbbbbb"]
    assert store.list_jobs(host="nowhere") == []


def test_release_host_frees_only_that_hosts_messages(store: Store) -> None:
    store.put_job(_job("host-a:1:Op:0:aaaaaa", "host-a"))
    store.put_job(_job("host-b:2:Op:0:bbbbbb", "host-b"))
    ids = _send(store, 4)
    assert len(store.claim("Op", "host-a:1:Op:0:aaaaaa", 1, 60)) == 1
    assert len(store.claim("Op", "host-b:2:Op:0:bbbbbb", 1, 60)) == 1
    # A job of host-a that died before its row was written still owns by its id's prefix.
    assert len(store.claim("Op", "host-a:3:Op:0:cccccc", 1, 60)) == 1
    with store.transaction() as tx:
        tx.save_context(r.Context(id=900, item="Proc", request_id=900, state="s"))
        tx.insert_message(r.MessageDraft("Op", "Proc", "demo.Msg", "{}", type=r.RESPONSE,
                                         session_id=900, context_id=900))
    assert len(store.claim("Proc", "host-a:1:Op:0:aaaaaa", 5, 60)) == 1  # owns context 900

    released = store.release_host("host-a")
    assert released == [ids[0], ids[2]] + sorted(
        h.id for h in store.query_headers(target="Proc"))
    assert store.list_jobs(host="host-a") == []
    assert [j.id for j in store.list_jobs()] == ["host-b:2:Op:0:bbbbbb"]
    again = store.claim("Op", "host-b:2:Op:0:bbbbbb", 10, 60)
    assert sorted(d.header.id for d in again) == [ids[0], ids[2], ids[3]]  # not b's own
    assert {d.header.id: d.attempts for d in again}[ids[0]] == 2
    assert len(store.claim("Proc", "host-b:2:Op:0:bbbbbb", 5, 60)) == 1  # the context is free
    assert store.release_host("nowhere") == []


def test_fencing_frees_the_messages_of_hosts_that_stopped_beating(backend: Backend,
                                                                  store: Store) -> None:
    if backend.name == "sqlite":
        # One host: nothing to fence, even when its own heartbeat is old.
        assert store.claim_runtime("P.One", 1, store.host, lambda s: True) is None
        store.update_runtime(heartbeat=1000.0)
        assert store.fence_stale_hosts(1.0) == {}
        assert store.get_runtime().status == "starting"
        return
    from iop.store.postgres import PostgresStore

    hosts = {}
    for name in ("host-a", "host-b", "host-c"):
        hosts[name] = PostgresStore(PG_URL, backend.namespace, host=name)
        backend.stores.append(hosts[name])
        assert hosts[name].claim_runtime("P.One", 1, name, lambda s: True) is None
        hosts[name].update_runtime(status="running")
    a, b, c = hosts["host-a"], hosts["host-b"], hosts["host-c"]
    b.put_job(_job("host-b:2:Op:0:bbbbbb", "host-b"))
    (sent,) = _send(store, 1)
    assert len(b.claim("Op", "host-b:2:Op:0:bbbbbb", 5, 600)) == 1
    b.update_runtime(heartbeat=1000.0)  # host-b stopped beating long ago
    a.update_runtime(heartbeat=1000.0)  # so did host-a, but a host never fences itself
    assert a.fence_stale_hosts(10.0) == {"host-b": [sent]}
    rows = {s.host: s for s in a.list_runtimes()}
    assert (rows["host-a"].status, rows["host-b"].status, rows["host-c"].status) == \
        ("running", "troubled", "running")
    assert a.fence_stale_hosts(10.0) == {}  # fenced once
    assert c.fence_stale_hosts(10.0) == {"host-a": []}
    (again,) = c.claim("Op", "host-c:3:Op:0:cccccc", 5, 60)
    assert (again.header.id, again.attempts) == (sent, 2)
