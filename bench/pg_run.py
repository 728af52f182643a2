"""``python -m bench.run --backend postgresql``: the multi-host scenarios and the server's limit.

The limit (raw single-row commits/s at several client counts) is taken at the start and
again at the end of the run; every rate is reported as a ratio to the better of them.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from typing import Any

from bench import multihost, report
from bench.harness import prepare_environment, progress
from bench.scenarios import Budget, row


def _server_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        found = conn.execute("SHOW server_version").fetchone()
        sync = conn.execute("SHOW synchronous_commit").fetchone()
    return f"{found[0] if found else '?'} (synchronous_commit={sync[0] if sync else '?'})"


def run_postgresql(args: argparse.Namespace) -> int:
    from bench.run import _git_state

    budget = Budget(quick=args.quick)
    url = args.database_url
    home = tempfile.mkdtemp(prefix="iop-bench-pg-")
    prepare_environment(home)
    os.environ["IOP_DATABASE_URL"] = url
    os.environ.pop("IOP_HOST_NAME", None)
    meta: dict[str, Any] = {
        "backend": "postgresql", "quick": args.quick, "python": platform.python_version(),
        "postgresql": _server_version(url), "cpus": os.cpu_count(), "iop_home": home,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"), **_git_state(),
        "load_average_before": os.getloadavg()[0],
    }
    progress(f"PostgreSQL {meta['postgresql']}, {'quick' if args.quick else 'full'} run")
    began = time.perf_counter()
    results: list[dict[str, Any]] = []
    try:
        results += multihost.limits(budget, url)
        runs = multihost.catalogue(budget)
        for name in multihost.NAMES:
            if args.only and name not in args.only:
                continue
            for measure in runs[name]:
                try:
                    res = measure()
                    res["extra"]["load_average"] = os.getloadavg()[0]
                    results.append(res)
                except Exception as exc:  # report and go on: a benchmark never stops at one
                    progress(f"{name} failed: {type(exc).__name__}: {exc}")
                    traceback.print_exc(file=sys.stderr)
                    results.append(row(name, {}, None, "failed",
                                       extra={"error": f"{type(exc).__name__}: {exc}"}))
        results += multihost.limits(budget, url, again=True)
    finally:
        limits = [r["rate"] for r in results if r["scenario"] == "pg_limit"
                  and r["params"]["rows_per_commit"] == 1 and r["rate"]]
        limit = max(limits) if limits else None
        meta["store_limit_commits_per_s"] = limit
        meta["seconds"] = time.perf_counter() - began
        meta["load_average_after"] = os.getloadavg()[0]
        report.add_ratios(results, limit)
        _add_host_scaling(results)
        print(f"iop-engine bench on PostgreSQL ({'quick' if args.quick else 'full'}): server "
              f"limit {limit or 0:,.0f} single-row commits/s; {meta['cpus']} CPUs; 1-min load "
              f"average {meta['load_average_before']:.2f} before, "
              f"{meta['load_average_after']:.2f} after; engine at {meta.get('git_head', '?')}"
              f"{' + uncommitted src changes' if meta.get('src_uncommitted_files') else ''}")
        print(report.table(results))
        for text in _scaling_lines(results):
            print(text)
        line = report.json_line(results, meta)
        print(line)
        if args.json:
            with open(args.json, "w", encoding="utf-8") as fh:
                fh.write(line + "\n")
        try:
            multihost.drop_namespaces(url)
        except Exception as exc:  # the figures matter more than the clean-up
            progress(f"could not drop the benchmark schemas: {exc}")
        if args.keep:
            progress(f"kept {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)
    return 0


def _add_host_scaling(results: list[dict[str, Any]]) -> None:
    """Each multi-host row's rate relative to the same scenario with one host."""
    single = {r["scenario"]: r["rate"] for r in results
              if r["params"].get("hosts") == 1 and r["rate"]}
    for res in results:
        base = single.get(res["scenario"])
        if res["params"].get("hosts") and base and res["rate"]:
            res["extra"]["x_one_host"] = round(res["rate"] / base, 3)


def _scaling_lines(results: list[dict[str, Any]]) -> list[str]:
    """One line per scenario: its rate with 1, 2 and 3 hosts relative to one host."""
    lines = []
    for name in multihost.NAMES:
        rows = sorted((r for r in results if r["scenario"] == name and r["rate"]),
                      key=lambda r: r["params"].get("hosts", 0))
        if rows:
            lines.append(f"{name} by hosts: " + ", ".join(
                f"{r['params']['hosts']} -> {r['rate']:,.0f} {r['unit']} "
                f"(x{r['extra'].get('x_one_host', 1.0):.2f} one host, "
                f"{r.get('ratio_to_store_limit') or 0:.2f} of the server limit)" for r in rows))
    return lines
