"""The benchmark scenarios; each returns result rows (plain dicts) and never asserts."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.harness import RunningProduction, progress
from bench.measure import (
    commit_limit,
    cpu_usage,
    peak_rss_mb,
    percentile,
    reset_peak_rss,
)

KB = 1024


@dataclass
class Budget:
    """How long each measurement runs; ``quick`` keeps the whole run near a minute."""

    quick: bool = False

    @property
    def limit_seconds(self) -> float:
        return 1.0 if self.quick else 3.0

    @property
    def async_warmup(self) -> int:
        return 200 if self.quick else 500

    @property
    def async_seconds(self) -> float:
        """Target length of the measured async burst (its size is calibrated on the warm-up)."""
        return 2.0 if self.quick else 8.0

    @property
    def drain_messages(self) -> int:
        return 4000 if self.quick else 20000

    @property
    def sync_seconds(self) -> float:
        return 2.0 if self.quick else 8.0

    @property
    def overhead_hops(self) -> int:
        return 2000 if self.quick else 10000


def row(scenario: str, params: dict[str, Any], rate: float | None, unit: str, **fields: Any) -> dict[str, Any]:
    """One result row; the runner adds the ratio to the store limit."""
    base: dict[str, Any] = {
        "scenario": scenario, "params": params, "rate": rate, "unit": unit,
        "p50_ms": None, "p99_ms": None, "rss_bench_mb": None, "rss_jobs_mb": None,
        "rss_jobs": {}, "target": None, "extra": {},
    }
    base.update(fields)
    return base


def _size_label(size: int) -> str:
    return "tiny" if size < KB else f"{size // KB}KB"


def _rss_max(rss: dict[str, float | None]) -> float | None:
    values = [v for k, v in rss.items() if v is not None and k != "supervisor"]
    return max(values) if values else None


# ------------------------------------------------------------------ 1. store limit
def store_limit(budget: Budget, home: str, *, again: bool = False) -> list[dict[str, Any]]:
    """Raw committed transactions/s on a database set up like the store, in the same IOP_HOME.

    ``again`` measures only the single-row limit, at the end of the run, to show drift.
    """
    folder = os.path.join(home, "limit")
    rows = []
    variants = ((1, False),) if again else ((1, False), (1, True), (10, False), (100, False))
    for rows_per_commit, flock in variants:
        progress(f"store_limit rows/commit={rows_per_commit} flock={flock}")
        res = commit_limit(folder, rows_per_commit=rows_per_commit, flock=flock,
                           seconds=budget.limit_seconds)
        params: dict[str, Any] = {"rows_per_commit": rows_per_commit, "flock": flock}
        if again:
            params["when"] = "end of run"
        if rows_per_commit == 1:
            rows.append(row("store_limit", params, res["commits_per_s"], "commits/s",
                            rss_bench_mb=peak_rss_mb(), extra=res))
        else:
            rows.append(row("store_limit", params, res["rows_per_s"], "rows/s",
                            rss_bench_mb=peak_rss_mb(), extra=res))
    return rows


# ------------------------------------------------------------------ 2 and 5. async one hop
def _send_with_processes(namespace: str, senders: int, count: int, size: int,
                         first: int) -> tuple[float, list[dict[str, Any]], float]:
    """Start ``senders`` sender processes, release them together; returns (wall t0, reports, send s)."""
    share = count // senders
    procs = []
    for index in range(senders):
        n = share if index < senders - 1 else count - share * (senders - 1)
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "bench.sender", namespace, str(n), str(size),
             str(first + index * share)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
    for proc in procs:
        assert proc.stdout is not None
        proc.stdout.readline()  # "ready"
    wall0 = time.time()
    t0 = time.perf_counter()
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    reports = []
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        proc.wait()
        reports.append(json.loads(line) if line.strip() else {})
    return wall0, reports, time.perf_counter() - t0


def _send_with_threads(service: Any, threads: int, count: int, size: int,
                       first: int) -> tuple[float, float]:
    """Send a burst from ``threads`` threads sharing one Director service; (wall t0, send s)."""
    from bench.components import Burst

    share = count // threads
    gate = threading.Barrier(threads + 1)
    failures: list[BaseException] = []

    def work(n: int, start: int) -> None:
        gate.wait()
        try:
            service.on_process_input(Burst(count=n, size=size, first=start))
        except BaseException as exc:  # reported with the result, never raised from a thread
            failures.append(exc)

    workers = [threading.Thread(target=work, args=(
        share if i < threads - 1 else count - share * (threads - 1), first + i * share))
        for i in range(threads)]
    for worker in workers:
        worker.start()
    wall0 = time.time()
    t0 = time.perf_counter()
    gate.wait()
    for worker in workers:
        worker.join()
    if failures:
        raise failures[0]
    return wall0, time.perf_counter() - t0


def async_one_hop(budget: Budget, *, pool: int, size: int = 0, senders: int = 1, threads: int = 1,
                  scenario: str = "async_one_hop") -> dict[str, Any]:
    """N async requests from a Director service to an operation; N / (first send → last completed).

    ``senders`` > 1 sends from that many separate processes; ``threads`` > 1 from that many
    threads of the bench process sharing one service (their sends can share commits).
    """
    from bench.components import Burst

    namespace = f"ASYNC_P{pool}_{_size_label(size).upper()}_S{senders}_T{threads}"
    params = {"pool": pool, "body": _size_label(size), "senders": senders, "threads": threads}
    progress(f"{scenario} {params}: migrating and starting")
    prod = RunningProduction(namespace, f"Bench.{namespace}", sender="AsyncSender",
                             operation="SinkOperation", pool=pool)
    reset_peak_rss()
    with prod:
        service = prod.service()
        warm = budget.async_warmup if size < 50 * KB else max(50, budget.async_warmup // 4)
        t0 = time.perf_counter()
        service.on_process_input(Burst(count=warm, size=size))
        prod.wait_requests(warm)
        estimate = warm / (time.perf_counter() - t0)
        count = int(estimate * budget.async_seconds)
        count = max(500, min(count, 100_000, (300 * KB * KB) // max(size, 1)))
        after = prod.last_header_id()
        done_before = sum(prod.request_count())
        progress(f"  warm-up {warm} at ~{estimate:,.0f} msgs/s; sending {count} "
                 f"from {senders} process(es) x {threads} thread(s)")
        sender_reports: list[dict[str, Any]] = []
        cpu_before = prod.cpu_snapshot()
        if threads > 1:
            wall0, send_seconds = _send_with_threads(service, threads, count, size, warm)
        elif senders == 1:
            wall0 = time.time()
            t0 = time.perf_counter()
            service.on_process_input(Burst(count=count, size=size, first=warm))
            send_seconds = time.perf_counter() - t0
        else:
            wall0, sender_reports, send_seconds = _send_with_processes(
                namespace, senders, count, size, warm)
        progress(f"  sent in {send_seconds:.2f} s; waiting for completion")
        completed, errors, ok = prod.wait_requests(done_before + count)
        cpu_after = prod.cpu_snapshot()
        window = time.time() - wall0
        rss_jobs = prod.job_rss()
    rss_bench = peak_rss_mb()
    for index, report in enumerate(sender_reports):
        cpu_before[f"sender.{index}"] = 0.0
        cpu_after[f"sender.{index}"] = report.get("cpu_seconds")
    times = prod.request_times(after)
    finished = [p for _, p, _ in times if p is not None]
    elapsed = (max(finished) - wall0) if finished else float("nan")
    latencies = [(p - c) * 1000 for c, p, _ in times if p is not None]
    rate = len(finished) / elapsed if finished else None
    progress(f"  {rate or 0:,.0f} msgs/s end to end")
    extra: dict[str, Any] = {
        "messages": count, "completed": completed - done_before if ok else None,
        "errors": errors, "finished_in_time": ok, "seconds": elapsed,
        "send_seconds": send_seconds, "send_rate": count / send_seconds,
        "latency": "request created -> completed, ms",
        "cpu": cpu_usage(cpu_before, cpu_after, count, window),
    }
    if sender_reports:
        extra["sender_processes"] = sender_reports
        rss_jobs = {**rss_jobs, **{f"sender.{i}": r.get("rss_mb") for i, r in enumerate(sender_reports)}}
    return row(scenario, params, rate, "msgs/s", p50_ms=percentile(latencies, 50),
               p99_ms=percentile(latencies, 99), rss_bench_mb=rss_bench,
               rss_jobs_mb=_rss_max(rss_jobs), rss_jobs=rss_jobs,
               target=">= 10,000 msgs/s (pool >= 2)" if pool >= 2 and scenario == "async_one_hop"
               else None, extra=extra)


def async_drain(budget: Budget, *, pool: int) -> dict[str, Any]:
    """The jobs alone: queue N requests in one transaction while the operation idles, time the drain.

    Before the production starts, a quarter as many requests are sent one by one through the
    stopped production's service: that send rate, with no consumer competing, is reported too.
    """
    from bench.components import BenchRequest, Burst
    from iop.messages import codec
    from iop.store import records as r

    namespace = f"DRAIN_P{pool}"
    count = budget.drain_messages
    params = {"pool": pool, "body": "tiny", "prefilled": count}
    progress(f"async_drain {params}: sends with no consumer running")
    prod = RunningProduction(namespace, f"Bench.{namespace}", sender="AsyncSender",
                             operation="SinkOperation", pool=pool)
    alone = count // 4
    t0 = time.perf_counter()
    prod.service().on_process_input(Burst(count=alone))
    alone_seconds = time.perf_counter() - t0
    progress(f"  {alone} sends in {alone_seconds:.2f} s ({alone / alone_seconds:,.0f} sends/s "
             "with no consumer); starting")
    with prod:
        prod.wait_requests(alone)
        after = prod.last_header_id()
        class_name, _ = codec.encode(BenchRequest())
        drafts = [r.MessageDraft(source="BenchService", target="BenchOperation",
                                 body_class=class_name, body_text=codec.encode(BenchRequest(i))[1])
                  for i in range(count)]
        progress(f"  queueing {count} in one transaction; draining")
        cpu_before = prod.cpu_snapshot()
        t0 = time.perf_counter()
        prod.store.send(drafts)
        completed, errors, ok = prod.wait_requests(alone + count)
        cpu_after = prod.cpu_snapshot()
        window = time.perf_counter() - t0
        rss_jobs = prod.job_rss()
    finished = sorted(p for _, p, _ in prod.request_times(after) if p is not None)
    span = finished[-1] - finished[0] if len(finished) > 1 else float("nan")
    rate = (len(finished) - 1) / span if len(finished) > 1 and span > 0 else None
    progress(f"  drained at {rate or 0:,.0f} msgs/s")
    cpu = cpu_usage(cpu_before, cpu_after, count, window)
    cpu["note"] = "bench includes building and committing the one big send"
    return row("async_drain", params, rate, "msgs/s", rss_bench_mb=peak_rss_mb(),
               rss_jobs_mb=_rss_max(rss_jobs), rss_jobs=rss_jobs,
               extra={"completed": completed - alone, "errors": errors, "finished_in_time": ok,
                      "drain_seconds": span, "send_rate_without_consumers": alone / alone_seconds,
                      "cpu": cpu, "rate": "first to last completion of the queued requests"})


# ------------------------------------------------------------------ 3, 4 and 5. sync round trips
def sync_round_trip(budget: Budget, *, via_process: bool, size: int = 0,
                    scenario: str | None = None, callers: int = 1, pool: int = 1) -> dict[str, Any]:
    """Director service threads call send_request_sync in a loop; round trips/s and latency.

    ``callers`` threads share one service (as a web app's request threads would); each waits
    for its answer before it sends again. ``pool`` is the operation's (and process's) pool size.
    """
    from bench.components import BenchRequest, BenchResponse

    scenario = scenario or ("sync_process" if via_process else "sync_operation")
    path = "service->process->operation" if via_process else "service->operation"
    namespace = f"SYNC_{'PROC' if via_process else 'OP'}_{_size_label(size).upper()}_C{callers}"
    params = {"path": path, "body": _size_label(size), "callers": callers, "pool": pool}
    progress(f"{scenario} {params}: migrating and starting")
    prod = RunningProduction(namespace, f"Bench.{namespace}", sender="SyncSender",
                             operation="EchoOperation", pool=pool, via_process=via_process)
    reset_peak_rss()
    payload = "x" * size
    latencies: list[list[float]] = [[] for _ in range(callers)]
    wrong = [0] * callers
    failures: list[BaseException] = []
    perf = time.perf_counter
    with prod:
        service = prod.service()
        for i in range(20 if size >= 50 * KB else 100):
            service.on_process_input(BenchRequest(i, payload))
        progress(f"  warmed up; round trips for {budget.sync_seconds:.0f} s from {callers} "
                 "caller thread(s)")
        gate = threading.Barrier(callers + 1)
        end = [0.0]

        def call(index: int) -> None:
            mine, seq = latencies[index], index * 10_000_000
            gate.wait()
            try:
                while True:
                    t0 = perf()
                    if t0 >= end[0]:
                        return
                    response = service.on_process_input(BenchRequest(seq, payload))
                    mine.append((perf() - t0) * 1000)
                    if not isinstance(response, BenchResponse) or response.size != size:
                        wrong[index] += 1
                    seq += 1
            except BaseException as exc:  # reported with the result, never raised from a thread
                failures.append(exc)

        workers = [threading.Thread(target=call, args=(i,)) for i in range(callers)]
        for worker in workers:
            worker.start()
        cpu_before = prod.cpu_snapshot()
        start = perf()
        end[0] = start + budget.sync_seconds
        gate.wait()
        for worker in workers:
            worker.join()
        elapsed = perf() - start
        cpu_after = prod.cpu_snapshot()
        rss_jobs = prod.job_rss()
        counts = prod.store.count_by_status()
    if failures:
        raise failures[0]
    done = sum(len(mine) for mine in latencies)
    every = [ms for mine in latencies for ms in mine]
    rate = done / elapsed
    progress(f"  {rate:,.0f} round trips/s, p50 {percentile(every, 50):.2f} ms")
    return row(scenario, params, rate, "round trips/s", p50_ms=percentile(every, 50),
               p99_ms=percentile(every, 99), rss_bench_mb=peak_rss_mb(),
               rss_jobs_mb=_rss_max(rss_jobs), rss_jobs=rss_jobs,
               target=">= 2,000/s" if not via_process and size < KB else None,
               extra={"round_trips": done, "seconds": elapsed, "wrong_responses": sum(wrong),
                      "header_statuses": counts, "latency": "caller-side, ms",
                      "cpu": cpu_usage(cpu_before, cpu_after, done, elapsed)})


# ------------------------------------------------------------------ the catalogue
def catalogue(budget: Budget, profile: bool = False) -> dict[str, list[Callable[[], dict[str, Any]]]]:
    """Scenario name → the measurements it runs, in order (store_limit is run by the runner)."""
    from bench.durability import durable_acks
    from bench.hl7_mllp import hl7_mllp
    from bench.overhead import engine_overhead
    from bench.portal_monitor import production_monitor
    from bench.portal_viewer import message_viewer
    from bench.sync_floor import sync_floor

    async_runs: list[Callable[[], dict[str, Any]]] = [
        lambda: async_one_hop(budget, pool=1),
        lambda: async_one_hop(budget, pool=2),
        lambda: async_one_hop(budget, pool=4),
    ]
    async_runs.append(lambda: async_one_hop(budget, pool=2, threads=4))
    if not budget.quick:
        async_runs.append(lambda: async_one_hop(budget, pool=4, threads=4))
        async_runs.append(lambda: async_one_hop(budget, pool=2, senders=2))
    for pool in ((2,) if budget.quick else (1, 2, 4)):
        async_runs.append(functools.partial(async_drain, budget, pool=pool))
    return {
        "async_one_hop": async_runs,
        "sync_operation": [
            lambda: sync_floor(budget),
            lambda: sync_round_trip(budget, via_process=False),
            lambda: sync_round_trip(budget, via_process=False, callers=4, pool=2),
        ],
        "sync_process": [lambda: sync_round_trip(budget, via_process=True)],
        # Each call yields four rows per pattern (durable and speed, 1 and 4 callers).
        "durable_acks": [lambda: durable_acks(budget)],  # type: ignore[list-item, return-value]
        "body_sizes": [
            lambda: async_one_hop(budget, pool=2, size=KB, scenario="body_sizes"),
            lambda: async_one_hop(budget, pool=2, size=100 * KB, scenario="body_sizes"),
            lambda: sync_round_trip(budget, via_process=False, size=KB, scenario="body_sizes"),
            lambda: sync_round_trip(budget, via_process=False, size=100 * KB,
                                    scenario="body_sizes"),
        ],
        # MLLP in -> TCPService (ACK once stored) -> one operation (issue 27's connector bench)
        "hl7_mllp": [lambda: hl7_mllp(budget, connections=1),
                     lambda: hl7_mllp(budget, connections=4)],
        "engine_overhead": [
            lambda: engine_overhead(budget, respond=False, profile=profile),
            lambda: engine_overhead(budget, respond=True, profile=profile),
        ],
        # message_viewer yields several rows (one per page); the runner flattens them.
        "message_viewer": [lambda: message_viewer(budget)],  # type: ignore[list-item, return-value]
        # production_monitor too (1M headers, the triggers' cost, the snapshot and the poll).
        "production_monitor": [  # type: ignore[list-item, return-value]
            lambda: production_monitor(budget)],
    }
