"""One production, several hosts: who is alive, the status over every host, and the keeper.

Each host runs one supervisor of the production (PostgreSQL; SQLite has one host). A host is
named by ``iop.store.host_name()`` (``IOP_HOST_NAME`` or the machine's name). Across hosts,
pids mean nothing: a supervisor is alive while its heartbeat, stamped every second by its
keeper thread with the store's clock, is younger than ``STALE_SECONDS``. On its own host a
supervisor is alive while its process is.

The keeper also takes the namespace-wide ``lease-sweep`` duty when no other host holds it:
its holder fences hosts whose heartbeat went stale, freeing their jobs' leases so the live
hosts deliver those messages again at once instead of when the leases run out.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from iop.engine.outage import Outage
from iop.store import host_name
from iop.store import records as r
from iop.store.base import Duty, Store
from iop.store.errors import StoreError, StoreUnavailable

STALE_SECONDS = 10.0  # a host whose supervisor has not beaten for this long is dead
BEAT_SECONDS = 1.0
SWEEP_DUTY = "lease-sweep"


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child is not alive
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][:1] != "Z"
    except OSError:
        return True


def heartbeat_age(state: r.RuntimeState) -> float:
    """Seconds since the supervisor of ``state`` last beat (by the store's clock if known)."""
    return state.age if state.age is not None else time.time() - state.heartbeat


def supervisor_alive(state: r.RuntimeState, here: str | None = None) -> bool:
    """Whether the supervisor recorded in ``state`` still runs, as seen from host ``here``
    (this process's host by default): by its pid on the same host, else by its heartbeat."""
    if state.host == (here or host_name()):
        return pid_alive(state.supervisor_pid)
    return heartbeat_age(state) < STALE_SECONDS


def live_hosts(store: Store) -> list[tuple[r.RuntimeState, bool]]:
    """Rows of hosts that run (or ran until they died) a production: (state, alive)."""
    return [(s, supervisor_alive(s, store.host)) for s in store.list_runtimes() if s.live]


def production_status(store: Store) -> tuple[str, str]:
    """(production, status) over every host: running while any host's supervisor runs it,
    troubled when every host that ran it died."""
    hosts = live_hosts(store)
    if not hosts:
        states = store.list_runtimes()
        if not states:
            return "", "stopped"
        latest = min(states, key=heartbeat_age)  # the host that stopped last
        return latest.production, latest.status or "stopped"
    alive = [s for s, ok in hosts if ok]
    if not alive:
        return hosts[0][0].production, "troubled"
    if any(s.status in ("running", "starting") for s in alive):
        return alive[0].production, "running"
    return alive[0].production, alive[0].status


def describe_hosts(store: Store) -> dict[str, Any]:
    """The production's status and each host's supervisor."""
    production, status = production_status(store)
    hosts = []
    for state in store.list_runtimes():
        alive = state.live and supervisor_alive(state, store.host)
        hosts.append({
            "host": state.host, "production": state.production,
            "status": state.status if alive or not state.live else "troubled",
            "supervisor_pid": state.supervisor_pid, "alive": alive,
            "heartbeat": r.format_time(state.heartbeat),
            "heartbeat_age": round(heartbeat_age(state), 1) if state.heartbeat else None,
        })
    return {"production": production, "status": status, "hosts": hosts}


class HostKeeper(threading.Thread):
    """A supervisor's heartbeat, and while it holds the sweep duty, the fencing of dead hosts.

    A thread of its own, so a supervisor busy stopping or updating jobs still beats.
    """

    def __init__(self, store: Store, log: Callable[[str, str], None],
                 outage: Outage | None = None) -> None:
        super().__init__(name="iop-host-keeper", daemon=True)
        self.store = store
        self.log = log
        self.outage = outage
        # Since when the heartbeats pass again after an outage: until they have passed for
        # STALE_SECONDS, other hosts' stale heartbeats may be that outage's doing (their
        # supervisors wait for the store too), and nobody is fenced.
        self._beating_since = float("-inf")
        self._done = threading.Event()
        self._duty: Duty | None = None
        self.sweeping = False

    def run(self) -> None:
        complained = False
        while True:
            try:
                self.beat()
                complained = False
            except StoreUnavailable as exc:
                if self.outage is not None:
                    self.outage.hit(exc)  # said once per outage (the supervisor's stderr)
                if not complained:
                    self._beating_since = float("inf")
                    complained = True
            except (StoreError, OSError) as exc:
                if not complained:  # a store outage: say so once, keep trying
                    print(f"iop supervisor: heartbeat failed: {exc}", file=sys.stderr)
                    self._beating_since = float("inf")
                    complained = True
            if self._done.wait(BEAT_SECONDS):
                break
        if self._duty is not None:
            self._duty.release()

    def beat(self) -> None:
        self.store.heartbeat_runtime()
        self._beating_since = min(self._beating_since, time.monotonic())
        if self._duty is None:
            self._duty = self.store.duty(SWEEP_DUTY)
        self.sweeping = self._duty.take()
        if not self.sweeping or time.monotonic() - self._beating_since < STALE_SECONDS:
            return
        for host, released in self.store.fence_stale_hosts(STALE_SECONDS).items():
            more = f"; {len(released)} message(s) will be delivered again" if released else ""
            self.log("warning", f"host {host} has not beaten for {STALE_SECONDS:.0f} s: "
                     f"its supervisor and jobs are taken for dead{more}")

    def finish(self) -> None:
        self._done.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(5)
