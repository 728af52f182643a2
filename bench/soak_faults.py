"""The faults of ``python -m bench.soak --faults``: a thread that, every so often while the
load runs, restarts the PostgreSQL server (``pg_ctl restart -m fast``) or fills the SQLite
store's small tmpfs to the last byte for a few seconds. Each fault is a *spell*, recorded with
its length, how soon acknowledged input resumed after it, the inputs refused from its start
to the next one's, and the engine processes found dead after it."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.fault_tools import PrivateCluster, fill
from bench.soak_load import Load


def pid_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as fh:
            return fh.read().rsplit(") ", 1)[1][:1] not in ("Z", "X")
    except (OSError, IndexError):
        return False


@dataclass
class Spell:
    at: float  # seconds into the load when it began
    seconds: float  # how long the fault lasted (restart; filled and held, until freed)
    resumed_after: float | None = None  # from its end to the next acknowledged input
    refused: dict[str, int] = field(default_factory=dict)  # from its start to the next spell
    exited: list[str] = field(default_factory=list)  # engine processes found dead after it
    detail: dict[str, Any] = field(default_factory=dict)


class Faults(threading.Thread):
    """Inflicts one fault every ``every`` seconds until :meth:`finish`; the base of both."""

    kind = ""

    def __init__(self, load: Load, every: float, started: float,
                 engine_pids: Callable[[], dict[str, int]]) -> None:
        super().__init__(daemon=True, name=f"soak-{self.kind}")
        self.load = load
        self.every = every
        self.started = started
        self.engine_pids = engine_pids  # name → pid, as the soak saw them after the start
        self.spells: list[Spell] = []
        self._done = threading.Event()
        self.error: str | None = None  # what stopped the faults early, if anything
        self._refused_before: dict[str, int] = {}

    def inflict(self) -> tuple[float, dict[str, Any]]:
        """Cause the fault and end it; (seconds it lasted, details)."""
        raise NotImplementedError

    def run(self) -> None:
        try:
            self._spells()
        except Exception as exc:  # noqa: BLE001 - reported with the faults, not lost in a thread
            self.error = f"{type(exc).__name__}: {exc}"

    def _spells(self) -> None:
        while not self._done.wait(self.every):
            self._close_refusals()
            began = time.monotonic()
            self._refused_before = dict(self.load.refused)
            seconds, detail = self.inflict()
            spell = Spell(round(began - self.started, 1), round(seconds, 2), detail=detail)
            self.spells.append(spell)
            ended = time.monotonic()
            acked = self.load.acknowledged()
            deadline = ended + 120
            while self.load.acknowledged() <= acked and time.monotonic() < deadline \
                    and not self.load.stop.is_set():
                time.sleep(0.02)
            if self.load.acknowledged() > acked:
                spell.resumed_after = round(time.monotonic() - ended, 2)
            elif self.load.stop.is_set():
                spell.detail["load_ended_first"] = True  # no input came to resume
            spell.exited = [name for name, pid in self.engine_pids().items()
                            if not pid_alive(pid)]

    def _close_refusals(self) -> None:
        if self.spells:
            self.spells[-1].refused = {k: v - self._refused_before.get(k, 0)
                                       for k, v in self.load.refused.items()
                                       if v - self._refused_before.get(k, 0)}

    def finish(self) -> None:
        """Stop after the spell in progress (its fault ended: disk freed, server up)."""
        self._done.set()
        self.join(300)
        self._close_refusals()

    def summary(self) -> dict[str, Any]:
        lengths = [s.seconds for s in self.spells]
        resumed = [s.resumed_after for s in self.spells if s.resumed_after is not None]
        return {
            "kind": self.kind, "every_s": self.every, "spells": len(self.spells),
            "seconds": lengths, "max_seconds": max(lengths, default=0.0),
            "resumed_after_s": [s.resumed_after for s in self.spells],
            "max_resumed_after_s": max(resumed, default=None),
            "never_resumed": sum(1 for s in self.spells if s.resumed_after is None
                                 and not s.detail.get("load_ended_first")),
            "refused": [s.refused for s in self.spells],
            "exited_after": sorted({n for s in self.spells for n in s.exited}),
            "detail": [s.detail for s in self.spells], "error": self.error,
        }


class DatabaseRestarts(Faults):
    """``pg_ctl restart -m fast`` of the soak's own PostgreSQL cluster: every session ends."""

    kind = "database_restart"

    def __init__(self, cluster: PrivateCluster, *args: Any) -> None:
        super().__init__(*args)
        self.cluster = cluster

    def inflict(self) -> tuple[float, dict[str, Any]]:
        return self.cluster.restart(), {}


class DiskFullSpells(Faults):
    """A ballast file fills the store's tmpfs to the last byte, stays ``hold`` seconds, and is
    deleted. Inputs acknowledged while it stays (after a first second that lets sends already
    past the free-space check commit) are counted: the engine should take none."""

    kind = "disk_full"

    def __init__(self, folder: str, hold: float, *args: Any) -> None:
        super().__init__(*args)
        self.ballast = os.path.join(folder, "soak-ballast")
        self.hold = hold

    def inflict(self) -> tuple[float, dict[str, Any]]:
        began = time.monotonic()
        try:
            filled = fill(self.ballast)
            full = time.monotonic()
            settle = min(1.0, self.hold)  # a send past the free-space check may still commit
            time.sleep(settle)
            acked = self.load.acknowledged()
            time.sleep(self.hold - settle)
            acked_while_full = self.load.acknowledged() - acked
        finally:
            os.unlink(self.ballast)
        return time.monotonic() - began, {"ballast_mb": round(filled / 1e6, 1),
                                          "fill_s": round(full - began, 2),
                                          "acked_while_full": acked_while_full}
