"""What only the PostgreSQL backend offers: several hosts, advisory locks, skip-locked claims."""

from __future__ import annotations

import os
import threading
import time

import psycopg
import pytest
from backends_support import PG_URL, Backend, respond

from iop.store import open_store
from iop.store import records as r
from iop.store.base import Store
from iop.store.errors import StoreError
from iop.store.postgres import PostgresStore
from iop.store.postgres.conn import redact
from iop.store.queries import MessageFilter, message_search_sql

# The PostgreSQL case of the backend fixture only.
ONLY_PG = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
WAKE_SECONDS = 20.0  # how long a listener waits when a ring is expected


@pytest.fixture
def pg(backend: Backend) -> Backend:
    return backend


@ONLY_PG
def test_open_store_selects_postgresql(pg: Backend, store: Store) -> None:
    assert isinstance(store, PostgresStore) and store.backend == "postgresql"
    assert store.schema == "iop_" + pg.namespace.lower()
    assert store.location == redact(PG_URL)


def test_location_names_the_database_without_password() -> None:
    store = PostgresStore("postgresql://iop:s3cret@db.example:5433/prod?sslmode=require"
                          "&password=other", "USER")
    assert store.location == "postgresql://iop@db.example:5433/prod?sslmode=require"
    assert "s3cret" not in store.location and "other" not in store.location
    assert PostgresStore("postgresql:///test", "USER").location == "postgresql:///test"


@ONLY_PG
def test_claims_skip_rows_another_transaction_holds(pg: Backend, store: Store) -> None:
    store.send([r.MessageDraft("Svc", "Op", None, None) for _ in range(2)])
    with psycopg.connect(PG_URL) as other:
        other.execute(f'SET search_path TO "{store.schema}"')  # type: ignore[attr-defined]
        locked = other.execute("SELECT id FROM queue ORDER BY id LIMIT 1 FOR UPDATE").fetchone()
        started = time.monotonic()
        got = store.claim("Op", "job", 10, 30)
        assert time.monotonic() - started < 5  # skipped, not waited for
        assert [d.queue_id for d in got] != [] and locked[0] not in [d.queue_id for d in got]
        other.rollback()
    assert [d.queue_id for d in store.claim("Op", "job2", 10, 30)] == [locked[0]]


@ONLY_PG
def test_log_ids_follow_commit_order(pg: Backend, store: Store) -> None:
    first_logged = threading.Event()
    second_committed = threading.Event()

    def slow_writer() -> None:
        with store.transaction() as tx:
            tx.log([r.LogEntry("info", "written first, committed last")])
            first_logged.set()
            second_committed.wait(10)

    writer = threading.Thread(target=slow_writer)
    writer.start()
    assert first_logged.wait(10)
    store.log([r.LogEntry("info", "written second, committed first")])
    assert [e.text for e in store.log_since(0)] == ["written second, committed first"]
    second_committed.set()
    writer.join(10)
    # A reader that saw id N never misses a later commit with a smaller id.
    assert [e.text for e in store.log_since(0)] == ["written second, committed first",
                                                    "written first, committed last"]


def _host(pg: Backend, name: str) -> PostgresStore:
    store = PostgresStore(PG_URL, pg.namespace, host=name)
    pg.stores.append(store)
    return store


def _job(job_id: str, host: str) -> r.JobRecord:
    now = time.time()
    return r.JobRecord(job_id, "Op", 0, 1, host, "running", now, now)


@ONLY_PG
def test_each_host_has_its_own_runtime_view(pg: Backend, store: Store) -> None:
    a, b = _host(pg, "host-a"), _host(pg, "host-b")
    alive = lambda state: True  # noqa: E731
    assert a.claim_runtime("P.One", 100, "host-a", alive) is None
    assert b.get_runtime().status == "stopped"  # host-b runs nothing yet
    assert b.claim_runtime("P.One", 200, "host-b", alive) is None  # joins the production
    blocker = b.claim_runtime("P.One", 201, "host-b", alive)
    assert blocker is not None and blocker.supervisor_pid == 200  # its own live supervisor
    c = _host(pg, "host-c")
    blocker = c.claim_runtime("P.Two", 300, "host-c", alive)
    assert blocker is not None and blocker.production == "P.One"  # one production at a time
    a.update_runtime(status="running", requested="stop")
    assert (a.get_runtime().status, a.get_runtime().requested) == ("running", "stop")
    assert (b.get_runtime().status, b.get_runtime().requested) == ("starting", "")
    assert [(s.host, s.supervisor_pid) for s in a.list_runtimes()] == \
        [("host-a", 100), ("host-b", 200)]
    a.update_runtime(of_host="host-b", requested="update")  # an operator on host-a asks b
    assert (b.get_runtime().requested, a.get_runtime().requested) == ("update", "stop")
    with pytest.raises(Exception, match="unknown runtime field"):
        a.update_runtime(colour="red")


