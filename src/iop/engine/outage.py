"""Riding through store outages: an engine process waits out a store it cannot reach.

A backend raises :class:`iop.errors.StoreUnavailable` for a transient condition (the
PostgreSQL server restarted or is unreachable, SQLite busy, an I/O error, a full disk). An
engine process (job, supervisor, sender) then backs off with jitter (0.1 s doubling to 5 s)
and tries again, instead of failing the message in hand. Each process says so once per
outage: a line on its stderr (a job's log file) when the outage begins, and, once the store
answers again, event log lines naming when it began, why, and how long it lasted. An
outage longer than ``StoreOutageAlertSeconds`` (a production setting, or the environment
variable ``IOP_STORE_OUTAGE_ALERT_SECONDS``; default 60) is an alert, raised by the
supervisor once the store is back (and said on stderr while it is not). An outage longer
than ``StoreOutageStopSeconds`` (0 or empty, the default: never), and past the alert, stops the
production on that host cleanly; the stop is recorded once the store is back.
"""

from __future__ import annotations

import os
import random
import sys
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from iop.errors import StoreUnavailable
from iop.store import records as r
from iop.store.outage_record import OutageRecord, Spell

__all__ = ["ALERT_SETTING", "STOP_SETTING", "Outage", "Spell", "alert_seconds",
           "spell_entries", "stop_seconds"]

FIRST_PAUSE = 0.1
MAX_PAUSE = 5.0
ALERT_SETTING = "StoreOutageAlertSeconds"
ALERT_ENV = "IOP_STORE_OUTAGE_ALERT_SECONDS"
DEFAULT_ALERT_SECONDS = 60.0
STOP_SETTING = "StoreOutageStopSeconds"

T = TypeVar("T")


def alert_seconds(setting: float | str | None = None) -> float:
    """The outage length that raises an alert: the production's setting, else the
    environment's, else 60 s (a value that is not a number counts as not given)."""
    for value in (setting, os.environ.get(ALERT_ENV)):
        if value is None or value == "":
            continue
        try:
            return float(value)
        except (TypeError, ValueError):
            continue
    return DEFAULT_ALERT_SECONDS


def stop_seconds(setting: float | str | None) -> float:
    """The outage length after which the production stops: the production's setting; 0 (never)
    when it is empty, 0, negative or not a number (validation refuses those at migration)."""
    try:
        value = float(setting) if setting not in (None, "") else 0.0  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return value if value > 0 else 0.0


def spell_entries(spell: Spell, make: Callable[[str, str], r.LogEntry]) -> list[r.LogEntry]:
    """The event log lines of an outage that is over (``make(level, text)`` builds one)."""
    first = make("warning", f"store unavailable since {r.format_time(spell.since)}: {spell.cause}")
    first.time = spell.since
    return [first, make("info", f"store available again after {spell.seconds:.1f} s")]


class Outage:
    """How one process waits out its store's outages: back-off, a line on stderr at the start
    and end of each, and the alert line when one lasts; when the outage began and ended is
    the store's :class:`~iop.store.outage_record.OutageRecord`, shared with the backend.

    Thread-safe: a supervisor's threads share one, so an outage is said once per process.
    """

    def __init__(self, who: str, alert_after: float | None = None,
                 record: OutageRecord | None = None) -> None:
        self.who = who  # names the process on stderr
        self.alert_after = alert_after if alert_after is not None else alert_seconds()
        self.record = record if record is not None else OutageRecord()
        self._lock = threading.Lock()
        self._pause = 0.0
        self._paused_for: float | None = None  # the outage (its since) the pause grew in
        self._said_long_for: float | None = None  # the outage whose alert line was said

    @property
    def since(self) -> float | None:
        """When the current outage began (wall clock); None while the store answers."""
        return self.record.since

    @property
    def cause(self) -> str:
        """Why the current outage began ("" while the store answers)."""
        return self.record.cause

    @property
    def ended(self) -> list[Spell]:
        """Outages over and not reported yet."""
        return self.record.ended

    def lasted(self) -> float:
        """How long the current outage has lasted (0 while the store answers)."""
        return self.record.lasted()

    def hit(self, exc: StoreUnavailable) -> float:
        """Note that the store failed with ``exc``; returns how long to pause before trying
        again (jittered, doubling from 0.1 s to 5 s over one outage)."""
        self.record.begin(str(exc))  # (the backend may have begun it already)
        with self._lock:
            since = self.record.since
            first = since is None or since != self._paused_for
            if first:
                self._pause, self._paused_for = FIRST_PAUSE, since
                self.say(f"store unavailable: {exc}; waiting for it")
            else:
                self._pause = min(MAX_PAUSE, self._pause * 2)
            if since is not None and self._said_long_for != since \
                    and self.record.lasted() >= self.alert_after:
                self._said_long_for = since
                self.say(f"store unavailable for more than {self.alert_after:g} s "
                         f"({ALERT_SETTING}): {exc}")
            return self._pause * random.uniform(0.5, 1.0)

    def back(self) -> Spell | None:
        """Note that the store answered; the outage just over, if there was one (also kept
        in :attr:`ended` until :meth:`take_ended`)."""
        spell = self.record.end()
        if spell is not None:
            self.say(f"store available again after {spell.seconds:.1f} s")
        return spell

    def take_ended(self) -> list[Spell]:
        return self.record.take_ended()

    def wait(self, exc: StoreUnavailable, stop: Callable[[], bool] | None = None,
             deadline: float | None = None) -> bool:
        """Pause after ``exc`` (in short naps); False when ``stop()`` became true or the
        monotonic ``deadline`` passed, and the caller should give up instead of retrying."""
        until = time.monotonic() + self.hit(exc)
        if deadline is not None:
            until = min(until, deadline)
        while True:
            if stop is not None and stop():
                return False
            remaining = until - time.monotonic()
            if remaining <= 0:
                break
            time.sleep(min(remaining, 0.1))
        return deadline is None or time.monotonic() < deadline

    def call(self, action: Callable[[], T], stop: Callable[[], bool] | None = None,
             deadline: float | None = None) -> T:
        """``action()``, tried again through an outage until it succeeds; the outage's
        StoreUnavailable is raised when ``stop()`` becomes true or ``deadline`` passes."""
        while True:
            try:
                result = action()
            except StoreUnavailable as exc:
                if not self.wait(exc, stop, deadline):
                    raise
                continue
            self.back()
            return result

    def say(self, text: str) -> None:
        """A line on this process's stderr, stamped and naming the process."""
        try:
            print(f"{r.format_time(time.time())} {self.who}: {text}", file=sys.stderr,
                  flush=True)
        except (OSError, ValueError):
            pass  # stderr closed: the event log has it once the store is back
