"""Operations every backend keeps: suspended messages, queue statistics and purge."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from iop.engine import suspended
from iop.engine.errors import EngineError
from iop.errors import BodyRefused, IopError
from iop.store import records as r
from iop.store.base import Store


def draft(target: str = "Op", n: int = 0, **fields: Any) -> r.MessageDraft:
    fields.setdefault("source", "Svc")
    return r.MessageDraft(target=target, body_class="demo.Msg", body_text=json.dumps({"n": n}),
                          **fields)


def _complete_all(store: Store) -> None:
    """Complete every queued request, as a job would."""
    deliveries = store.claim("Op", "done", 100, 30)
    with store.transaction() as tx:
        for d in deliveries:
            assert tx.finish_delivery(d.queue_id, "done")
            assert tx.set_status(d.header.id, r.COMPLETED)


def _suspend(store: Store, header_id: int) -> None:
    deliveries = store.claim("Op", "job", 10, 30)
    with store.transaction() as tx:
        for d in deliveries:
            if d.header.id == header_id:
                assert tx.finish_delivery(d.queue_id, "job")
                assert tx.set_status(header_id, r.SUSPENDED, "remote down")
    store.release_leases("job")


def test_queue_stats_count_and_oldest(store: Store) -> None:
    before = time.time()
    store.send([draft(n=1), draft(n=2), draft(target="Other")])
    stats = store.queue_stats()
    assert {k: v[0] for k, v in stats.items()} == {"Op": 2, "Other": 1}
    assert before - 1 <= stats["Op"][1] <= time.time() + 1


def test_suspended_messages_are_resubmitted_discarded_or_edited(store: Store) -> None:
    ids = store.send([draft(n=n) for n in range(4)])
    for header_id in ids:
        _suspend(store, header_id)
    assert [h.id for h in suspended.list_suspended(store)] == ids
    assert store.pending_sync_requests() == 0

    assert suspended.resubmit(store, [ids[0]]) == [{"id": ids[0], "status": "queued"}]
    assert store.get_header(ids[0]).status == "queued"  # type: ignore[union-attr]
    assert [d.header.id for d in store.claim("Op", "job2", 10, 30)] == [ids[0]]
    assert suspended.discard(store, [ids[1]]) == [{"id": ids[1], "status": "discarded"}]
    edited = suspended.resubmit_edited(store, ids[2], '{"n": 42}')
    copy = store.get_header(edited["resubmitted_as"])
    assert copy is not None and json.loads(store.get_body(copy) or "{}") == {"n": 42}
    assert copy.session_id == store.get_header(ids[2]).session_id  # type: ignore[union-attr]
    assert store.get_header(ids[2]).status == "discarded"  # type: ignore[union-attr]

    # All or nothing: one id that is not suspended refuses the whole call.
    with pytest.raises(EngineError, match="not suspended"):
        suspended.discard(store, [ids[0], ids[2]])
    with pytest.raises(IopError, match="not valid JSON"):
        suspended.resubmit_edited(store, ids[3], "{")
    with pytest.raises(BodyRefused, match="must be a JSON object"):
        suspended.resubmit_edited(store, ids[3], "[1]")
    assert [h.id for h in suspended.list_suspended(store)] == [ids[3]]  # unchanged


def test_purge_deletes_old_complete_sessions_and_keeps_the_rest(store: Store) -> None:
    store.send([draft(n=n) for n in range(4)])
    _complete_all(store)
    waiting = store.send([draft(target="Later", n=9)])
    store.log([r.LogEntry(type="info", text=f"line {i}") for i in range(5)])
    time.sleep(0.02)
    cutoff = time.time()
    newer = store.send([draft(n=10)])
    _complete_all(store)

    preview = store.purge_preview(cutoff)
    counts = store.purge(cutoff, bodies=True)
    assert (counts["sessions"], counts["headers"], counts["bodies"]) == (4, 4, 4)
    assert preview == {k: counts[k] for k in ("sessions", "headers", "log")}  # said before
    assert counts["log"] >= 4
    left = {h.id for h in store.query_headers(limit=0)}
    assert left == {waiting[0], newer[0]}  # in progress and too recent: kept

    assert store.purge_preview(time.time() + 1)["headers"] == 0  # the queued one stays
    preview = store.purge_preview(time.time() + 1, include_incomplete=True)
    counts = store.purge(time.time() + 1, include_incomplete=True)
    assert (preview["sessions"], preview["headers"]) == (counts["sessions"], counts["headers"])
    assert counts["headers"] == 1  # the queued one; the newest message is never deleted
    assert {h.id for h in store.query_headers(limit=0)} == {newer[0]}
    assert store.queue_counts() == {}  # the queued message's entry went with it
    again = store.send([draft(n=11)])
    assert again[0] > newer[0]  # ids never repeat