@ONLY_PG
def test_a_starting_host_keeps_other_hosts_leases(pg: Backend, store: Store) -> None:
    a, b = _host(pg, "host-a"), _host(pg, "host-b")
    a.put_job(_job("host-a:1:Op:0:aaaaaa", "host-a"))
    b.put_job(_job("host-b:2:Op:0:bbbbbb", "host-b"))
    store.send([r.MessageDraft("Svc", "Op", None, None) for _ in range(2)])
    assert len(a.claim("Op", "host-a:1:Op:0:aaaaaa", 1, 60)) == 1
    assert len(b.claim("Op", "host-b:2:Op:0:bbbbbb", 1, 60)) == 1
    assert [j.id for j in a.list_jobs(host="host-a")] == ["host-a:1:Op:0:aaaaaa"]
    assert len(a.list_jobs()) == len(b.list_jobs()) == 2  # every host's jobs

    assert b.claim_runtime("P.One", 200, "host-b", lambda s: False) is None
    assert b.list_jobs(host="host-b") == []
    assert [j.id for j in b.list_jobs()] == ["host-a:1:Op:0:aaaaaa"]
    (freed,) = store.claim("Op", "host-b:3:Op:0:cccccc", 10, 60)  # only host-b's entry
    assert freed.attempts == 2
    assert store.claim("Op", "anyone", 10, 60) == []  # host-a's lease holds


@ONLY_PG
def test_a_second_host_process_shares_the_queue(pg: Backend, store: Store) -> None:
    os.environ["IOP_NAMESPACE"] = pg.namespace
    try:
        other = open_store()
        pg.stores.append(other)
    finally:
        del os.environ["IOP_NAMESPACE"]
    (header_id,) = other.send([r.MessageDraft("Svc", "Op", None, None)])
    (delivery,) = store.claim("Op", "job", 5, 30)
    assert delivery.header.id == header_id


@ONLY_PG
def test_sends_ring_the_items_running_jobs_in_turn(pg: Backend, store: Store) -> None:
    a, b = _host(pg, "host-a"), _host(pg, "host-b")
    a.put_job(_job("host-a:1:Op:0:aaaaaa", "host-a"))
    b.put_job(_job("host-b:2:Op:0:bbbbbb", "host-b"))
    on_a, on_b = a.notifier.listen_item("Op", 0), b.notifier.listen_item("Op", 0)
    try:
        for _ in range(4):
            store.send([r.MessageDraft("Svc", "Op", None, None)])
        assert on_a.wait(20) and on_b.wait(20)  # both hosts' jobs got work
        for listener in (on_a, on_b):
            while listener.wait(0.5):  # the rest of those four sends' rings, however late
                pass
        store.send([r.MessageDraft("Svc", "Op", None, None)])
        assert [on_a.wait(2), on_b.wait(2)].count(True) == 1  # one job per send, not all

        # No running job known (both still starting): every job of the item is rung.
        a.heartbeat_job("host-a:1:Op:0:aaaaaa", 0, "starting")
        b.heartbeat_job("host-b:2:Op:0:bbbbbb", 0, "starting")
        fresh = _host(pg, "host-c")  # its notifier has read no job list yet
        fresh.send([r.MessageDraft("Svc", "Op", None, None)])
        assert on_a.wait(20) and on_b.wait(20)
    finally:
        on_a.close()
        on_b.close()



@ONLY_PG
def test_caller_threads_of_a_process_share_one_listening_connection(pg: Backend,
                                                                    store: Store) -> None:
    # PostgreSQL signals every listening connection for every NOTIFY, so each one costs the
    # server work on every ring: a process's waiting callers listen through one.
    listeners: list[object] = []
    for _ in range(3):  # each made by a thread of its own, as each caller thread does
        thread = threading.Thread(
            target=lambda: listeners.append(store.notifier.listen_private()))
        thread.start()
        thread.join()
    pids = {listener._hub._conn.info.backend_pid for listener in listeners}  # type: ignore
    assert len(pids) == 1 and len({listener.address for listener in listeners}) == 3
    requests = store.send([r.MessageDraft("Svc", "Op", None, None, priority=r.SYNC)
                           for _ in listeners])
    got: dict[int, object] = {}

    def wait(index: int) -> None:
        listener = listeners[index]
        if listener.wait(WAKE_SECONDS):  # type: ignore[attr-defined]
            got[index] = listener.take_reply(requests[index])  # type: ignore[attr-defined]

    waiters = [threading.Thread(target=wait, args=(i,)) for i in range(3)]
    for waiter in waiters:
        waiter.start()
    time.sleep(0.3)  # all three wait; one of them reads the connection for the others
    # Answered in turn: the reading thread leaves first, and another takes over reading.
    for index in (0, 2, 1):
        respond(store, requests[index], listeners[index].address)  # type: ignore
        time.sleep(0.2)
    for waiter in waiters:
        waiter.join(WAKE_SECONDS + 5)
    assert sorted(got) == [0, 1, 2]
    for index, reply in got.items():
        assert reply is not None and reply[0].corresponding_id == requests[index]  # type: ignore
    for listener in listeners:
        listener.close()  # type: ignore[attr-defined]


