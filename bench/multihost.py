"""Scenarios on PostgreSQL with 1, 2 and 3 hosts, and the database's own limit in the same run.

A "host" is a supervisor process group started with ``iop -s NAME -D`` under its own
IOP_HOST_NAME, all sharing one IOP_DATABASE_URL and namespace, as on separate machines;
each host runs ``pool`` jobs of the operation. A hop is one request delivered to the
operation and completed.

* ``pg_drain``: requests queued in one transaction, drained by every host's jobs (claims and
  completions of up to 32 messages per commit: group commit). Pure consumer scaling.
* ``pg_async``: sender processes (threads sharing commits) send async requests while the
  hosts consume them; first send to last completion.
* ``pg_sync``: concurrent callers each doing send_request_sync in a loop; every hop commits
  on its own (the request, then its completion with the response): unbatched.
* ``pg_wait``: as pg_drain, but the operation waits 5 ms per message on an "outside system".
  Every host here shares this machine's CPUs, so CPU-bound work cannot grow with hosts;
  work bound by waiting shows the horizontal scaling a second machine would bring.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.harness import REPO, migrate, progress
from bench.measure import cpu_seconds, cpu_usage, peak_rss_mb, percentile
from bench.pg_limit import commit_limit
from bench.scenarios import Budget, row

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
NAMES = ("pg_drain", "pg_async", "pg_sync", "pg_wait")
HOST_COUNTS = (1, 2, 3)
POOL = 2  # operation jobs per host
SENDERS, SENDER_THREADS = 2, 4  # async load: processes x threads
CALLERS, CALLER_THREADS = 2, 4  # sync load: processes x threads
UNBATCHED_TARGET = ">= 800 hops/s (unbatched)"
GROUP_TARGET = ">= 8,000 hops/s (group commit)"


def _postgres_cpu() -> float:
    """CPU seconds used so far by every PostgreSQL server process on this machine."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm", encoding="utf-8") as fh:
                if fh.read().strip() != "postgres":
                    continue
        except OSError:
            continue
        total += cpu_seconds(entry) or 0.0
    return total


