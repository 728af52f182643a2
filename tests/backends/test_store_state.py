"""Everything else a store keeps: event log, productions, meta, registry, runtime, schema."""

from __future__ import annotations

import os
import socket
import time

import pytest
from backends_support import Backend

from iop.store import StoreError
from iop.store import records as r
from iop.store.base import Store
from iop.store.queries import MessageFilter

# ---------------------------------------------------------------------------- event log


def test_event_log_since_and_top(store: Store) -> None:
    assert store.log_top(5) == [] and store.log_since(0) == []
    store.log([r.LogEntry("info", "one", item="A", job="j1", session_id=3, message_id=4,
                          source_class="x.Y", source_method="on_message", time=1000.25)])
    store.send([r.MessageDraft("Svc", "Op", None, None)], [r.LogEntry("warning", "two")])
    with store.transaction() as tx:
        tx.log([r.LogEntry("error", "three"), r.LogEntry("alert", "four")])
        tx.log([])
    store.log([])

    every = store.log_since(0)
    assert [e.text for e in every] == ["one", "two", "three", "four"]
    ids = [e.id for e in every]
    assert all(isinstance(i, int) for i in ids) and ids == sorted(ids) and len(set(ids)) == 4
    first = every[0]
    assert (first.type, first.item, first.job, first.session_id, first.message_id,
            first.source_class, first.source_method, first.time) == \
        ("info", "A", "j1", 3, 4, "x.Y", "on_message", 1000.25)
    assert first.to_dict()["type"] == "Info" and first.to_dict()["id"] == ids[0]
    assert [e.text for e in store.log_since(ids[1])] == ["three", "four"]
    assert [e.text for e in store.log_since(ids[0], limit=2)] == ["two", "three"]
    assert store.log_since(ids[-1]) == []
    assert [e.text for e in store.log_top(2)] == ["four", "three"]
    assert [e.id for e in store.log_top(10)] == ids[::-1]