@ONLY_PG
def test_a_listener_of_a_thread_that_ended_gives_its_channel_up(pg: Backend,
                                                                store: Store) -> None:
    keep = store.notifier.listen_private()
    thread = threading.Thread(target=lambda: store.notifier.listen_private())
    thread.start()
    thread.join()
    import gc

    gc.collect()
    assert not keep.wait(0.3)  # the reading thread gives up channels nobody listens to
    conn = keep._hub._conn  # type: ignore[attr-defined]
    with keep._hub._lock:  # type: ignore[attr-defined]
        channels = {row[0] for row in conn.execute(
            "SELECT pg_listening_channels()").fetchall()}
    assert channels == {keep.address}
    keep.close()


@ONLY_PG
def test_a_reply_ring_goes_out_only_with_its_committed_response(pg: Backend,
                                                                store: Store) -> None:
    caller = store.notifier.listen_private()
    request = store.send([r.MessageDraft("Svc", "Op", None, None, priority=r.SYNC)])[0]
    with pytest.raises(StoreError, match="duplicate key"):
        with store.transaction() as tx:
            tx.wake_address(caller.address)
            tx.execute("INSERT INTO meta (key, value) VALUES ('dup', 'a')")
            tx.execute("INSERT INTO meta (key, value) VALUES ('dup', 'b')")
    assert not caller.wait(0.5)  # the failed transaction rang nobody
    respond(store, request, caller.address, '{"n": 1}')
    assert caller.wait(WAKE_SECONDS)  # rung after the commit, in the same round trip
    reply = caller.take_reply(request)
    assert reply is not None and reply == store.find_response(request)
    caller.close()


@ONLY_PG
def test_the_supervisors_housekeeping_vacuums_the_queue(pg: Backend, store: Store) -> None:
    assert isinstance(store, PostgresStore)
    for _ in range(3):
        store.send([r.MessageDraft("Svc", "Op", None, None) for _ in range(50)])
        with store.transaction() as tx:
            for delivery in store.claim("Op", "job", 100, 30):
                tx.finish_delivery(delivery.queue_id, "job")

    def vacuumed() -> object:
        store.conn.execute("SELECT pg_stat_clear_snapshot()")
        return store.conn.execute("SELECT last_vacuum FROM pg_stat_user_tables WHERE "
                                  "schemaname = %s AND relname = 'queue'",
                                  (store.schema,)).fetchone()[0]  # type: ignore[index]

    assert vacuumed() is None
    store.checkpoint()
    deadline = time.monotonic() + WAKE_SECONDS
    while (first := vacuumed()) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert first is not None
    store.checkpoint()  # within a second of the last: not again
    time.sleep(0.5)
    assert vacuumed() == first


@ONLY_PG
def test_ordinary_status_changes_update_headers_in_place(pg: Backend, store: Store) -> None:
    """No index reads a header's status, only the generated ``trouble`` column (NULL while
    queued, delivered or completed), so those changes are heap-only updates: no new index
    entries per step. The operator still finds the rare errors through their index."""
    assert isinstance(store, PostgresStore)
    ids = store.send([r.MessageDraft("Svc", "Op", None, None) for _ in range(40)])
    with store.transaction() as tx:
        for delivery in store.claim("Op", "job", 100, 30):
            tx.complete_delivery(delivery.queue_id, "job", delivery.header.id, r.COMPLETED)
        tx.set_status(ids[-1], r.ERROR, "ValueError: bad")

    def updates() -> tuple[int, int]:
        store.conn.execute("SELECT pg_stat_force_next_flush()")
        store.conn.execute("SELECT pg_stat_clear_snapshot()")
        row = store.conn.execute(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables "
            "WHERE schemaname = %s AND relname = 'headers'", (store.schema,)).fetchone()
        return (row[0], row[1]) if row else (0, 0)

    deadline = time.monotonic() + WAKE_SECONDS
    while (counts := updates())[0] < 81 and time.monotonic() < deadline:
        time.sleep(0.1)
    updated, in_place = counts
    assert updated >= 81  # delivered and completed for each, and the one error
    assert in_place >= updated * 3 // 4, counts
    assert [h.id for h in store.search_messages(MessageFilter(status=r.ERROR))] == [ids[-1]]
    sql, args, _ = message_search_sql(MessageFilter(status=r.ERROR), "%s", "ILIKE", "h.id",
                                      None, None, 50, trouble_column=True)
    plan = " ".join(row[0] for row in store.conn.execute("EXPLAIN " + sql, args))
    assert "headers_trouble" in plan