class Hosts:
    """``count`` hosts running one production of one namespace for a ``with`` block."""

    def __init__(self, namespace: str, production: str, count: int) -> None:
        from iop.store import open_store

        self.namespace = namespace
        self.production = production
        self.count = count
        self.store = open_store(namespace)
        self.listening = 0  # listening connections once the hosts run

    def cli(self, host: str | None, *args: str) -> None:
        env = {**os.environ, "IOP_NAMESPACE": self.namespace}
        env.pop("IOP_HOST_NAME", None)
        if host:
            env["IOP_HOST_NAME"] = host
        proc = subprocess.run([sys.executable, "-m", "iop", *args], env=env, cwd=REPO,
                              capture_output=True, text=True, timeout=180)
        if proc.returncode != 0:
            raise RuntimeError(f"iop {' '.join(args)} on {host or 'bench'}: "
                               f"{(proc.stderr or proc.stdout).strip()}")

    def __enter__(self) -> Hosts:
        t0 = time.perf_counter()
        for index in range(1, self.count + 1):
            self.cli(f"bench-h{index}", "-s", self.production, "-D")
        jobs = self.store.list_jobs()
        self.listening = self.listening_connections()
        progress(f"  {self.count} host(s) run {self.production}: {len(jobs)} job(s) in "
                 f"{time.perf_counter() - t0:.1f} s, {self.listening} listening connection(s)")
        return self

    def listening_connections(self) -> int:
        """Connections of the database that listen for rings (their last statement is a
        LISTEN): each one costs the server work on every NOTIFY."""
        row = self.store.conn.execute(  # type: ignore[attr-defined]
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND (query LIKE 'LISTEN %%' OR query LIKE 'UNLISTEN %%')").fetchone()
        return int(row[0]) if row else 0

    def __exit__(self, *exc: Any) -> None:
        try:
            self.cli(None, "-S")
        except RuntimeError:
            self.cli(None, "-k")
        self.store.close()

    def cpu_snapshot(self) -> dict[str, float | None]:
        """CPU seconds so far: this process, every supervisor and job, the PostgreSQL server."""
        cpu: dict[str, float | None] = {"bench": cpu_seconds(), "postgres": _postgres_cpu()}
        for state in self.store.list_runtimes():
            if state.live:
                cpu[f"{state.host}.supervisor"] = cpu_seconds(state.supervisor_pid)
        for job in self.store.list_jobs():
            cpu[f"{job.host}.{job.item}.{job.slot}"] = cpu_seconds(job.pid)
        return cpu

    def rss(self) -> dict[str, float | None]:
        return {f"{job.host}.{job.item}.{job.slot}": peak_rss_mb(job.pid)
                for job in self.store.list_jobs()}

    def requests_done(self) -> int:
        counts = self.store.count_by_status(type="request")
        return counts.get("completed", 0) + counts.get("error", 0)

    def wait_requests(self, expected: int, stall_seconds: float = 30.0) -> bool:
        """Wait until ``expected`` requests are done; False when nothing moves for a while.

        It watches the (small) queue and counts the headers only once the queue is empty:
        counting them every few milliseconds would add its own work to the server's CPU.
        """
        last, changed = -1, time.monotonic()
        while True:
            waiting = sum(self.store.queue_counts().values())
            if waiting == 0 and self.requests_done() >= expected:
                return True
            if waiting != last:
                last, changed = waiting, time.monotonic()
            elif time.monotonic() - changed > stall_seconds:
                return False
            time.sleep(0.05)

    def last_header_id(self) -> int:
        newest = self.store.query_headers(limit=1)
        return newest[0].id if newest else 0

    def request_times(self, after_id: int) -> list[tuple[float, float | None]]:
        rows = self.store.conn.execute(  # type: ignore[attr-defined]
            "SELECT created, processed FROM headers WHERE type = 'request' AND id > %s "
            "ORDER BY id", (after_id,)).fetchall()
        return [(float(c), float(p) if p is not None else None) for c, p in rows]


def _production(kind: str, pid: int) -> tuple[str, str]:
    namespace = f"BENCH_{kind.upper()}_{pid}"
    return namespace, f"Bench.Hosts{kind.capitalize()}"


def _migrate(namespace: str, production: str, sync: bool) -> None:
    from iop.store import open_store

    store = open_store(namespace)
    migrate(store, production, sender="SyncSender" if sync else "AsyncSender",
            operation="EchoOperation" if sync else "SinkOperation", pool=POOL)
    store.close()


_WAIT_SETTINGS = '''"""Generated by bench/multihost.py: the pg_wait production."""
import sys
sys.path.insert(0, {repo!r})
from bench import components as c
from bench.hosts_components import OutsideCallOperation

PRODUCTIONS = [c.make_production({name!r}, sender=c.AsyncSender,
                                 operation=OutsideCallOperation, pool={pool})]
'''


def _migrate_wait(namespace: str, production: str) -> None:
    from iop.migration.loader import migrate_file
    from iop.store import open_store

    folder = os.path.join(os.environ["IOP_HOME"], "settings")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "bench_hosts_wait.py")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(_WAIT_SETTINGS.format(repo=REPO, name=production, pool=POOL))
    store = open_store(namespace)
    migrate_file(store, path)
    store.close()


