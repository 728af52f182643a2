"""How long `iop -s NAME -D` takes, split into phases, and how long plain commands take.

    python -m bench.startup [--runs 5] [--src OTHER_CHECKOUT/src] [--items 3]

Each run starts a small production (a service, a process and an operation, as
tests/cli/test_lifecycle.py does) with the real CLI in a fresh IOP_HOME, then stops it.
Every process loads bench/startup_probe (see its docstring), which traces when the
interpreter is up and when the engine's start-up steps begin and end, so the start splits
into phases along its critical path: the CLI's own start, the supervisor's, the slowest
job's, and the waits between them. ``--src`` measures another checkout's source with the
same interpreter (e.g. a ``git worktree`` of an older commit), for a comparison on the same
machine. The machine may be shared: figures are medians over ``--runs``, with the minimum
beside; compare two checkouts by alternating runs (``--src`` twice, see ``--compare``).
Prints a table and one JSON line; never asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROBE = os.path.join(HERE, "startup_probe")
REPO_SRC = os.path.join(os.path.dirname(HERE), "src")
PRODUCTION = "Bench.Startup"

_COMPONENTS = '''
from dataclasses import dataclass

from iop import BusinessOperation, BusinessProcess, BusinessService, Message, handler


@dataclass
class Ping(Message):
    n: int = 0


class Front(BusinessService):
    """Driven from outside; its job idles."""


class Middle(BusinessProcess):
    def on_request(self, request):
        return self.send_request_sync("Back0", request)


class Back(BusinessOperation):
    @handler(Ping)
    def answer(self, request):
        return request
'''

# (phase, process, from event, to event): events are "up" or "begin/end NAME" of the probe.
CLI_PHASES = (
    ("cli interpreter", "launch", "up"),
    ("cli imports", "up", "begin main"),
    ("cli open store", "begin open_store", "end open_store"),
    ("cli checks (classes)", "begin begin_start", "end begin_start"),
)
SUPERVISOR_PHASES = (
    ("supervisor interpreter", "spawned", "up"),
    ("supervisor imports", "up", "begin open_store"),
    ("supervisor open store", "begin open_store", "end open_store"),
    ("supervisor integrity check", "begin SQLiteStore.verify_integrity",
     "end SQLiteStore.verify_integrity"),
    ("supervisor load classes", "begin Supervisor.load", "end Supervisor.load"),
    ("supervisor set-up", "end Supervisor.load", "begin Supervisor._wait_ready"),
)
JOB_PHASES = (
    ("job interpreter", "spawned", "up"),
    ("job imports", "up", "begin open_store"),
    ("job open store", "begin open_store", "end open_store"),
    ("job to on_init", "end open_store", "begin make_host"),
    ("job on_init", "begin make_host", "end make_host"),
    ("job to running", "end make_host", "end SQLiteStore.heartbeat_job"),
)


def _settings(items: int) -> str:
    lines = [f'prod = Production("{PRODUCTION}")', 'prod.service("Front", Front)',
             'prod.process("Middle", Middle)']
    lines += [f'prod.operation("Back{i}", Back)' for i in range(max(1, items - 2))]
    return "from iop import Production\nfrom startup_comp import *\n" + "\n".join(lines) + \
        "\nPRODUCTIONS = [prod]\n"


class Checkout:
    """One source tree to measure, with its own IOP_HOME and project folder."""

    def __init__(self, src: str, items: int) -> None:
        self.src = os.path.abspath(src)
        self.root = tempfile.mkdtemp(prefix="iop-bench-startup-")
        self.home = os.path.join(self.root, "home")
        self.project = os.path.join(self.root, "project")
        self.trace = os.path.join(self.root, "trace.txt")
        os.makedirs(self.project)
        with open(os.path.join(self.project, "startup_comp.py"), "w", encoding="utf-8") as fh:
            fh.write(textwrap.dedent(_COMPONENTS))
        with open(os.path.join(self.project, "settings.py"), "w", encoding="utf-8") as fh:
            fh.write(_settings(items))
        self.env = {**os.environ, "IOP_HOME": self.home, "IOP_BENCH_STARTUP_TRACE": self.trace,
                    "PYTHONPATH": os.pathsep.join([PROBE, self.src, self.project])}
        for name in ("IOP_DATABASE_URL", "IOP_NAMESPACE", "IOP_URL", "IOP_SETTINGS"):
            self.env.pop(name, None)

    def iop(self, *args: str) -> tuple[float, float, Trace]:
        """Run ``python -m iop ARGS``; (launch time, wall seconds, trace lines it caused)."""
        if os.path.exists(self.trace):
            os.unlink(self.trace)
        launched = time.time()
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "iop", *args], env=self.env,
                              cwd=self.project, capture_output=True, text=True, timeout=120)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"iop {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
        return launched, wall, _read_trace(self.trace)

    def close(self) -> None:
        try:
            self.iop("-k")
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
        shutil.rmtree(self.root, ignore_errors=True)


Trace = list[tuple[float, float, int, str]]


def _read_trace(path: str) -> Trace:
    lines = []
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                stamp, cpu, pid, event = line.rstrip("\n").split(" ", 3)
                lines.append((float(stamp), float(cpu), int(pid), event))
    except FileNotFoundError:
        pass
    return lines


def _by_process(trace: Trace) -> dict[int, dict[str, tuple[float, float]]]:
    """pid -> event -> (time, CPU seconds of that process) when it first happened."""
    out: dict[int, dict[str, tuple[float, float]]] = {}
    for stamp, cpu, pid, event in trace:
        key = "up" if event.startswith("up") else event
        out.setdefault(pid, {}).setdefault(key, (stamp, cpu))
    return out


def _spans(events: dict[str, tuple[float, float]], phases: tuple[tuple[str, str, str], ...],
           wall: dict[str, float], cpu: dict[str, float]) -> None:
    for name, start, end in phases:
        if start in events and end in events:
            wall[name] = events[end][0] - events[start][0]
            cpu[name] = events[end][1] - events[start][1]


def split_start(launched: float, seconds: float, trace: Trace
                ) -> tuple[dict[str, float], dict[str, float]]:
    """The phases of one `iop -s -D` along its critical path: (wall seconds, CPU seconds of
    the process the phase runs in). A process's CPU before "up" is its interpreter's start."""
    procs = _by_process(trace)
    cli = next(e for e in procs.values() if "begin _spawn_supervisor" in e)
    sup = next(e for e in procs.values() if "begin Supervisor.start" in e)
    jobs = [e for e in procs.values() if "begin Job.run" in e]
    cli["launch"] = (launched, 0.0)
    sup["spawned"] = (cli["begin _spawn_supervisor"][0], 0.0)
    spawns = sorted(stamp for stamp, _, _, event in trace if event == "begin Supervisor._spawn")
    for job, spawned in zip(sorted(jobs, key=lambda e: e["up"][0]), spawns, strict=False):
        job["spawned"] = (spawned, 0.0)
    wall: dict[str, float] = {}
    cpu: dict[str, float] = {}
    _spans(cli, CLI_PHASES, wall, cpu)
    wall["cli to spawn"] = cli["begin _spawn_supervisor"][0] - cli["end begin_start"][0]
    _spans(sup, SUPERVISOR_PHASES, wall, cpu)
    running = "end SQLiteStore.heartbeat_job"
    last = max(jobs, key=lambda e: e.get(running, (float("inf"), 0.0))[0])
    _spans(last, JOB_PHASES, wall, cpu)
    wall["job spawn gap"] = last["spawned"][0] - sup["begin Supervisor._wait_ready"][0]
    wall["supervisor notices ready"] = sup["end Supervisor._wait_ready"][0] - last[running][0]
    wall["supervisor marks running"] = sup["end Supervisor.start"][0] - \
        sup["end Supervisor._wait_ready"][0]
    wall["cli reads ready, exits"] = launched + seconds - sup["end Supervisor.start"][0]
    if "exit" in cli:
        cpu["cli after ready"] = cli["exit"][1] - cli["end _spawn_supervisor"][1]
    wall["total"] = seconds
    # Everything the start cost the machine: each process up to the point it is ready.
    cpu["total, all processes"] = cli.get("exit", (0.0, 0.0))[1] + \
        sup["end Supervisor.start"][1] + sum(j.get(running, (0.0, 0.0))[1] for j in jobs)
    return wall, cpu


def measure(checkout: Checkout, runs: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {}

    def add(name: str, value: float) -> None:
        samples.setdefault(name, []).append(value)

    if not os.path.exists(checkout.home):
        checkout.iop("-m", "settings.py")
    for _ in range(runs):
        launched, wall, trace = checkout.iop("-s", PRODUCTION, "-D")
        walls, cpus = split_start(launched, wall, trace)
        for name, value in walls.items():
            add(name, value)
        for name, value in cpus.items():
            add(f"cpu: {name}", value)
        _, wall, _ = checkout.iop("-S")
        add("stop (iop -S)", wall)
        for command in (("-l",), ("-x",), ("-m", "settings.py")):
            launched, wall, trace = checkout.iop(*command)
            events = _by_process(trace)
            cli = next(iter(events.values()), {})
            label = "iop " + " ".join(command)
            if "begin main" in cli and "up" in cli:
                add(f"{label}: imports", cli["begin main"][0] - cli["up"][0])
                add(f"cpu: {label}: imports", cli["begin main"][1] - cli["up"][1])
            if "exit" in cli:
                add(f"cpu: {label}: total", cli["exit"][1])
            add(f"{label}: total", wall)
    return samples


def _summary(samples: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    return {name: {"median": statistics.median(v), "min": min(v)} for name, v in samples.items()}


def table(results: dict[str, dict[str, dict[str, float]]]) -> str:
    labels = list(results)
    names: list[str] = []
    for summary in results.values():
        names += [n for n in summary if n not in names]
    head = f"{'phase (seconds)':34}" + "".join(f"{label[-22:]:>24}" for label in labels)
    rows = [head, f"{'':34}" + "".join(f"{'median   min':>24}" for _ in labels)]
    for name in names:
        cells = ""
        for label in labels:
            value = results[label].get(name)
            cells += f"{value['median']:>15.3f}{value['min']:>9.3f}" if value else f"{'-':>24}"
        rows.append(f"{name:34}{cells}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.startup",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--items", type=int, default=3, help="items of the production (>= 3)")
    parser.add_argument("--src", action="append", default=[],
                        help="a source tree to measure (repeatable; default: this checkout's)")
    args = parser.parse_args(argv)
    sources = args.src or [REPO_SRC]
    checkouts = {src: Checkout(src, args.items) for src in sources}
    samples: dict[str, dict[str, list[float]]] = {src: {} for src in sources}
    try:
        for _ in range(args.runs):  # alternate the checkouts run by run: same machine load
            for src, checkout in checkouts.items():
                for name, values in measure(checkout, 1).items():
                    samples[src].setdefault(name, []).extend(values)
    finally:
        for checkout in checkouts.values():
            checkout.close()
    results = {src: _summary(s) for src, s in samples.items()}
    print(table(results))
    if len(sources) > 1:
        base, *others = sources
        for other in others:
            ratio = results[other]["total"]["median"] / results[base]["total"]["median"]
            print(f"start total, median: {other} / {base} = {ratio:.2f}")
    print(json.dumps({"bench": "startup", "runs": args.runs, "items": args.items,
                      "load_average": os.getloadavg(), "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
