"""A bounded pool for password hashing: scrypt needs ~16 MB and ~50 ms per check, so only a
few run at once and only a few more may wait; the rest are refused at once (HTTP 503).

Without the bound, every thread of the server's pool hashed at the same time and each kept
its malloc arena: 32 parallel failed logins left ~500 MB resident.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from iop.errors import RequestRefused

T = TypeVar("T")
WORKERS = 2
WAITING = 8


class HashPoolBusy(RequestRefused):
    """Too many password checks already running or waiting (HTTP 503, try again soon)."""

    retry_after = 1


class HashPool:
    """Runs password checks on ``workers`` threads with at most ``waiting`` more queued."""

    def __init__(self, workers: int = WORKERS, waiting: int = WAITING) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="iop-hash")
        self._slots = threading.BoundedSemaphore(workers + waiting)

    def run(self, check: Callable[..., T], *args: object) -> T:
        """``check(*args)`` on a pool thread; HashPoolBusy at once when the pool is full."""
        if not self._slots.acquire(blocking=False):
            raise HashPoolBusy("the server is busy checking other logins; try again in a second")
        try:
            return self._executor.submit(check, *args).result()
        finally:
            self._slots.release()