def _load(mode: str, namespace: str, processes: int, threads: int, amount: float,
          first: int) -> tuple[float, list[dict[str, Any]]]:
    """Run ``processes`` hosts_sender processes released together; (wall time of go, reports)."""
    procs = [subprocess.Popen(
        [sys.executable, "-m", "bench.hosts_sender", mode, namespace, str(threads),
         str(amount if mode == "sync" else int(amount) // processes),
         str(first + index * 10_000_000)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO)
        for index in range(processes)]
    for proc in procs:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError("a load process did not start (see stderr)")
    go = time.time()
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    reports = []
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        proc.wait(300)
        reports.append(json.loads(line) if line.strip() else {"failures": ["no report"]})
    return go, reports


def _params(hosts: int, **more: Any) -> dict[str, Any]:
    return {"hosts": hosts, "jobs_per_host": POOL, **more}


# ------------------------------------------------------------------ scenarios
def pg_drain(budget: Budget, hosts: int, scenario: str = "pg_drain") -> dict[str, Any]:
    """Queue N requests in one transaction; the hosts' jobs drain them."""
    from bench.components import BenchRequest
    from iop.messages import codec
    from iop.store import records as r

    waiting = scenario == "pg_wait"
    namespace, production = _production("wait" if waiting else "async", os.getpid())
    # Waiting work goes at most 400 hops/s per host: fewer messages keep the run short.
    count = budget.drain_messages // (4 if waiting else 1)
    progress(f"{scenario} hosts={hosts}: {count} queued requests")
    if waiting:
        _migrate_wait(namespace, production)
    else:
        _migrate(namespace, production, sync=False)
    with Hosts(namespace, production, hosts) as running:
        base = running.requests_done()
        after = running.last_header_id()
        class_name, _ = codec.encode(BenchRequest())
        drafts = [r.MessageDraft(source="BenchService", target="BenchOperation",
                                 body_class=class_name, body_text=codec.encode(BenchRequest(i))[1])
                  for i in range(count)]
        before = running.cpu_snapshot()
        t0 = time.perf_counter()
        running.store.send(drafts)
        ok = running.wait_requests(base + count)
        window = time.perf_counter() - t0
        after_cpu = running.cpu_snapshot()
        rss = running.rss()
        finished = sorted(p for _, p in running.request_times(after) if p is not None)
    span = finished[-1] - finished[0] if len(finished) > 1 else float("nan")
    rate = (len(finished) - 1) / span if len(finished) > 1 and span > 0 else None
    progress(f"  drained at {rate or 0:,.0f} hops/s")
    params = _params(hosts, queued=count)
    if waiting:
        params["wait_ms"] = 5
    return row(scenario, params, rate, "hops/s",
               rss_jobs_mb=max((v for v in rss.values() if v), default=None), rss_jobs=rss,
               target=None if waiting else GROUP_TARGET,
               extra={"completed": len(finished), "finished_in_time": ok, "drain_seconds": span,
                      "listening_connections": running.listening,
                      "cpu": cpu_usage(before, after_cpu, count, window),
                      "rate": "first to last completion of the queued requests"})


def pg_async(budget: Budget, hosts: int) -> dict[str, Any]:
    """Sender processes send async requests while the hosts consume them."""
    namespace, production = _production("async", os.getpid())
    count = max(1000, budget.drain_messages)
    params = _params(hosts, senders=SENDERS, threads=SENDER_THREADS, messages=count)
    progress(f"pg_async {params}")
    _migrate(namespace, production, sync=False)
    with Hosts(namespace, production, hosts) as running:
        base = running.requests_done()
        after = running.last_header_id()
        before = running.cpu_snapshot()
        go, reports = _load("async", namespace, SENDERS, SENDER_THREADS, count, 0)
        ok = running.wait_requests(base + count)
        window = time.time() - go
        after_cpu = running.cpu_snapshot()
        rss = running.rss()
        times = running.request_times(after)
    for index, report in enumerate(reports):
        before[f"sender.{index}"] = 0.0
        after_cpu[f"sender.{index}"] = report.get("cpu_seconds")
    finished = [p for _, p in times if p is not None]
    elapsed = max(finished) - go if finished else float("nan")
    rate = len(finished) / elapsed if finished else None
    latencies = [(p - c) * 1000 for c, p in times if p is not None]
    send_seconds = max((rep.get("seconds") or 0.0) for rep in reports)
    progress(f"  {rate or 0:,.0f} hops/s end to end (sent in {send_seconds:.2f} s)")
    return row("pg_async", params, rate, "hops/s", p50_ms=percentile(latencies, 50),
               p99_ms=percentile(latencies, 99), rss_bench_mb=peak_rss_mb(),
               rss_jobs_mb=max((v for v in rss.values() if v), default=None), rss_jobs=rss,
               target=GROUP_TARGET,
               extra={"completed": len(finished), "finished_in_time": ok, "seconds": elapsed,
                      "listening_connections": running.listening,
                      "send_seconds": send_seconds, "send_rate": count / send_seconds
                      if send_seconds else None,
                      "failures": [f for rep in reports for f in rep.get("failures", [])],
                      "latency": "request created -> completed, ms",
                      "cpu": cpu_usage(before, after_cpu, count, window)})


def pg_sync(budget: Budget, hosts: int) -> dict[str, Any]:
    """Concurrent callers doing send_request_sync round trips through the hosts' jobs."""
    namespace, production = _production("sync", os.getpid())
    seconds = budget.sync_seconds
    params = _params(hosts, callers=CALLERS * CALLER_THREADS)
    progress(f"pg_sync {params} for {seconds:.0f} s")
    _migrate(namespace, production, sync=True)
    with Hosts(namespace, production, hosts) as running:
        before = running.cpu_snapshot()
        go, reports = _load("sync", namespace, CALLERS, CALLER_THREADS, seconds, 0)
        window = time.time() - go
        after_cpu = running.cpu_snapshot()
        rss = running.rss()
    done = sum(rep.get("done", 0) for rep in reports)
    elapsed = max((rep.get("seconds") or 0.0) for rep in reports)
    latencies = [x for rep in reports for x in rep.get("latencies_ms", [])]
    for index, report in enumerate(reports):
        before[f"caller.{index}"] = 0.0
        after_cpu[f"caller.{index}"] = report.get("cpu_seconds")
    rate = done / elapsed if elapsed else None
    progress(f"  {rate or 0:,.0f} round trips/s, p50 {percentile(latencies, 50) or 0:.2f} ms")
    return row("pg_sync", params, rate, "hops/s", p50_ms=percentile(latencies, 50),
               p99_ms=percentile(latencies, 99), rss_bench_mb=peak_rss_mb(),
               rss_jobs_mb=max((v for v in rss.values() if v), default=None), rss_jobs=rss,
               target=UNBATCHED_TARGET,
               extra={"round_trips": done, "seconds": elapsed, "latency": "caller-side, ms",
                      "listening_connections": running.listening,
                      "failures": [f for rep in reports for f in rep.get("failures", [])],
                      "cpu": cpu_usage(before, after_cpu, max(done, 1), window)})


def limits(budget: Budget, url: str, *, again: bool = False) -> list[dict[str, Any]]:
    """The server's raw commit rate: single-row commits at 1, 4 and 16 clients, and rows/s
    with 100 rows per commit (``again``: single-row at 4 clients only, at the end)."""
    variants = ((4, 1),) if again else ((1, 1), (4, 1), (16, 1), (1, 100), (4, 100))
    rows = []
    for clients, per_commit in variants:
        progress(f"pg_limit clients={clients} rows/commit={per_commit}")
        res = commit_limit(url, clients=clients, rows_per_commit=per_commit,
                           seconds=budget.limit_seconds)
        params: dict[str, Any] = {"clients": clients, "rows_per_commit": per_commit}
        if again:
            params["when"] = "end of run"
        if per_commit == 1:
            rows.append(row("pg_limit", params, res["commits_per_s"], "commits/s", extra=res))
        else:
            rows.append(row("pg_limit", params, res["rows_per_s"], "rows/s", extra=res))
    return rows


def catalogue(budget: Budget) -> dict[str, list[Callable[[], dict[str, Any]]]]:
    """Scenario name → its measurements, one per host count."""
    runs = {name: [functools.partial(fn, budget, hosts) for hosts in HOST_COUNTS]
            for name, fn in (("pg_drain", pg_drain), ("pg_async", pg_async),
                             ("pg_sync", pg_sync))}
    runs["pg_wait"] = [functools.partial(pg_drain, budget, hosts, scenario="pg_wait")
                       for hosts in HOST_COUNTS]
    return runs


def drop_namespaces(url: str) -> None:
    """Remove the run's scratch schemas (benchmark namespaces and the limit table)."""
    import psycopg

    from bench.pg_limit import drop
    from iop.store.postgres.schema import schema_for

    drop(url)
    with psycopg.connect(url, autocommit=True) as conn:
        for kind in ("async", "sync", "wait"):
            namespace, _ = _production(kind, os.getpid())
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema_for(namespace)}" CASCADE')
