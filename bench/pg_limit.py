"""The PostgreSQL server's own limit: raw committed transactions/s, measured in the same run.

Each client is a thread with its own autocommit connection inserting rows shaped like the
store's (a time and a ~100-byte text) into a scratch table; commits of concurrent clients
share WAL flushes on the server, so the limit is taken at several client counts.
"""

from __future__ import annotations

import threading
import time
from typing import Any

SCHEMA = "iop_bench_limit"


def _setup(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        conn.execute(f"CREATE SCHEMA {SCHEMA}")
        conn.execute(f"CREATE TABLE {SCHEMA}.t (id BIGSERIAL PRIMARY KEY, "
                     "created DOUBLE PRECISION NOT NULL, data TEXT)")


def drop(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")


def commit_limit(url: str, *, clients: int = 1, rows_per_commit: int = 1,
                 seconds: float = 3.0, payload: int = 100) -> dict[str, Any]:
    """Committed transactions/s (and rows/s) of ``clients`` concurrent single-row (or
    ``rows_per_commit``-row) INSERT transactions on the server at ``url``."""
    import psycopg

    _setup(url)
    data = "x" * payload
    insert = f"INSERT INTO {SCHEMA}.t (created, data) VALUES (%s, %s)"
    counts = [0] * clients
    gate = threading.Barrier(clients + 1)
    stop = threading.Event()
    errors: list[BaseException] = []

    def client(index: int) -> None:
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                gate.wait()
                while not stop.is_set():
                    if rows_per_commit == 1:
                        conn.execute(insert, (time.time(), data))
                    else:
                        with conn.transaction(), conn.cursor() as cur:
                            cur.executemany(insert, [(time.time(), data)] * rows_per_commit)
                    counts[index] += 1
        except BaseException as exc:  # reported below, never lost in a thread
            errors.append(exc)
            if not gate.broken:
                gate.abort()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    gate.wait()
    started = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(30)
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    commits = sum(counts)
    return {"commits_per_s": commits / elapsed, "rows_per_s": commits * rows_per_commit / elapsed,
            "commits": commits, "seconds": elapsed, "clients": clients}