def test_log_lines_of_a_rolled_back_transaction_are_not_kept(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.log([r.LogEntry("info", "lost")])
        tx.insert_message(r.MessageDraft("Svc", "Op", None, None))
        raise RuntimeError("abort")
    assert store.log_top(5) == [] and store.query_headers() == []
    assert store.queue_counts() == {}


# ---------------------------------------------------------------------------- productions, meta


def test_productions_crud(store: Store) -> None:
    definition = {"Production": {"@Name": "P.One", "@TestingEnabled": "true",
                                 "Item": [{"@Name": "B", "@ClassName": "x.B"},
                                          {"@Name": "A", "@ClassName": "x.A"}]}}
    assert store.get_production("P.One") is None and store.list_productions() == []
    store.save_production("P.One", definition)
    store.save_production("P.Two", {"Production": {"@Name": "P.Two"}})
    got = store.get_production("P.One")
    assert got == definition and list(got["Production"]) == list(definition["Production"])
    assert [p["Item"][0]["@Name"] for p in [got["Production"]]] == ["B"]  # order kept
    listing = store.list_productions()
    assert [p["name"] for p in listing] == ["P.One", "P.Two"]
    assert listing[0] == {"name": "P.One", "last_start": None, "last_stop": None, "auto_start": 0}

    definition["Production"]["@TestingEnabled"] = "false"
    store.save_production("P.One", definition)
    assert store.get_production("P.One") == definition
    before = time.time()
    store.mark_production("P.One", started=True, applied={"applied": True})
    store.mark_production("P.One", stopped=True)
    marked = store.list_productions()[0]
    assert marked["last_start"] >= before - 1 and marked["last_stop"] >= marked["last_start"]
    store.mark_production("Missing", started=True)  # nothing to mark: no error
    assert store.delete_production("P.One") and not store.delete_production("P.One")
    assert [p["name"] for p in store.list_productions()] == ["P.Two"]


def test_meta(store: Store) -> None:
    assert store.get_meta("default_production") == ""
    assert store.get_meta("default_production", "Not defined") == "Not defined"
    store.set_meta("default_production", "P.One")
    store.set_meta("default_production", "P.Two")
    assert store.get_meta("default_production") == "P.Two"


def test_bindings_and_classpaths(store: Store) -> None:
    b = r.Binding("Python.Op", "mod.ops", "Op", "/src", "operation", True)
    assert store.get_binding("Python.Op") is None
    store.put_binding(b)
    store.put_binding(r.Binding("Ens.X", "iop.builtins", "X", "", "message", False))
    assert store.get_binding("Python.Op") == b
    changed = r.Binding("Python.Op", "mod.ops2", "Op2", "/src2", "operation", False)
    store.put_binding(changed)
    assert store.get_binding("Python.Op") == changed
    assert store.get_binding("Python.Op").generated is False  # type: ignore[union-attr]
    assert [x.class_name for x in store.list_bindings()] == ["Ens.X", "Python.Op"]
    assert store.delete_binding("Ens.X") and not store.delete_binding("Ens.X")
    assert store.list_bindings() == [changed]

    for path in ("/b", "/a", "/b", "/c"):
        store.add_classpath(path)
    assert store.list_classpaths() == ["/b", "/a", "/c"]  # insertion order, no duplicates


# ---------------------------------------------------------------------------- runtime and jobs


def _job(job_id: str, item: str = "Op", slot: int = 0, pid: int = 1234) -> r.JobRecord:
    now = time.time()
    return r.JobRecord(job_id, item, slot, pid, socket.gethostname(), "starting", now, now)


def test_runtime_claim_and_update(store: Store) -> None:
    host = socket.gethostname()
    state = store.get_runtime()
    assert (state.status, state.production, state.supervisor_pid) == ("stopped", "", 0)

    assert store.claim_runtime("P.One", 4242, host, lambda s: True) is None
    state = store.get_runtime()
    assert (state.production, state.status, state.supervisor_pid, state.host, state.requested) \
        == ("P.One", "starting", 4242, host, "")
    assert state.heartbeat > 0

    blocker = store.claim_runtime("P.Two", 5555, host, lambda s: True)
    assert blocker is not None and blocker.supervisor_pid == 4242
    store.update_runtime(status="running", heartbeat=123.5, requested="stop")
    store.update_runtime()
    state = store.get_runtime()
    assert (state.status, state.heartbeat, state.requested) == ("running", 123.5, "stop")

    # A dead supervisor (is_alive says so) is replaced, and its claim clears the request.
    assert store.claim_runtime("P.Two", 5555, host, lambda s: False) is None
    state = store.get_runtime()
    assert (state.production, state.supervisor_pid, state.requested) == ("P.Two", 5555, "")
    store.update_runtime(status="stopped", supervisor_pid=0)
    assert store.claim_runtime("P.One", 6666, host, lambda s: True) is None  # stopped: free


def test_claim_runtime_resets_the_leases_of_this_hosts_jobs(store: Store) -> None:
    host = socket.gethostname()
    job_id = f"{host}:{os.getpid()}:Op:0:abcdef"
    store.put_job(_job(job_id))
    store.send([r.MessageDraft("Svc", "Op", None, None)])
    assert store.claim("Op", job_id, 5, 60)
    assert store.claim_runtime("P.One", 4242, host, lambda s: False) is None
    assert store.list_jobs() == []
    assert store.claim("Op", "next-job", 5, 60)  # the old job's lease is gone


def test_jobs(store: Store) -> None:
    store.put_job(_job("j-b", item="B", slot=1, pid=11))
    store.put_job(_job("j-a", item="A", slot=0, pid=10))
    store.put_job(_job("j-b0", item="B", slot=0, pid=12))
    assert [j.id for j in store.list_jobs()] == ["j-a", "j-b0", "j-b"]
    store.heartbeat_job("j-a", 17)
    store.heartbeat_job("j-b", 3, "stopping")
    jobs = {j.id: j for j in store.list_jobs()}
    assert (jobs["j-a"].processed, jobs["j-a"].state) == (17, "running")
    assert (jobs["j-b"].processed, jobs["j-b"].state) == (3, "stopping")
    assert jobs["j-a"].heartbeat >= jobs["j-a"].started and jobs["j-a"].pid == 10
    store.put_job(_job("j-a", item="A", slot=0, pid=99))  # a restarted slot replaces its row
    assert {j.id: j.pid for j in store.list_jobs()}["j-a"] == 99
    store.delete_job("j-b")
    store.delete_job("nobody")
    assert [j.id for j in store.list_jobs()] == ["j-a", "j-b0"]


# ---------------------------------------------------------------------------- schema


def test_initialize_is_idempotent_and_versioned(backend: Backend, store: Store) -> None:
    version = store.schema_version()
    assert version >= 1
    store.set_meta("kept", "yes")
    store.send([r.MessageDraft("Svc", "Op", None, None)])
    assert store.initialize() == version
    assert backend.open().initialize() == version  # another handle, same schema
    assert store.get_meta("kept") == "yes" and store.queue_counts() == {"Op": 1}
    assert store.schema_version() == version


def _version_one_store(backend: Backend, namespace: str) -> set[str]:
    """Create ``namespace`` as schema version 1 wrote it; returns the indexes it has."""
    if backend.name == "sqlite":
        import sqlite3

        from iop.store import namespace_dir
        from iop.store.sqlite.schema import MIGRATIONS as SQLITE_STEPS

        os.makedirs(namespace_dir(namespace), exist_ok=True)
        conn = sqlite3.connect(os.path.join(namespace_dir(namespace), "store.sqlite3"))
        conn.executescript(SQLITE_STEPS[1])
        conn.execute("INSERT INTO meta (key, value) VALUES ('schema_version', '1')")
        conn.commit()
        conn.close()
    else:
        import psycopg
        from backends_support import PG_URL
        from psycopg import sql

        from iop.store.postgres.schema import MIGRATIONS as PG_STEPS
        from iop.store.postgres.schema import schema_for

        backend.namespaces.add(namespace)
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            schema = sql.Identifier(schema_for(namespace))
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(schema))
            conn.execute(sql.SQL("SET search_path TO {}").format(schema))
            for statement in PG_STEPS[1]:
                conn.execute(statement)
            conn.execute("INSERT INTO meta (key, value) VALUES ('schema_version', '1')")
    return _indexes(backend.open(initialize=False, namespace=namespace))


