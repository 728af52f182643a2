"""One process's record of a store outage: when it began, why, and the spells that ended.

A store object keeps one (``Store.outage_record``). The backend that sees the outage first
(SQLite's full disk, for its last-resort file) and the engine that waits it out
(iop.engine.outage) note its beginning and end on the same record, so the process has one
answer to "is the store out, since when" and says each outage once.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

__all__ = ["OutageRecord", "Spell"]

_KEEP_ENDED = 100  # spells nobody takes (a process with no event log to write) stay bounded


@dataclass(frozen=True)
class Spell:
    """One outage as a process saw it: when it began (wall clock), how long, and why."""

    since: float
    seconds: float
    cause: str


class OutageRecord:
    """Thread-safe: a process's threads (a supervisor's keeper, a Director's callers) share it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._since: float | None = None  # wall clock
        self._began = 0.0  # monotonic
        self._cause = ""
        self.ended: list[Spell] = []  # outages over and not reported yet

    @property
    def since(self) -> float | None:
        """When the current outage began (wall clock); None while the store answers."""
        return self._since

    @property
    def cause(self) -> str:
        """Why the current outage began ("" while the store answers)."""
        return self._cause if self._since is not None else ""

    def lasted(self) -> float:
        """How long the current outage has lasted (0 while the store answers)."""
        return time.monotonic() - self._began if self._since is not None else 0.0

    def begin(self, cause: str) -> bool:
        """Note that the store failed with ``cause``; True when this begins an outage."""
        with self._lock:
            if self._since is not None:
                return False
            self._since, self._began, self._cause = time.time(), time.monotonic(), cause
            return True

    def end(self) -> Spell | None:
        """Note that the store answered; the outage just over, if there was one (also kept
        in :attr:`ended` until :meth:`take_ended`)."""
        if self._since is None:
            return None
        with self._lock:
            if self._since is None:
                return None
            spell = Spell(self._since, time.monotonic() - self._began, self._cause)
            self._since = None
            if len(self.ended) < _KEEP_ENDED:
                self.ended.append(spell)
            return spell

    def take_ended(self) -> list[Spell]:
        with self._lock:
            ended, self.ended = self.ended, []
        return ended
