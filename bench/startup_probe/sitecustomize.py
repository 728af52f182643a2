"""Start-up probe of bench/startup.py, loaded by every Python process that bench starts.

bench/startup.py puts this folder on PYTHONPATH and names a trace file in
IOP_BENCH_STARTUP_TRACE; Python then imports this module first thing in each process (the
CLI, the supervisor, every job). It appends "time cpu-seconds pid event" lines to the trace: "up" once
the interpreter is up, and "begin NAME" / "end NAME" around the engine functions listed in
PROBES, which are wrapped as their modules are imported, and "exit" at interpreter exit. Nothing of the engine changes; a
process without the variable is not touched.
"""

from __future__ import annotations

import atexit
import functools
import importlib.abc
import importlib.machinery
import os
import sys
import time
from typing import Any

# module -> the functions (or Class.method) of it to time.
PROBES: dict[str, tuple[str, ...]] = {
    "iop.cli.main": ("main",),
    "iop.store": ("open_store",),
    "iop.engine.control": ("begin_start", "_spawn_supervisor"),
    "iop.engine.supervisor": ("Supervisor.start", "Supervisor.load", "Supervisor._wait_ready",
                              "Supervisor._spawn"),
    "iop.engine.cluster": ("HostKeeper.start",),
    "iop.engine.monitor": ("Monitor.__init__",),
    "iop.engine.hosts": ("make_host",),
    "iop.engine.job": ("Job.run",),
    "iop.store.sqlite.store": ("SQLiteStore.initialize", "SQLiteStore.verify_integrity",
                               "SQLiteStore.claim_runtime", "SQLiteStore.put_job",
                               "SQLiteStore.heartbeat_job", "SQLiteStore.mark_production"),
    "iop.store.postgres.store": ("PostgresStore.initialize", "PostgresStore.verify_integrity",
                                 "PostgresStore.claim_runtime", "PostgresStore.put_job",
                                 "PostgresStore.heartbeat_job",
                                 "PostgresStore.mark_production"),
}

_fd = -1


def _note(event: str) -> None:
    try:
        os.write(_fd, f"{time.time():.6f} {time.process_time():.6f} {os.getpid()} {event}\n"
                 .encode())
    except OSError:
        pass


def _timed(name: str, func: Any) -> Any:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _note(f"begin {name}")
        try:
            return func(*args, **kwargs)
        finally:
            _note(f"end {name}")

    return wrapper


def _patch(module: Any) -> None:
    for name in PROBES.get(module.__name__, ()):
        owner, _, attr = name.rpartition(".")
        holder = getattr(module, owner, None) if owner else module
        func = getattr(holder, attr, None) if holder is not None else None
        if func is not None and not hasattr(func, "__wrapped__"):
            setattr(holder, attr, _timed(name, func))


class _Loader(importlib.abc.Loader):
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:  # get_resource_reader, get_source, ...
        return getattr(self.inner, name)

    def create_module(self, spec: Any) -> Any:
        return self.inner.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self.inner.exec_module(module)
        _patch(module)  # before any other module imports its names


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname not in PROBES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _Loader(spec.loader)
        return spec


def _install(trace: str) -> None:
    global _fd
    _fd = os.open(trace, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    _note("up " + " ".join(sys.argv[1:4]))
    sys.meta_path.insert(0, _Finder())
    atexit.register(_note, "exit")


if os.environ.get("IOP_BENCH_STARTUP_TRACE"):
    _install(os.environ["IOP_BENCH_STARTUP_TRACE"])
