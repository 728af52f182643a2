"""The cost of durable acknowledgements: the same patterns with FlushBeforeAcknowledge 1
(the default: a grouped WAL flush before each input returns) and 0 (no flush), in one run.

Two patterns: one input that sends one async request (a file or HTTP input), and the sync
round trip (a Director call waiting for its answer); one caller thread, then four sharing
the service (their flushes are grouped).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from bench.harness import RunningProduction, progress
from bench.measure import percentile
from bench.scenarios import Budget, row

_MODES = (("durable", "1"), ("speed", "0"))


def _inputs(service: Any, make: Any, seconds: float, callers: int) -> tuple[int, list[float]]:
    """Call ``service.on_process_input(make(n))`` from ``callers`` threads for ``seconds``."""
    latencies: list[list[float]] = [[] for _ in range(callers)]
    failures: list[BaseException] = []
    end = time.perf_counter() + seconds

    def call(index: int) -> None:
        n = index * 10_000_000
        try:
            while (t0 := time.perf_counter()) < end:
                service.on_process_input(make(n))
                latencies[index].append((time.perf_counter() - t0) * 1000)
                n += 1
        except BaseException as exc:  # reported below, never raised from a thread
            failures.append(exc)

    workers = [threading.Thread(target=call, args=(i,)) for i in range(callers)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if failures:
        raise failures[0]
    every = [ms for mine in latencies for ms in mine]
    return len(every), every


def durable_acks(budget: Budget) -> list[dict[str, Any]]:
    """Inputs/s of both patterns in both modes; each durable row carries its ratio to speed."""
    from bench.components import BenchRequest, Burst

    patterns = (
        ("one_input_one_send", "AsyncSender", "SinkOperation",
         lambda n: Burst(count=1, size=100, first=n)),
        ("sync_round_trip", "SyncSender", "EchoOperation", lambda n: BenchRequest(n, "x" * 100)),
    )
    rows: list[dict[str, Any]] = []
    for pattern, sender, operation, make in patterns:
        rates: dict[tuple[str, int], float] = {}
        for mode, value in _MODES:
            namespace = f"DURABLE_{pattern.upper()}_{mode.upper()}"
            progress(f"durable_acks {pattern} ({mode}): migrating and starting")
            prod = RunningProduction(namespace, f"Bench.{namespace}", sender=sender,
                                     operation=operation, pool=2,
                                     production_settings={"FlushBeforeAcknowledge": value})
            with prod:
                service = prod.service()
                _inputs(service, make, 0.5, 1)  # warm up
                for callers in (1, 4):
                    flushes = prod.store.flush_count
                    done, every = _inputs(service, make, budget.sync_seconds, callers)
                    rate = done / budget.sync_seconds
                    rates[(mode, callers)] = rate
                    flushed = prod.store.flush_count - flushes
                    progress(f"  {callers} caller(s): {rate:,.0f} inputs/s, {flushed} flushes")
                    rows.append(row("durable_acks", {"pattern": pattern, "mode": mode,
                                                     "callers": callers},
                                    rate, "inputs/s", p50_ms=percentile(every, 50),
                                    p99_ms=percentile(every, 99),
                                    extra={"inputs": done, "flushes": flushed,
                                           "FlushBeforeAcknowledge": value}))
        for one in rows[-4:]:
            params = one["params"]
            speed = rates[("speed", params["callers"])]
            one["extra"]["ratio_to_speed"] = (one["rate"] / speed) if speed else None
        for callers in (1, 4):
            durable, speed = rates[("durable", callers)], rates[("speed", callers)]
            progress(f"  {pattern}, {callers} caller(s): durable/speed = "
                     f"{durable / speed if speed else float('nan'):.2f}")
    return rows
