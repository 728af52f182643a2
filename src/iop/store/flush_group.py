"""Grouped durability barriers: one flush serves every commit its threads made before it.

A process acknowledges something to the outside (a file adapter deletes its input, a
Director call returns) only after :meth:`FlushGroup.barrier`. The barrier needs a flush that
*started* after the caller's last commit; a thread that arrives while a flush runs either
finds its commits covered by it or waits and shares the next one with every other thread
that arrived meanwhile, so one fsync serves all the commits of the last few milliseconds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["FlushGroup"]


class FlushGroup:
    """Counts this process's commits and flushes them, grouped, when a barrier asks."""

    def __init__(self, flush: Callable[[], None]) -> None:
        self._flush = flush
        self.reset()

    def reset(self) -> None:
        """Forget everything (in a forked child, which must not wait for its parent)."""
        self._ready = threading.Condition()
        self._written = 0  # commits counted so far
        self._flushed = 0  # every commit counted up to this one is durable
        self._running = False
        self.flushes = 0  # flushes made, for tests and bench/

    def note_commit(self) -> int:
        """A commit that is not durable yet went through; returns its number."""
        with self._ready:
            self._written += 1
            return self._written

    def covered(self, upto: int) -> None:
        """Commits up to number ``upto`` are known durable (a durable commit followed them)."""
        with self._ready:
            if upto > self._flushed:
                self._flushed = upto
                self._ready.notify_all()

    def written(self) -> int:
        """The number of the last commit counted."""
        with self._ready:
            return self._written

    def barrier(self) -> None:
        """Return once every commit counted before this call is durable (flushing if need be)."""
        with self._ready:
            need = self._written
            while self._flushed < need:
                if not self._running:
                    break
                self._ready.wait()
            else:
                return
            self._running = True
            upto = self._written  # the flush below starts after all of these were made
        done = False
        try:
            self._flush()
            done = True
        finally:
            with self._ready:
                self._running = False
                if done:
                    self.flushes += 1
                    self._flushed = max(self._flushed, upto)
                self._ready.notify_all()
