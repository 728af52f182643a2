"""Run the benchmark suite: ``python -m bench.run [--quick] [--only NAME ...] [--json FILE]``.

Every run uses a fresh IOP_HOME and measures the store's own commit limit first, so the
figures are reported as ratios against a limit taken on the same machine at the same time.
Nothing is asserted: the targets of issues 2 and 7 are printed next to the figures.

``--backend postgresql`` runs the multi-host scenarios instead (bench/multihost.py): 1, 2
and 3 hosts on the PostgreSQL at ``--database-url``, against that server's own limit.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
from typing import Any

if __package__ in (None, ""):  # run as `python bench/run.py`
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import multihost, report  # noqa: E402
from bench.harness import prepare_environment, progress  # noqa: E402
from bench.measure import filesystem_of  # noqa: E402
from bench.scenarios import Budget, catalogue, row, store_limit  # noqa: E402

NAMES = ("store_limit", "async_one_hop", "sync_operation", "sync_process", "body_sizes",
         "durable_acks", "hl7_mllp", "engine_overhead", "message_viewer", "production_monitor")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short measurements (about a minute)")
    parser.add_argument("--only", action="append", choices=NAMES + multihost.NAMES,
                        metavar="NAME",
                        help=f"run only this scenario (repeatable): {', '.join(NAMES)}; "
                             f"with --backend postgresql: {', '.join(multihost.NAMES)}; "
                             "the store's limit always runs")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite",
                        help="sqlite (default): the single-host scenarios; postgresql: "
                             "1, 2 and 3 hosts sharing one PostgreSQL")
    parser.add_argument("--database-url", default=os.environ.get("IOP_BENCH_DATABASE_URL",
                                                                 multihost.DEFAULT_URL),
                        help="with --backend postgresql: the server to measure "
                             f"(default $IOP_BENCH_DATABASE_URL or {multihost.DEFAULT_URL})")
    parser.add_argument("--json", metavar="FILE", help="also write the JSON line to FILE")
    parser.add_argument("--keep", action="store_true", help="keep the temporary IOP_HOME")
    parser.add_argument("--profile", action="store_true",
                        help="print a cProfile of the engine_overhead loops to stderr "
                             "(profiling inflates that run's µs/hop)")
    return parser.parse_args(argv)


def _git_state() -> dict[str, Any]:
    """Which engine code was measured: HEAD and whether src/ had uncommitted changes."""
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        head = subprocess.run(["git", "-C", repo, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", repo, "status", "--porcelain", "src"],
                               capture_output=True, text=True, timeout=10).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"git_head": head, "src_uncommitted_files": len(dirty)}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.backend == "postgresql":
        from bench.pg_run import run_postgresql

        return run_postgresql(args)
    if args.only and set(args.only) - set(NAMES):
        print("error: scenarios pg_* need --backend postgresql", file=sys.stderr)
        return 2
    budget = Budget(quick=args.quick)
    home = tempfile.mkdtemp(prefix="iop-bench-")
    prepare_environment(home)
    meta: dict[str, Any] = {
        "quick": args.quick, "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version, "cpus": os.cpu_count(), "iop_home": home,
        "filesystem": filesystem_of(home), "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
        **_git_state(), "load_average_before": os.getloadavg()[0],
    }
    progress(f"IOP_HOME={home} ({meta['filesystem']}), {'quick' if args.quick else 'full'} run")
    began = time.perf_counter()
    results: list[dict[str, Any]] = store_limit(budget, home)
    selected = [n for n in NAMES[1:] if not args.only or n in args.only]
    runs = catalogue(budget, profile=args.profile)
    try:
        for name in selected:
            for measure in runs[name]:
                try:
                    res = measure()
                    # Other work on the machine skews a row; say how busy it was when it ended.
                    for one in res if isinstance(res, list) else [res]:
                        one["extra"]["load_average"] = os.getloadavg()[0]
                        results.append(one)
                except Exception as exc:  # report and go on: a benchmark never stops at one failure
                    progress(f"{name} failed: {type(exc).__name__}: {exc}")
                    traceback.print_exc(file=sys.stderr)
                    results.append(row(name, {}, None, "failed",
                                       extra={"error": f"{type(exc).__name__}: {exc}"}))
        results += store_limit(budget, home, again=True)
    finally:
        # The limit is the better of the two single-row measurements (start and end of run).
        limits = [r["rate"] for r in results if r["scenario"] == "store_limit"
                  and r["params"]["rows_per_commit"] == 1 and not r["params"]["flock"]]
        limit = max(limits)
        meta["store_limit_commits_per_s"] = limit
        meta["seconds"] = time.perf_counter() - began
        meta["load_average_after"] = os.getloadavg()[0]
        report.add_ratios(results, limit)
        print(f"iop-engine bench ({'quick' if args.quick else 'full'}): store limit "
              f"{limit:,.0f} commits/s (WAL, synchronous=NORMAL, {meta['filesystem']}); "
              f"{meta['cpus']} CPUs; 1-min load average {meta['load_average_before']:.2f} before, "
              f"{meta['load_average_after']:.2f} after; engine at {meta.get('git_head', '?')}"
              f"{' + uncommitted src changes' if meta.get('src_uncommitted_files') else ''}")
        print(report.table(results))
        line = report.json_line(results, meta)
        print(line)
        if args.json:
            with open(args.json, "w", encoding="utf-8") as fh:
                fh.write(line + "\n")
        if args.keep:
            progress(f"kept {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
