"""Purge: old complete sessions go, sessions still in progress stay unless asked, ids never
repeat, and the scheduled purge does the same from the supervisor."""

from __future__ import annotations

import time
from typing import Any

from iop import Director
from iop.engine.config import parse_production
from iop.engine.monitor import Monitor

PRODUCTION = "Purge.Production"

COMPONENTS = '''
@dataclass
class Note(Message):
    n: int = 0


class Gateway(BusinessService):
    def on_process_input(self, request):
        self.send_request_async("Sink", request)


class Sink(BusinessOperation):
    def on_message(self, request):
        self.log_info(f"stored {request.n}")
'''

SETTINGS = f'''
prod = Production("{PRODUCTION}")
prod.service("Gateway", Gateway)
prod.operation("Sink", Sink)
PRODUCTIONS = [prod]
'''


def _fill(make_project: Any, store: Any, run_iop: Any, wait_for: Any) -> tuple[Any, Any]:
    """20 complete sessions, then 5 sessions left queued while the production is stopped."""
    project = make_project(COMPONENTS, SETTINGS)
    project.migrate()
    project.start(PRODUCTION)
    module = project.import_module()
    gateway = Director().get_business_service("Gateway")
    for n in range(20):
        gateway.on_process_input(module.Note(n))
    wait_for(lambda: store.count_by_status(type="request") == {"completed": 20}, timeout=60,
             what="20 complete sessions")
    run_iop("-S")
    for n in range(20, 25):
        gateway.on_process_input(module.Note(n))
    time.sleep(0.05)  # "older than 0 days" means created before the purge starts
    return module, gateway


def test_purge_keeps_sessions_in_progress_and_ids_never_repeat(
        make_project: Any, store: Any, run_iop: Any, iop_json: Any, wait_for: Any) -> None:
    module, gateway = _fill(make_project, store, run_iop, wait_for)
    newest_header = max(h.id for h in store.query_headers(limit=0))
    newest_log = store.log_top(1)[0].id

    counts = iop_json("--purge", "0")
    assert counts["sessions"] == 20 and counts["headers"] == 20 and counts["bodies"] == 0
    assert counts["log"] > 0
    left = store.query_headers(limit=0)
    assert sorted(h.status for h in left) == ["queued"] * 5  # in progress: kept
    # Bodies stay unless asked: the purged headers' bodies are still stored.
    assert store.log_top(1)[0].id > newest_log  # the purge logged itself, with a new id

    gateway.on_process_input(module.Note(99))
    assert max(h.id for h in store.query_headers(limit=0)) > newest_header

    counts = iop_json("--purge", "0", "--bodies", "--include-incomplete")
    assert counts["headers"] == 5  # the queued sessions; the newest message is always kept
    assert [h.id for h in store.query_headers(limit=0)] == [newest_header + 1]
    assert store.queue_counts() == {"Sink": 1}

    refused = run_iop("--purge", "-1", check=False)
    assert refused.returncode == 1 and refused.stderr.strip().startswith("error: purge keeps")
    assert "Traceback" not in refused.stderr


def test_purge_with_bodies_removes_them_and_compacts(
        make_project: Any, store: Any, run_iop: Any, iop_json: Any, wait_for: Any) -> None:
    _fill(make_project, store, run_iop, wait_for)
    bodies_before = store.conn.execute("SELECT COUNT(*) FROM bodies").fetchone()[0]
    counts = iop_json("--purge", "0", "--bodies")
    bodies_after = store.conn.execute("SELECT COUNT(*) FROM bodies").fetchone()[0]
    assert counts["bodies"] == 20 and bodies_after == bodies_before - 20
    assert isinstance(counts["compacted"], bool)


def test_scheduled_purge_follows_the_production_settings(
        make_project: Any, store: Any, run_iop: Any, wait_for: Any) -> None:
    _fill(make_project, store, run_iop, wait_for)
    definition = store.get_production(PRODUCTION)
    definition["Production"]["Setting"] = [
        {"@Target": "Production", "@Name": "PurgeKeepDays", "#text": "0"},
        {"@Target": "Production", "@Name": "PurgeBodies", "#text": "1"}]
    monitor = Monitor(store, parse_production(definition), {})
    assert monitor.keep_days == 0  # 0 means off: nothing is purged
    monitor._next_purge = 0.0
    monitor.tick()
    assert len(store.query_headers(limit=0)) == 25

    definition["Production"]["Setting"][0]["#text"] = "0.00000001"  # a fraction of a second
    monitor = Monitor(store, parse_production(definition), {})
    time.sleep(0.01)
    monitor._next_purge = 0.0
    monitor.tick()
    assert sorted(h.status for h in store.query_headers(limit=0)) == ["queued"] * 5
    assert any(e.text.startswith("scheduled purge (PurgeKeepDays)") for e in store.log_since(0))
