"""The production monitor's counters, kept by the schema's triggers, on both backends: they
equal what a count of the headers gives after inserts, status changes and a purge."""

from __future__ import annotations

import time
from typing import Any

from iop.store import records as r
from iop.store.base import Store
from iop.store.postgres.schema import SCHEMA_VERSION as PG_VERSION
from iop.store.sqlite.schema import SCHEMA_VERSION as SQLITE_VERSION


def _received(store: Store, item: str) -> dict[str, int]:
    counts = store.item_counts().get(item)
    return dict(counts.received) if counts else {}


def test_counters_follow_every_write(store: Store) -> None:
    ids = store.send([r.MessageDraft("Svc", "Op", "c", "{}") for _ in range(5)]
                     + [r.MessageDraft("Svc", "Proc", "c", "{}", status=r.ERROR, error="x")])
    with store.transaction() as tx:
        tx.set_status(ids[0], r.COMPLETED)
        tx.set_status(ids[1], r.COMPLETED)
        tx.set_status(ids[2], r.ERROR, "refused")
    assert _received(store, "Op") == store.count_by_status(target="Op") \
        == {"completed": 2, "error": 1, "queued": 2}
    assert _received(store, "Proc") == store.count_by_status(target="Proc") == {"error": 1}
    counts = store.item_counts()
    assert counts["Svc"].sent == 6 and counts["Svc"].received == {}
    assert counts["Op"].last >= counts["Svc"].last - 1
    minutes = store.message_rate(time.time() - 3600)
    assert sum(n for _, n, _ in minutes) == 6 and sum(e for _, _, e in minutes) == 2
    assert store.queue_activity()["Op"][0] == 5

    with store.transaction() as tx:  # the queue entries go, so the sessions are complete
        tx.run("DELETE FROM queue")  # type: ignore[attr-defined]
        tx.run("UPDATE headers SET status = 'completed' WHERE status = 'queued'")  # type: ignore[attr-defined]
    store.purge(time.time() + 60, include_incomplete=True)
    left = store.count_by_status(target="Op")
    assert _received(store, "Op") == left
    assert store.item_counts()["Svc"].sent == sum(store.count_by_status(source="Svc").values())


def test_newest_log_by_item_and_type(store: Store) -> None:
    store.log([r.LogEntry("error", "first", "Op"), r.LogEntry("info", "fine", "Op"),
               r.LogEntry("error", "second", "Op"), r.LogEntry("error", "other", "Other")])
    newest = store.newest_log("Op", "error")
    assert [e.text for e in newest] == ["second"]
    assert [e.text for e in store.newest_log("Op", "error", 0, 5)] == ["second", "first"]
    assert store.newest_log("Op", "error", newest[0].id) == []
    assert store.newest_log_id() >= newest[0].id


def test_upgrade_counts_the_headers_already_stored(backend: Any, store: Store) -> None:
    """A store of the schema before the counters gets them, filled, when it is upgraded."""
    ids = store.send([r.MessageDraft("Svc", "Op", "c", "{}") for _ in range(3)])
    with store.transaction() as tx:
        tx.set_status(ids[0], r.ERROR, "refused")
    before = 2 if backend.name == "sqlite" else 3
    with store.transaction() as tx:  # back to the schema before the monitor's step
        for name in ("headers_counted", "headers_recounted", "headers_uncounted"):
            tx.run(f"DROP TRIGGER IF EXISTS {name}"  # type: ignore[attr-defined]
                   + ("" if backend.name == "sqlite" else " ON headers"))
        tx.run("DROP TABLE item_counts")  # type: ignore[attr-defined]
        tx.run("DROP TABLE message_rate")  # type: ignore[attr-defined]
        tx.run("UPDATE meta SET value = ? WHERE key = 'schema_version'",  # type: ignore[attr-defined]
               (str(before),))
    upgraded = backend.open()
    assert upgraded.schema_version() == (SQLITE_VERSION if backend.name == "sqlite"
                                         else PG_VERSION)  # every later step too
    assert _received(upgraded, "Op") == {"error": 1, "queued": 2}
    assert upgraded.item_counts()["Svc"].sent == 3
    assert sum(n for _, n, _ in upgraded.message_rate(time.time() - 3600)) == 3
    upgraded.send([r.MessageDraft("Svc", "Op", "c", "{}")])  # the triggers are back
    assert _received(upgraded, "Op") == upgraded.count_by_status(target="Op")


def test_folding_keeps_the_counts(backend: Any, store: Store) -> None:
    """What a backend keeps beside the counters (PostgreSQL: deltas a trigger appends, folded
    once a second by the supervisor and by a purge) never changes the sums read."""
    other = backend.open()
    other.send([r.MessageDraft("Svc", "Op", "c", "{}") for _ in range(4)])
    other.close()
    store.send([r.MessageDraft("Svc", "Op", "c", "{}")])
    assert _received(store, "Op") == {"queued": 5}
    if backend.name == "postgresql":
        assert store._read("SELECT COUNT(*) FROM item_count_deltas")[0][0] > 0  # type: ignore[attr-defined]
    store.purge(time.time() - 3600)  # deletes nothing: only the folding is under test
    store.checkpoint()
    assert _received(store, "Op") == store.count_by_status(target="Op") == {"queued": 5}
    assert store.item_counts()["Svc"].sent == 5
    assert sum(n for _, n, _ in store.message_rate(time.time() - 3600)) == 5
    if backend.name == "postgresql":
        assert store._read("SELECT COUNT(*) FROM item_count_deltas")[0][0] == 0  # type: ignore[attr-defined]
        assert store._read("SELECT COUNT(*) FROM message_rate_deltas")[0][0] == 0  # type: ignore[attr-defined]
