"""Issue 25: a store outage is shown while it lasts, stops the production only when asked, and
a stop issued meanwhile works.

A production runs on a PostgreSQL cluster of the test's own, which is stopped (not
restarted) and later started again. `iop -x` shows the outage from the supervisor's status
file while no command can read the store; with StoreOutageStopSeconds the production stops by
itself once the outage outlasts it, without it only `iop -S` stops it (delivered by signal);
either way the jobs end at once, the stop is recorded when the store is back, and every
message acknowledged before the outage is delivered once the production runs again.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from outage_state_support import (
    COMPONENTS,
    PRODUCTION,
    StoppableCluster,
    delivered,
    event_log,
    iop,
    processes,
    settings,
    status,
    stoppable_pg,
)

from iop import Director
from iop.store import open_store

__all__ = ["stoppable_pg"]  # the fixture, used by name

SENT = 150  # at 20 ms each on 2 jobs, some are still queued when the store goes


def _run_and_feed(make_project: Any, **production_settings: str) -> tuple[list[int], Path]:
    """Migrate and start the production, send SENT numbers; (acknowledged, the sink file)."""
    project = make_project(COMPONENTS, settings(**production_settings))
    project.migrate()
    iop("-s", PRODUCTION, "-D")
    module = project.import_module()
    store = open_store()
    gateway = Director(store=store).get_business_service("Gateway")
    for n in range(SENT):
        gateway.on_process_input(module.Work(n))
    store.close()
    return list(range(SENT)), Path(os.environ["IOP_TEST_SINK_FILE"])


def _outage_shown(wait_for: Any, host_count: int = 1) -> dict[str, Any]:
    """`iop -x` while the store is out: the seed's keys, and the outage, once the supervisor
    has noticed it (its status file)."""
    # `iop -x` names an outage it meets itself at once; the hosts come with their supervisors'
    # status files, which under load can be written a moment later.
    shown = wait_for(lambda: (lambda s: s if len(s.get("StoreOutage", {}).get("hosts", []))
                              == host_count else None)(status()),
                     timeout=20, what="iop -x to show the store outage on every host")
    assert shown["Production"] == PRODUCTION
    outage = shown["StoreOutage"]
    assert set(outage) >= {"since", "seconds", "reason", "hosts"}
    assert outage["reason"] and len(outage["hosts"]) == host_count
    return shown  # type: ignore[no-any-return]


def _all_delivered_after_restart(acked: list[int], sink: Path, wait_for: Any) -> None:
    """Start the production again: every acknowledged number reaches the operation."""
    iop("-s", PRODUCTION, "-D")
    wait_for(lambda: set(acked) <= set(delivered(sink)), timeout=60,
             what="every acknowledged message to be delivered")
    iop("-S")


def test_a_long_outage_stops_the_production_when_asked_and_the_stop_is_recorded_later(
        stoppable_pg: StoppableCluster, make_project: Any, wait_for: Any,
        pid_alive: Any) -> None:
    acked, sink = _run_and_feed(make_project, StoreOutageAlertSeconds="1",
                                StoreOutageStopSeconds="3")
    supervisor, jobs = processes()
    assert len(jobs) == 3
    stoppable_pg.stop_server()
    began = time.monotonic()

    shown = _outage_shown(wait_for)
    assert shown["StoreOutage"]["stop_after_seconds"] == 3
    # Past 3 s (and the 1 s alert) the supervisor stops its jobs; it stays to record the stop.
    wait_for(lambda: not any(pid_alive(p) for p in jobs), timeout=30,
             what="the jobs to end after StoreOutageStopSeconds")
    took = time.monotonic() - began
    assert took >= 3.0, f"the jobs ended {took:.1f} s into the outage, before the limit"
    assert pid_alive(supervisor)
    wait_for(lambda: status()["Status"] == "stopped", timeout=10,
             what="iop -x to say stopped (jobs ended, not recorded yet)")
    print(f"jobs ended {took:.1f} s into the outage; iop -x then: {status()}")

    stoppable_pg.start_server()
    wait_for(lambda: not pid_alive(supervisor), timeout=60,
             what="the supervisor to record the stop and exit")
    after = status()
    assert after == {"Production": PRODUCTION, "Status": "stopped"}, after
    store = open_store()
    texts = [text for _, text in event_log(store)]
    assert any("stopped on host" in t and "StoreOutageStopSeconds" in t for t in texts), texts
    assert any(kind == "alert" and "StoreOutageAlertSeconds" in text
               for kind, text in event_log(store))
    assert any(t.startswith("store unavailable since ") for t in texts)
    errors = store._rows("SELECT count(*) FROM headers WHERE status = 'error'")  # noqa: SLF001
    assert errors == [(0,)]
    store.close()
    _all_delivered_after_restart(acked, sink, wait_for)


def test_without_the_setting_an_outage_never_stops_but_a_stop_issued_meanwhile_does(
        stoppable_pg: StoppableCluster, make_project: Any, wait_for: Any,
        pid_alive: Any) -> None:
    acked, sink = _run_and_feed(make_project, StoreOutageAlertSeconds="1")
    supervisor, jobs = processes()
    stoppable_pg.stop_server()
    shown = _outage_shown(wait_for)
    assert shown["Status"] == "running"
    assert "stop_after_seconds" not in shown["StoreOutage"]
    time.sleep(4)  # past the alert: still running, as nobody asked for a stop
    assert all(pid_alive(p) for p in [supervisor, *jobs])

    stopped = iop("-S")
    print(stopped.stdout)
    assert "went by signal to the supervisor" in stopped.stdout
    assert "jobs have ended" in stopped.stdout and "once the store is back" in stopped.stdout
    assert not any(pid_alive(p) for p in jobs)
    assert pid_alive(supervisor)  # waiting to record the stop
    assert status()["Status"] == "stopped"

    stoppable_pg.start_server()
    wait_for(lambda: not pid_alive(supervisor), timeout=60,
             what="the supervisor to record the stop and exit")
    assert status() == {"Production": PRODUCTION, "Status": "stopped"}
    store = open_store()
    texts = [text for _, text in event_log(store)]
    assert f"Production {PRODUCTION} stopped" in texts
    store.close()
    _all_delivered_after_restart(acked, sink, wait_for)

    # With no supervisor on this machine a stop cannot reach anyone: one line, not a claim.
    stoppable_pg.stop_server()
    refused = iop("-S", check=False)
    assert refused.returncode != 0
    assert "no supervisor of namespace" in refused.stderr, refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