def _indexes(store: Store) -> set[str]:
    if store.backend == "sqlite":
        rows = store.conn.execute(  # type: ignore[attr-defined]
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
    else:
        rows = store.conn.execute(  # type: ignore[attr-defined]
            "SELECT indexname FROM pg_indexes WHERE schemaname = %s",
            (store.schema,))  # type: ignore[attr-defined]
    return {row[0] for row in rows}


def test_a_version_one_store_is_upgraded_in_place_and_keeps_its_data(
        backend: Backend, store: Store) -> None:
    namespace = backend.namespace + "OLD"
    before = _version_one_store(backend, namespace)
    old = backend.open(initialize=False, namespace=namespace)
    assert old.schema_version() == 1
    (kept,) = old.send([r.MessageDraft("Svc", "Op", "demo.Msg", '{"n": 1}')])
    (failed,) = old.send([r.MessageDraft("Web", "Op", None, None, status=r.ERROR,
                                         error="ValueError: bad", enqueue=False)])
    old.save_production("P.Kept", {"Production": {"@Name": "P.Kept"}})

    version = store.schema_version()  # what this iop-engine writes
    assert version > 1
    assert backend.open(initialize=False, namespace=namespace).initialize() == version
    assert old.schema_version() == version
    assert _indexes(old) > before  # the later steps ran (they add indexes)
    assert old.get_production("P.Kept") == {"Production": {"@Name": "P.Kept"}}
    # a message that failed before the upgrade is found among the errors after it
    assert [h.id for h in old.search_messages(MessageFilter(status=r.ERROR))] == [failed]
    (delivery,) = old.claim("Op", "job", 5, 30)
    assert delivery.header.id == kept and delivery.body_text == '{"n": 1}'
    assert old.get_runtime().status == "stopped"  # the runtime row survived
    assert old.initialize() == version  # upgrading again changes nothing


def test_a_newer_schema_is_refused(store: Store) -> None:
    store.set_meta("schema_version", "999")
    assert store.schema_version() == 999
    with pytest.raises(StoreError, match="newer than this iop-engine understands"):
        store.initialize()
    assert store.schema_version() == 999  # nothing was changed


def test_an_uninitialised_store_reports_version_zero(backend: Backend) -> None:
    fresh = backend.open(initialize=False, namespace=backend.namespace + "X")
    assert fresh.schema_version() == 0
    assert fresh.initialize() >= 1
    assert fresh.schema_version() >= 1
