"""Measuring tools: peak RSS from /proc, percentiles, and the raw commit limit of the store."""

from __future__ import annotations

import os
import sqlite3
import time
import types
from collections.abc import Callable, Sequence
from typing import Any


# ------------------------------------------------------------------ memory
def _status_mb(pid: int | str, field: str) -> float | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError):
        return None
    return None


def peak_rss_mb(pid: int | str = "self") -> float | None:
    """VmHWM (peak resident set) of a process in MB, or None when it cannot be read."""
    return _status_mb(pid, "VmHWM:")


def rss_mb(pid: int | str = "self") -> float | None:
    """VmRSS (resident set now) of a process in MB, or None when it cannot be read."""
    return _status_mb(pid, "VmRSS:")


def anon_rss_mb(pid: int | str = "self") -> float | None:
    """RssAnon of a process in MB: its heap and stacks, without the store's memory-mapped
    pages (which grow with the database file that process reads, and are not a leak)."""
    return _status_mb(pid, "RssAnon:")


def reset_peak_rss() -> bool:
    """Restart this process's VmHWM from its current RSS, so each scenario gets its own peak."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def cpu_seconds(pid: int | str = "self") -> float | None:
    """User + system CPU time a process has used so far (all its threads), in seconds."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def cpu_usage(before: dict[str, float | None], after: dict[str, float | None],
              units: int, seconds: float) -> dict[str, Any]:
    """CPU µs per unit of work for each process, their total, and the cores kept busy."""
    per: dict[str, float] = {}
    for name, end in after.items():
        start = before.get(name)
        if start is not None and end is not None:
            per[name] = (end - start) / units * 1e6
    total = sum(per.values())
    return {"us_per_unit": {k: round(v, 1) for k, v in per.items()}, "total_us_per_unit": total,
            "cores_busy": total * units / 1e6 / seconds if seconds > 0 else None}


# ------------------------------------------------------------------ statistics
def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation; None for no values."""
    if not values:
        return None
    data = sorted(values)
    if len(data) == 1:
        return data[0]
    pos = (len(data) - 1) * q / 100.0
    low = int(pos)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (pos - low)


def filesystem_of(path: str) -> str:
    """The mount's filesystem type for ``path`` (from /proc/mounts), e.g. ext4 or tmpfs."""
    path = os.path.realpath(path)
    best, kind = "", "unknown"
    try:
        with open("/proc/mounts", encoding="utf-8") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) >= 3 and (path == parts[1] or path.startswith(parts[1].rstrip("/") + "/")):
                    if len(parts[1]) >= len(best):
                        best, kind = parts[1], parts[2]
    except OSError:
        pass
    return kind


# ------------------------------------------------------------------ the store's own limit
def _connect_like_store(path: str) -> sqlite3.Connection:
    # Same settings as iop.store.sqlite.SQLiteStore._connect.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("PRAGMA cache_size=-16000")
    return conn


def commit_limit(folder: str, *, rows_per_commit: int = 1, seconds: float = 3.0,
                 payload: int = 100, flock: bool = False) -> dict[str, Any]:
    """Committed transactions/s of single-row (or batched) INSERTs on a store-like database.

    ``flock`` also takes an exclusive ``flock`` around each transaction, as the store does to
    keep cross-process writers fair; it shows what that lock costs on its own.
    """
    import fcntl

    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"limit-{rows_per_commit}-{int(flock)}.sqlite3")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    conn = _connect_like_store(path)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, created REAL NOT NULL, "
                 "data TEXT)")
    fd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    data = "x" * payload
    rows = [(0.0, data)] * rows_per_commit
    sql = "INSERT INTO t (created, data) VALUES (?, ?)"
    commits = 0
    started = time.perf_counter()
    deadline = started + seconds
    now = started
    while now < deadline:
        for _ in range(50):
            if flock:
                fcntl.flock(fd, fcntl.LOCK_EX)
            conn.execute("BEGIN IMMEDIATE")
            if rows_per_commit == 1:
                conn.execute(sql, rows[0])
            else:
                conn.executemany(sql, rows)
            conn.execute("COMMIT")
            if flock:
                fcntl.flock(fd, fcntl.LOCK_UN)
        commits += 50
        now = time.perf_counter()
    elapsed = now - started
    os.close(fd)
    conn.close()
    return {"commits_per_s": commits / elapsed, "rows_per_s": commits * rows_per_commit / elapsed,
            "commits": commits, "seconds": elapsed}


# ------------------------------------------------------------------ time inside the store
class _Clock:
    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0


def _timed(fn: Callable[..., Any], clock: _Clock) -> Callable[..., Any]:
    perf = time.perf_counter

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = perf()
        try:
            return fn(*args, **kwargs)
        finally:
            clock.seconds += perf() - t0
            clock.calls += 1

    return wrapper


class TimingTx:
    """A transaction whose every method call counts as store time.

    The wrappers are made once per method name and kept (on the class for transactions,
    which are new each time; on the instance for the store), so that making them is not
    counted as engine time on every call.
    """

    _wrappers: dict[tuple[type, str], Callable[..., Any]] = {}

    def __init__(self, tx: Any, clock: _Clock) -> None:
        self._tx = tx
        self._clock = clock

    def __getattr__(self, name: str) -> Any:
        kind = type(self._tx)
        method = getattr(kind, name, None)
        if not callable(method):
            return getattr(self._tx, name)
        wrapper = self._wrappers.get((kind, name))
        if wrapper is None:
            wrapper = self._wrappers[(kind, name)] = _timed_method(method)
        return types.MethodType(wrapper, self)


def _timed_method(method: Callable[..., Any]) -> Callable[..., Any]:
    perf = time.perf_counter

    def wrapper(timing: TimingTx, *args: Any, **kwargs: Any) -> Any:
        clock = timing._clock
        t0 = perf()
        try:
            return method(timing._tx, *args, **kwargs)
        finally:
            clock.seconds += perf() - t0
            clock.calls += 1

    return wrapper


class _TimingTransaction:
    def __init__(self, cm: Any, clock: _Clock) -> None:
        self._cm = cm
        self._clock = clock

    def __enter__(self) -> TimingTx:
        t0 = time.perf_counter()
        tx = self._cm.__enter__()
        self._clock.seconds += time.perf_counter() - t0
        return TimingTx(tx, self._clock)

    def __exit__(self, *exc: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return self._cm.__exit__(*exc)
        finally:
            self._clock.seconds += time.perf_counter() - t0


class TimingStore:
    """Wraps a store: time spent in its methods (reads, writes, BEGIN/COMMIT, wake-ups) is summed.

    Inside ``transaction()`` only the store's own work counts, not the engine code running
    between the transaction's statements.
    """

    def __init__(self, store: Any) -> None:
        self._store = store
        self.clock = _Clock()

    def transaction(self) -> _TimingTransaction:
        return _TimingTransaction(self._store.transaction(), self.clock)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._store, name)
        if callable(value) and not name.startswith("_"):
            wrapper = _timed(value, self.clock)
            if isinstance(value, types.MethodType):
                setattr(self, name, wrapper)  # found directly from now on
            return wrapper
        return value

    @property
    def store_seconds(self) -> float:
        return self.clock.seconds
