"""The supervisor: starts a production's jobs, restarts dead ones, applies updates, stops.

One runs per running production per host: in the foreground of ``iop -s NAME``, or detached
as ``python -m iop.engine.processes supervisor NAMESPACE PRODUCTION``. On PostgreSQL several
hosts' supervisors run one production together (see iop.engine.cluster); each one starts and
watches only its own host's jobs, and obeys requests (stop, kill, update, restart) written to
its host's runtime row by whichever host the operator used. Its own state, and any store
outage it is waiting out, it also keeps in a small file beside the store
(iop.engine.host_status), which `iop -x`, the portal and `iop -S` read while the store is down.
"""

from __future__ import annotations

import functools
import inspect
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from iop.components import kinds
from iop.engine.alerts import ALERT_ITEM, alert_draft
from iop.engine.cluster import HostKeeper, live_hosts, pid_alive, supervisor_alive
from iop.engine.config import ItemConfig, ProductionConfig, parse_production
from iop.engine.errors import AlreadyRunning, EngineError, UnknownProduction
from iop.engine.host_status import HostStatus, HostStatusFile
from iop.engine.hosts import check_item
from iop.engine.monitor import Monitor
from iop.engine.outage import (
    ALERT_SETTING,
    STOP_SETTING,
    Outage,
    Spell,
    alert_seconds,
    spell_entries,
    stop_seconds,
)
from iop.errors import StoreUnavailable
from iop.store import namespace_dir
from iop.store import records as r
from iop.store.base import Store
from iop.store.private import confined, make_private_folder, name_in_path, open_private

__all__ = ["Supervisor", "Slot", "code_fingerprint", "pid_alive", "supervisor_alive"]

TICK = 0.1
REQUEST_POLL_SECONDS = 0.5  # how often the supervisor reads requests from its runtime row
MAX_BACKOFF = 10.0
# How often the write-ahead log is moved into the database (SQLite): seldom enough that a
# page written many times in between is copied once, often enough to keep the WAL short.
CHECKPOINT_SECONDS = 0.5
DEFAULT_SHUTDOWN_SECONDS = 120.0  # IRIS's ShutdownTimeout default
_SHUTDOWN_WAVES = ((kinds.SERVICE,), (kinds.PROCESS,), (kinds.OPERATION, ""))
T = TypeVar("T")


def code_fingerprint(cls: type) -> str:
    """Changes when the file defining ``cls`` changes on disk (for ``iop -u``)."""
    try:
        path = inspect.getsourcefile(cls) or ""
        st = os.stat(path)
    except (TypeError, OSError):
        return ""
    return f"{path}:{st.st_mtime_ns}:{st.st_size}"


@dataclass
class Slot:
    """One pool slot of an item and the process currently running it."""

    item: ItemConfig
    index: int
    job_id: str = ""
    process: subprocess.Popen[bytes] | None = None
    failures: int = 0
    next_start: float = 0.0
    started: float = 0.0


