"""Where the time goes: sample every process of a scenario with py-spy and summarise.

``python -m bench.hotspots [async|sync|process] [--seconds S] [--pool N]`` runs the scenario
continuously in a fresh IOP_HOME while ``py-spy record`` samples the bench process (the
sender), the supervisor and every job, then prints, per process, the functions with the
most samples by own time and by inclusive time. Needs ``pip install py-spy``.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.harness import RunningProduction, prepare_environment, progress  # noqa: E402

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^():]*)(?::(?P<line>\d+))?\)$")


def _short(frame: str, line: bool = False) -> str:
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m.group("file")
    for marker in ("/src/", "/lib/python3", "/bench/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            if marker == "/lib/python3":
                path = path.split("/", 1)[-1]
            break
    if line and m.group("line"):
        path += f":{m.group('line')}"
    return f"{m.group('func')} ({path})"


def summarise(path: str, title: str, top: int) -> str:
    """Own-time and inclusive-time tables from a py-spy raw (collapsed stacks) file."""
    own: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                stack, _, count_text = line.rstrip("\n").rpartition(" ")
                if not stack or not count_text.isdigit():
                    continue
                count = int(count_text)
                raw = [f for f in stack.split(";")
                       if not f.strip().startswith(("process ", "thread "))]
                if not raw:
                    continue
                frames = [_short(f) for f in raw]
                total += count
                own[_short(raw[-1], line=True)] += count
                for name in set(frames):
                    incl[name] += count
    except OSError as exc:
        return f"== {title}: no profile ({exc})"
    if not total:
        return f"== {title}: no samples"
    out = [f"== {title}: {total} samples while busy"]
    out.append("   own time (by line; time in C code such as sqlite3 counts for its caller):")
    out += [f"   {100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top)]
    out.append("   inclusive time:")
    out += [f"   {100 * n / total:5.1f}%  {name}" for name, n in incl.most_common(top * 2)]
    return "\n".join(out)


def _record(pid: int, seconds: float, out: str, rate: int) -> subprocess.Popen[bytes]:
    py_spy = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    return subprocess.Popen(
        [py_spy, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", str(rate),
         "--format", "raw", "--output", out, "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hotspots")
    parser.add_argument("scenario", nargs="?", default="async", choices=("async", "sync", "process"))
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--pool", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="sender threads (async only)")
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args(argv)

    home = tempfile.mkdtemp(prefix="iop-profile-")
    prepare_environment(home)
    from bench.components import BenchRequest, Burst

    if args.scenario == "async":
        prod = RunningProduction("PROFILE", "Bench.Profile", sender="AsyncSender",
                                 operation="SinkOperation", pool=args.pool)
    else:
        prod = RunningProduction("PROFILE", "Bench.Profile", sender="SyncSender",
                                 operation="EchoOperation", pool=1,
                                 via_process=args.scenario == "process")
    outputs: dict[str, str] = {}
    try:
        with prod:
            service = prod.service()
            pids = {"bench (sender)": os.getpid()}
            runtime = prod.store.get_runtime()
            pids["supervisor"] = runtime.supervisor_pid
            for job in prod.store.list_jobs():
                pids[f"job {job.item}.{job.slot}"] = job.pid
            recorders = []
            for title, pid in pids.items():
                outputs[title] = os.path.join(home, f"profile-{pid}.txt")
                recorders.append(_record(pid, args.seconds + 1, outputs[title], args.rate))
            time.sleep(0.5)  # let py-spy attach
            progress(f"profiling {args.scenario} for {args.seconds:.0f} s: {', '.join(pids)}")
            stop = time.perf_counter() + args.seconds
            sent = [0] * args.threads

            def send(index: int) -> None:
                while time.perf_counter() < stop:
                    if args.scenario == "async":
                        service.on_process_input(Burst(count=200, first=index * 10**8 + sent[index]))
                        sent[index] += 200
                    else:
                        service.on_process_input(BenchRequest(sent[index], ""))
                        sent[index] += 1

            workers = [threading.Thread(target=send, args=(i,)) for i in range(args.threads)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            done = sum(sent)
            progress(f"sent {done} ({done / args.seconds:,.0f}/s); waiting for py-spy")
            for proc in recorders:
                proc.wait()
            if args.scenario == "async":
                prod.wait_requests(done, stall_seconds=10)
        for title, path in outputs.items():
            print(summarise(path, title, args.top))
            print()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