@dataclass
class Supervisor:
    """Runs one production in one namespace on this host."""

    store: Store
    production: str
    slots: list[Slot] = field(default_factory=list)
    stopping: str = ""
    config: ProductionConfig | None = None
    classes: dict[str, Any] = field(default_factory=dict)
    definition: dict[str, Any] | None = None  # the stored definition the jobs run
    monitor: Monitor | None = None
    _keeper: HostKeeper | None = field(default=None, repr=False)
    _relay: Any = field(default=None, repr=False)  # what rings this host's jobs (PostgreSQL)
    _inputs_paused: str = field(default="", repr=False)  # the line logged when inputs paused
    _paused_since: float = field(default=0.0, repr=False)
    # Store outages: waited out, said once each, an alert when longer than the limit.
    outage: Outage = field(init=False, repr=False)
    status_file: HostStatusFile | None = field(default=None, repr=False)
    _stopped_by_outage: str = field(default="", repr=False)  # the event log line, once back
    _unlogged: list[r.LogEntry] = field(default_factory=list, repr=False)  # kept in an outage

    def __post_init__(self) -> None:
        # The store's own record: a write the backend sees pass ends the outage here too.
        self.outage = Outage("iop supervisor", record=self.store.outage_record)

    # ------------------------------------------------------------ checks before starting
    def load(self) -> ProductionConfig:
        definition = self.store.get_production(self.production)
        if definition is None:
            raise UnknownProduction(f"production {self.production} does not exist in namespace "
                                    f"{self.store.namespace}")
        config = parse_production(definition)
        classes = {}
        for item in config.items:
            if item.enabled:
                cls = check_item(self.store, item)
                item.code = code_fingerprint(cls)
                item.kind = kinds.kind_of(cls) or ""
                classes[item.name] = cls
        self.classes = classes
        self.definition = definition  # what the jobs about to start run; recorded as applied
        return config

    # ------------------------------------------------------------ lifecycle
    def start(self, wait_ready: float = 20.0) -> None:
        """Claim this host's runtime row, start every enabled item's jobs, mark it running.

        On PostgreSQL a host joins the production other hosts already run (same name);
        another production running anywhere in the namespace, or a live supervisor on this
        host, refuses the start.
        """
        self.store.verify_integrity()  # a damaged store is named; nothing starts on it
        self.config = self.load()
        host = self.store.host
        # The process that started us (or we ourselves, in the foreground) recorded the
        # start on this host's row already: that row is ours to take, not a blocker.
        starters = (os.getpid(), os.getppid())

        def blocks(state: r.RuntimeState) -> bool:
            if state.host == host and state.status == "starting" \
                    and state.supervisor_pid in starters:
                return False
            return supervisor_alive(state)

        blocker = self.store.claim_runtime(self.production, os.getpid(), host, blocks)
        if blocker is not None:
            where = "on this host" if blocker.host == host else f"on host {blocker.host}"
            raise AlreadyRunning(f"production {blocker.production} is already running {where} "
                                 f"in namespace {self.store.namespace}; stop it first (iop -S)")
        self.status_file = HostStatusFile(self.store.namespace, host)
        self._publish("starting")
        self._keeper = HostKeeper(self.store, self._log, self.outage)
        self._keeper.start()
        self._relay = self.store.notifier.start_relay()  # before any job asks it to listen
        others = [s.host for s, alive in live_hosts(self.store) if alive and s.host != host]
        joining = f" on host {host}, joining {', '.join(others)}" if others else ""
        self._log("info", f"Starting production {self.production}{joining}")
        self.monitor = Monitor(self.store, self.config, self.classes)
        self.store.mark_production(self.production, started=True, applied=self.definition)
        for item in self.config.items:
            if item.enabled:
                self._add_item(item)
        self._wait_ready(wait_ready)
        if self.stopping:  # a stop or kill came while we started: the caller stops us
            return
        self.store.update_runtime(status="running")
        self._publish("running")
        self._log("info", f"Production {self.production} started")

    def _wait_ready(self, timeout: float) -> None:
        """Spawn due jobs and wait (at most ``timeout`` s) until each has run its on_init,
        or until a stop or kill is requested meanwhile."""
        self._spawn_due()
        deadline = checked = time.monotonic()
        deadline += timeout
        while time.monotonic() < deadline and not self._all_ready() and not self.stopping:
            self._reap()
            self._spawn_due()
            time.sleep(0.02)
            if time.monotonic() - checked >= REQUEST_POLL_SECONDS:
                checked = time.monotonic()
                state = self.store.get_runtime()
                if state.supervisor_pid != os.getpid() or state.requested in ("stop", "kill"):
                    self.stopping = state.requested if state.requested == "stop" else "kill"

    def _all_ready(self) -> bool:
        # A polling job waiting for another host's poller to die is ready too ("standby").
        running = {j.id for j in self.store.list_jobs(host=self.store.host)
                   if j.state in ("running", "standby")}
        for slot in self.slots:
            if slot.process is None or slot.process.poll() is not None:
                if slot.failures:
                    continue  # failed to start: reported in the log, retried with backoff
                return False
            if slot.job_id not in running:
                return False
        return True

    def _add_item(self, item: ItemConfig) -> None:
        self._log("info", f"Starting item {item.name}")
        for index in range(max(item.pool_size, 1)):
            self.slots.append(Slot(item, index))

    def _spawn(self, slot: Slot) -> None:
        # The host leads the job id: a host that died has its leases found by that prefix.
        slot.job_id = f"{self.store.host}:{os.getpid()}:{slot.item.name}:{slot.index}:" \
                      f"{uuid.uuid4().hex[:6]}"
        logdir = make_private_folder(os.path.join(namespace_dir(self.store.namespace), "jobs"))
        # Item and host names are encoded: a name never chooses where its log is written.
        name = f"{name_in_path(slot.item.name)}.{slot.index}.log"
        if self.store.host != socket.gethostname():  # several named hosts on one machine
            name = f"{name_in_path(self.store.host)}.{name}"
        stderr = open_private(confined(logdir, name), "ab")
        cmd = [sys.executable, "-m", "iop.engine.processes", "job", self.store.namespace,
               self.production, slot.item.name, str(slot.index), slot.job_id, str(os.getpid())]
        slot.process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=stderr,
                                        stderr=stderr, close_fds=True)
        stderr.close()
        slot.started = time.monotonic()

    def _spawn_due(self) -> None:
        now = time.monotonic()
        for slot in self.slots:
            if slot.process is None and now >= slot.next_start and not self.stopping:
                self._spawn(slot)

    def _reap(self) -> None:
        """Notice dead jobs: release their leases so others redeliver, schedule a restart."""
        for slot in self.slots:
            proc = slot.process
            if proc is None or proc.poll() is None:
                continue
            code = proc.returncode
            released = self.store.release_leases(slot.job_id)
            self.store.delete_job(slot.job_id)
            slot.process = None
            quick = time.monotonic() - slot.started < 5.0
            slot.failures = slot.failures + 1 if quick else 1
            delay = min(MAX_BACKOFF, 0.1 * 2 ** (slot.failures - 1)) if slot.failures > 1 else 0.0
            slot.next_start = time.monotonic() + delay
            how = f"signal {-code}" if code < 0 else f"exit code {code}"
            more = f"; {len(released)} message(s) will be delivered again" if released else ""
            self._log("warning", f"job {slot.index} of item {slot.item.name} ended ({how}){more}; "
                      f"restarting in {delay:.1f} s")

    def run(self) -> None:
        """Watch jobs until a stop is requested, then stop them. A store outage is waited
        out: the jobs keep running (they wait it out too), and the supervisor carries on
        once the store answers again."""
        checked = checkpointed = 0.0
        while not self.stopping:
            try:
                self._reap()
                self._spawn_due()
                now = time.monotonic()
                if now - checked >= REQUEST_POLL_SECONDS:
                    checked = now
                    self._obey(self.store.get_runtime())
                    if self.outage.since is not None:
                        self.outage.back()
                    if self.outage.ended:
                        self._report_outages()
                self._watch()
                if now - checkpointed >= CHECKPOINT_SECONDS:
                    checkpointed = now
                    # So that no job's commit stalls on one (SQLite: not for heartbeats alone).
                    self.store.checkpoint(routine=True)
                    self._watch_inputs()
            except StoreUnavailable as exc:
                checked = 0.0  # read the runtime row first thing once the store answers
                self.outage.wait(exc, lambda: bool(self.stopping))
                self._stop_if_outage_too_long()
                continue
            finally:
                self._publish("running")
            time.sleep(TICK)
        self.stop(force=self.stopping == "kill")

    def _stop_if_outage_too_long(self) -> None:
        """StoreOutageStopSeconds: an outage that outlasts it (and the alert limit, so the
        alert always comes first) stops the production on this host."""
        limit = stop_seconds(self.config.settings.get(STOP_SETTING) if self.config else None)
        if not limit or self.stopping:
            return
        lasted = self.outage.lasted()
        alert = alert_seconds(self.config.settings.get(ALERT_SETTING) if self.config else None)
        if lasted < max(limit, alert):
            return
        why = (f"the store was unavailable for more than {limit:g} s ({STOP_SETTING}): "
               f"{self.outage.cause}")
        self.outage.say(f"stopping production {self.production}: {why}")
        self._stopped_by_outage = f"Production {self.production} stopped on host " \
                                  f"{self.store.host} because {why}"
        self.stopping = "stop"

    def _publish(self, state: str) -> None:
        """This host's status file, for readers that cannot rely on the store."""
        if self.status_file is None:
            return
        limit = stop_seconds(self.config.settings.get(STOP_SETTING) if self.config else None)
        since, reason = self.outage.since, self.outage.cause
        if since is None and self._inputs_paused:  # a disk nearly full: new input waits
            since, reason = self._paused_since, self._inputs_paused
        self.status_file.write(HostStatus(self.store.host, self.production, os.getpid(), state,
                                          since, reason, limit))

    def _watch_inputs(self) -> None:
        """Say when inputs pause for want of disk space, and when they resume."""
        paused = self.store.inputs_paused() or ""
        if paused == self._inputs_paused or bool(paused) == bool(self._inputs_paused):
            return
        self._inputs_paused = paused
        self._paused_since = time.time()
        if paused:
            self._log("warning", f"{paused}; services and Director calls take no new input, "
                      "jobs go on delivering what is stored")
        else:
            self._log("info", "inputs resumed: free space on the store's disk is above the "
                      "threshold again")

    def _report_outages(self) -> None:
        """Event log lines for the outages just over; an alert for one longer than
        StoreOutageAlertSeconds (sent to Ens.Alert too when the production has it)."""
        spells = self.outage.ended[:]
        limit = alert_seconds(self.config.settings.get(ALERT_SETTING) if self.config else None)
        entries = [entry for spell in spells for entry in spell_entries(spell, self._entry)]
        drafts = []
        for spell in spells:
            if spell.seconds < limit:
                continue
            text = self._alert_text(spell, limit)
            entries.append(self._entry("alert", text))
            if self.config is not None and self.config.item(ALERT_ITEM) is not None:
                drafts.append(alert_draft(self.production, text, None))
        if drafts:
            self.store.send(drafts, entries)
        else:
            self.store.log(entries)
        self.outage.take_ended()  # reported: only now, so a failed report is tried again

    def _alert_text(self, spell: Spell, limit: float) -> str:
        return (f"store {self.store.location} was unavailable on host {self.store.host} for "
                f"{spell.seconds:.0f} s (since {r.format_time(spell.since)}, longer than "
                f"{ALERT_SETTING} {limit:g} s): {spell.cause}")

    def _obey(self, state: r.RuntimeState) -> None:
        """Act on this host's runtime row: requests from `iop` on any host, or a fence."""
        if state.supervisor_pid != os.getpid():
            self.stopping = "kill"  # someone else took over (kill -k, or a forced start)
        elif state.requested in ("stop", "kill"):
            self.stopping = state.requested
        elif state.requested == "update":
            self.update()
            # A definition saved while that update ran (an item started or stopped, another
            # `iop -u`) came with its own request, which the clearing below would lose: apply
            # it too. A few rounds at most, so an endless stream of edits cannot hold us here.
            for _ in range(3):
                if self.store.get_production(self.production) == self.definition:
                    break
                self.update()
            # Cleared only now: `iop -u` returns when the update has been applied.
            self.store.update_runtime(requested="")
        elif state.requested == "restart":
            self.restart_jobs("restart requested")
            self.store.update_runtime(requested="")
        elif state.status == "troubled":
            # Another host took this one for dead (no heartbeat) and gave its messages to
            # the live hosts; jobs here may still hold those messages. Start afresh.
            self._log("warning", f"host {self.store.host} was taken for dead by another host; "
                      "its messages went to the other hosts; restarting its jobs")
            self.restart_jobs("")
            self.store.update_runtime(status="running")

    def restart_jobs(self, why: str) -> None:
        """Stop every job of this host (in waves, as a stop does) and start them again with
        the production's current definition."""
        try:
            config = self.load()
        except EngineError as exc:
            self._log("error", f"restart refused: {exc}")
            return
        if why:
            self._log("info", f"Restarting production {self.production} on host "
                      f"{self.store.host} ({why})")
        self._stop_in_waves(min(self._timeout("ShutdownTimeout", 120), 25.0))
        self.config = config
        for item in config.items:
            if item.enabled:
                self._add_item(item)
        self.monitor = Monitor(self.store, config, self.classes)
        self.store.mark_production(self.production, applied=self.definition)
        self._wait_ready(self._timeout("UpdateTimeout", 10))
        if why:
            self._log("info", f"Production {self.production} restarted on host {self.store.host}")

    def _watch(self) -> None:
        # One host watches for the whole production (alerts, scheduled purge): the one whose
        # keeper holds the sweep duty, so several hosts do not raise every alert each.
        if self.monitor is None or self._keeper is None or not self._keeper.sweeping:
            return
        try:
            self.monitor.tick()
        except StoreUnavailable:
            raise  # an outage, waited out by run(); no failure of the monitor
        except Exception as exc:  # a failed check must never take the production down
            self._log("error", f"production monitor failed: {type(exc).__name__}: {exc}")

    def request_stop(self, *_: Any) -> None:
        self.stopping = self.stopping or "stop"

    def update(self) -> list[str]:
        """Restart only items whose configuration changed; start added items, stop removed ones."""
        try:
            config = self.load()
        except EngineError as exc:
            self._log("error", f"update refused: {exc}")
            return []
        old = {item.name: item for item in (self.config.items if self.config else [])}
        new = {item.name: item for item in config.items if item.enabled}
        changed = [n for n in old if n not in new or old[n].signature() != new[n].signature()]
        changed += [n for n in new if n not in old]
        for name in changed:
            doomed = [s for s in self.slots if s.item.name == name]
            limit = self._timeout("UpdateTimeout", 10)
            self._terminate(doomed, limit, f"UpdateTimeout ({limit:g} s)")
            self.slots = [s for s in self.slots if s.item.name != name]
            if name in new:
                self._add_item(new[name])
        self.config = config
        self.monitor = Monitor(self.store, config, self.classes)
        self.store.mark_production(self.production, applied=self.definition)
        self._wait_ready(self._timeout("UpdateTimeout", 10))
        self._log("info", f"Production {self.production} updated: "
                  f"{', '.join(changed) if changed else 'no item changed'}")
        return changed

    def _timeout(self, name: str, default: float) -> float:
        return self.config.setting(name, default) if self.config else default

    def _terminate(self, slots: list[Slot], timeout: float, limit: str) -> None:
        """SIGTERM the slots' jobs, wait up to ``timeout`` s, then kill; ``limit`` names the
        setting that bounds the wait, for the log. Then forget them (:meth:`_forget`)."""
        self._end_jobs(slots, timeout, limit)
        self._forget(slots)

    def _end_jobs(self, slots: list[Slot], timeout: float, limit: str) -> None:
        """The process part of :meth:`_terminate`: no store call, so it works in an outage."""
        live = [s for s in slots if s.process is not None and s.process.poll() is None]
        for slot in live:
            assert slot.process is not None
            slot.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for slot in live:
            assert slot.process is not None
            try:
                slot.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._log("warning", f"job {slot.index} of item {slot.item.name} did not stop within "
                          f"the production's {limit}; killing it")
                slot.process.kill()
                slot.process.wait()

    def _forget(self, slots: list[Slot]) -> None:
        """The store part of :meth:`_terminate`, for jobs that ended."""
        for slot in slots:
            if slot.job_id:
                # Through an outage too: the jobs are gone, their messages go back to the
                # queue once the store answers (nothing stored is lost meanwhile).
                self._ride(functools.partial(self.store.release_leases, slot.job_id))
                self._ride(functools.partial(self.store.delete_job, slot.job_id))
            slot.process = None

    def _ride(self, action: Callable[[], T]) -> T:
        """``action()`` (a store call), waited out through an outage however long it lasts."""
        return self.outage.call(action)

    def stop(self, force: bool = False) -> None:
        """Stop every job (gracefully within ShutdownTimeout unless ``force``), mark stopped.
        During a store outage the jobs stop all the same; what the stop records (leases
        given back, the state, the event log) waits until the store answers again."""
        self.stopping = self.stopping or ("kill" if force else "stop")
        self._publish("stopping")
        self._log("info", f"Stopping production {self.production}")
        if force:
            for slot in self.slots:
                if slot.process is not None and slot.process.poll() is None:
                    slot.process.kill()
            timeout = 5.0
        else:
            # Callers with a deadline (the REST API) force the stop themselves when it is up.
            timeout = self._timeout("ShutdownTimeout", DEFAULT_SHUTDOWN_SECONDS)
        self._end_in_waves(timeout)
        self._publish("stopped")  # no job runs; the store has yet to record it, if it is out
        self._forget(self.slots)
        self.slots = []
        self._ride(lambda: self.store.mark_production(self.production, stopped=True))
        if self.outage.ended:
            self._ride(self._report_outages)
        if self._stopped_by_outage:
            self._log("warning", self._stopped_by_outage)
        # As IRIS: synchronous requests still waiting for an answer make it suspended -
        # unless other hosts go on running the production and will answer them.
        others = any(alive for state, alive in self._ride(lambda: live_hosts(self.store))
                     if state.host != self.store.host)
        waiting = 0 if others else self._ride(self.store.pending_sync_requests)
        final = "suspended" if waiting else "stopped"
        self._log("info", f"Production {self.production} stopped" + (
            f"; suspended: {waiting} synchronous request(s) still queued" if waiting else ""))
        state = self._ride(self.store.get_runtime)
        if state.supervisor_pid == os.getpid():
            self._ride(lambda: self.store.update_runtime(status=final, supervisor_pid=0,
                                                          requested=""))
        if self._unlogged:
            self._ride(lambda: self.store.log(self._unlogged))
            self._unlogged = []
        if self._keeper is not None:
            self._keeper.finish()  # frees the sweep duty for another host
        if self._relay is not None:
            self._relay.stop()
            self._relay = None
        if self.status_file is not None:
            self.status_file.remove()
            self.status_file = None

    def _stop_in_waves(self, timeout: float) -> None:
        # As IRIS does: services first (no new work comes in), then processes, then
        # operations, so a sync call in flight still finds its target alive and completes.
        self._end_in_waves(timeout)
        self._forget(self.slots)
        self.slots = []

    def _end_in_waves(self, timeout: float) -> None:
        # Every wave ends before the store is told, which an outage may keep waiting.
        deadline = time.monotonic() + timeout
        for wave in _SHUTDOWN_WAVES:
            group = [s for s in self.slots if s.item.kind in wave]
            self._end_jobs(group, max(0.5, deadline - time.monotonic()),
                           f"ShutdownTimeout ({timeout:g} s)")

    def _log(self, level: str, text: str) -> None:
        """An event log line; during an outage kept (in order) for the next line that passes."""
        entries = [*self._unlogged, self._entry(level, text)]
        try:
            self.store.log(entries)
        except StoreUnavailable as exc:
            self.outage.hit(exc)
            self._unlogged = entries
            return
        self._unlogged = []

    def _entry(self, level: str, text: str) -> r.LogEntry:
        return r.LogEntry(type=level, text=text, item="", job=f"{self.store.host}:{os.getpid()}",
                          source_class="iop.engine.supervisor.Supervisor",
                          source_method="supervise")
