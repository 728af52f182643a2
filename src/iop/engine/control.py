"""Start, stop, kill, restart and update a production from any process, on any host.

Starting runs a supervisor on this host (joining the hosts that already run the same
production, on PostgreSQL). Stop, kill, update and restart reach every host: each host's
supervisor reads requests from its runtime row; one on this host is also signalled. A host
whose supervisor died is cleaned up here: its jobs' messages are freed for the live hosts.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable

from iop.engine.cluster import live_hosts, pid_alive, production_status, supervisor_alive
from iop.engine.config import parse_production
from iop.engine.errors import (
    AlreadyRunning,
    EngineError,
    NotRunning,
    UnknownItem,
    UnknownProduction,
)
from iop.engine.host_status import read_host_statuses
from iop.engine.supervisor import DEFAULT_SHUTDOWN_SECONDS, Supervisor
from iop.errors import StoreUnavailable
from iop.store import namespace_dir
from iop.store import records as r
from iop.store.base import Store
from iop.store.private import confined, make_private_folder, name_in_path, open_private

WAIT_SECONDS = 28.0  # every lifecycle call answers within the remote client's 30 s
EXIT_WAIT_SECONDS = 5.0  # for a stopped supervisor's process to end (it only closes files)
KILL_WAIT_SECONDS = 10.0  # how long another host's supervisor gets to obey a kill
# A stop or kill leaves its time here, so a start launched before it (whose claim of the
# runtime row the stop could not see yet) gives up instead of running on afterwards.
STOP_MARK = "stop_requested_at"
_command_launched: float | None = None  # set by a one-shot command (the `iop` CLI)


def note_command_launch() -> None:
    """This process is one command the user typed (`iop -s`, `iop -S`): its starts and stops
    count from its launch, not from when they reach the store. Orders a start and a stop
    typed one after the other, however long each spent loading first."""
    global _command_launched
    try:
        with open("/proc/self/stat", encoding="ascii") as fh:
            ticks = int(fh.read().rsplit(") ", 1)[1].split()[19])
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        age = 0.0  # not Linux: from now
    _command_launched = time.time() - max(age, 0.0)


def launched_at() -> float:
    """When the start or stop being made was issued: the command's launch, else now."""
    return _command_launched if _command_launched is not None else time.time()


def _mark_stop(store: Store) -> None:
    store.set_meta(STOP_MARK, repr(launched_at()))


def _stopped_since(store: Store, launched: float) -> bool:
    """Whether a stop or kill was issued after a start launched at ``launched``."""
    try:
        return float(store.get_meta(STOP_MARK) or 0) > launched
    except ValueError:
        return False


def current_status(store: Store) -> tuple[str, str]:
    """(production, status) over every host, a production whose supervisors all died being
    reported as troubled."""
    return production_status(store)


def ensure_startable(store: Store, production: str, load_classes: bool = True) -> None:
    """Raise the error a start would hit, before any process is spawned. The server passes
    ``load_classes=False`` after checking the classes in its contained child."""
    if load_classes:
        Supervisor(store, production).load()
    for state, alive in live_hosts(store):
        if not alive:
            continue
        if state.host == store.host:
            raise AlreadyRunning(f"production {state.production} is already running on this "
                                 f"host ({state.host}) in namespace {store.namespace}; "
                                 "stop it first (iop -S)")
        if state.production != production:
            raise AlreadyRunning(f"production {state.production} is already running in "
                                 f"namespace {store.namespace} on host {state.host}; "
                                 "stop it first (iop -S)")


def begin_start(store: Store, production: str, load_classes: bool = True) -> r.RuntimeState:
    """Refuse a start that cannot succeed, else record it on this host's runtime row at once
    (status starting, this process's pid), before the slow class checks: a stop, kill or
    restart issued meanwhile finds the start and waits for it to settle instead of finding
    nothing to stop. The supervisor, started by this process or run in it, takes the row over.
    Returns the row as it was, for :func:`abandon_start`."""
    if store.get_production(production) is None:
        raise UnknownProduction(f"production {production} does not exist in namespace "
                                f"{store.namespace}")
    launched = launched_at()
    ensure_startable(store, production, load_classes=False)
    before = store.get_runtime()
    blocker = store.claim_runtime(production, os.getpid(), store.host, supervisor_alive)
    if blocker is not None:
        raise AlreadyRunning(f"production {blocker.production} is already running in namespace "
                             f"{store.namespace} on host {blocker.host}; stop it first (iop -S)")
    try:
        # Claimed first, read second (a stop marks first, reads second): a stop issued after
        # this command either sees the claim and stops the start, or is seen here.
        if _stopped_since(store, launched):
            raise EngineError(f"production {production} was stopped (iop -S or -k) before it "
                              "finished starting")
        if load_classes:
            Supervisor(store, production).load()
    except BaseException:
        abandon_start(store, (os.getpid(),), before)
        raise
    return before


def abandon_start(store: Store, pids: tuple[int, ...], before: r.RuntimeState) -> None:
    """Give back this host's runtime row, claimed by one of ``pids`` for a start that failed:
    at rest, naming the production it named ``before``."""
    state = store.get_runtime()
    if state.status == "starting" and state.supervisor_pid in pids:
        final = "suspended" if store.pending_sync_requests() else "stopped"
        store.update_runtime(production=before.production, status=final, supervisor_pid=0,
                             requested="")


def start_detached(store: Store, production: str, load_classes: bool = True) -> None:
    """Start a supervisor on this host in its own session and wait until it runs."""
    before = begin_start(store, production, load_classes)
    try:
        _spawn_supervisor(store, production, before)
    except BaseException:
        abandon_start(store, (os.getpid(),), before)
        raise


def _spawn_supervisor(store: Store, production: str, before: r.RuntimeState) -> None:
    logdir = make_private_folder(namespace_dir(store.namespace))
    errname = "supervisor.err"
    if store.host != socket.gethostname():  # several named hosts on one machine
        errname = f"{name_in_path(store.host)}.{errname}"
    errpath = confined(logdir, errname)
    with open_private(errpath, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "iop.engine.processes", "supervisor", store.namespace, production],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, start_new_session=True,
        )
    assert proc.stdout is not None
    line = proc.stdout.readline().decode().strip()
    proc.stdout.close()
    if line == "ready":
        return
    if line == "stopped":  # a stop or kill came while it started, and it obeyed
        raise EngineError(f"production {production} was stopped (iop -S or -k) before it "
                          "finished starting")
    try:
        proc.wait(WAIT_SECONDS)
    except subprocess.TimeoutExpired:
        pass
    abandon_start(store, (os.getpid(), proc.pid), before)
    with open(errpath, encoding="utf-8", errors="replace") as fh:
        lines = [x for x in fh.read().splitlines() if x.strip()]
    raise EngineError(lines[-1] if lines else f"supervisor exited with code {proc.returncode}")


def _wait_hosts(store: Store, hosts: list[str], done: Callable[[r.RuntimeState], bool],
                timeout: float) -> list[str]:
    """Wait until ``done`` holds for each of ``hosts`` (or its supervisor is gone); returns
    the hosts still pending when ``timeout`` passed."""
    deadline = time.monotonic() + timeout
    while True:
        rows = {s.host: s for s in store.list_runtimes()}
        pending = [h for h in hosts if h in rows and rows[h].live and not done(rows[h])
                   and supervisor_alive(rows[h])]
        if not pending or time.monotonic() >= deadline:
            return pending
        time.sleep(0.05)


def _settle(store: Store, request: str = "", timeout: float = WAIT_SECONDS) -> None:
    """Wait (up to ``timeout`` s) for the starts under way to finish, asking each starting
    supervisor to ``request`` (stop, kill) at once if given: it obeys before it reports ready.
    The request is written again when the supervisor's claim of its row cleared it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        starting = [s for s, alive in live_hosts(store) if alive and s.status == "starting"]
        if not starting:
            return
        for state in starting:
            if request and state.requested not in (request, "kill"):
                store.update_runtime(of_host=state.host, requested=request)
        time.sleep(0.05)


def _request(store: Store, state: r.RuntimeState, what: str) -> None:
    """Ask the supervisor of ``state``'s host to ``what`` (stop, kill, update, restart)."""
    store.update_runtime(of_host=state.host, requested=what)
    # A starting row may still name the process that starts the supervisor: never signal
    # it; the supervisor reads the request while it starts.
    if what == "stop" and state.host == store.host and state.status != "starting":
        try:
            os.kill(state.supervisor_pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


def _cleanup(store: Store, host: str, production: str) -> None:
    """Forget a supervisor that is gone: end its jobs (on this host), free their messages,
    mark its host at rest - suspended, as IRIS says, when it was the last host and
    synchronous requests are still queued."""
    if host == store.host:
        for job in store.list_jobs(host=host):
            if pid_alive(job.pid):
                try:
                    os.kill(job.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
    store.release_host(host)
    others = any(alive for state, alive in live_hosts(store) if state.host != host)
    if production and not others:
        store.mark_production(production, stopped=True)
    final = "suspended" if not others and store.pending_sync_requests() else "stopped"
    store.update_runtime(of_host=host, status=final, supervisor_pid=0, requested="")


def _kill_supervisor(pid: int) -> None:
    """SIGKILL a supervisor and, when it leads its own process group (detached), every job
    in it, including one spawned but not yet registered in the store."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def shutdown_seconds(store: Store) -> float:
    """How long a graceful stop of the current production may take: its ShutdownTimeout
    plus a margin for the supervisors' own work."""
    name = production_status(store)[0]
    definition = store.get_production(name) if name else None
    limit = DEFAULT_SHUTDOWN_SECONDS
    if definition is not None:
        try:
            limit = parse_production(definition).setting("ShutdownTimeout", limit)
        except EngineError:
            pass
    return limit + 10.0


def stop(store: Store, timeout: float | None = None) -> str:
    """Graceful stop of the production on every host; idempotent. After ``timeout`` seconds
    (default: the production's ShutdownTimeout) the stop is forced, so callers with a
    deadline (the REST API) stay within it. A start under way is stopped as it comes up.
    Returns "" once the stop is recorded; while the store is unavailable, what was done
    instead (:func:`stop_in_outage`)."""
    try:
        _stop(store, timeout)
    except StoreUnavailable as exc:
        return stop_in_outage(store, exc, timeout)
    return ""


def stop_in_outage(store: Store, exc: StoreUnavailable, timeout: float | None = None) -> str:
    """A stop while the store is unavailable: the runtime rows cannot carry it, so each
    supervisor of the namespace on this machine (found by its status file) is sent SIGTERM;
    it stops its jobs at once and records the stop when the store is back. Waits up to
    ``timeout`` s (default WAIT_SECONDS) for their jobs to end; returns the line saying what
    was done. With no supervisor here, the outage's StoreUnavailable, saying so."""
    found = read_host_statuses(store.namespace)
    if not found:
        raise StoreUnavailable(f"{exc}; no supervisor of namespace {store.namespace} runs on "
                               "this machine, and other hosts get a stop only through the "
                               "store: run iop -S again once it is back") from exc
    for status in found:
        if status.state not in ("stopping", "stopped"):
            try:
                os.kill(status.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass  # gone meanwhile: nothing left to stop here
    hosts = [s.host for s in found]
    deadline = time.monotonic() + (timeout if timeout is not None else WAIT_SECONDS)
    while True:
        now = {s.host: s for s in read_host_statuses(store.namespace)}
        pending = [h for h in hosts if h in now and now[h].state != "stopped"]
        if not pending or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    said = (f"the store is unavailable ({exc}); the stop went by signal to the supervisor of "
            f"host {', '.join(hosts)} on this machine")
    if pending:
        return f"{said}; host {', '.join(pending)} is still stopping its jobs, and records " \
               "the stop once the store is back"
    return f"{said}: its jobs have ended, and the stop is recorded once the store is back"


def _stop(store: Store, timeout: float | None) -> None:
    _mark_stop(store)
    _settle(store, "stop", min(WAIT_SECONDS, timeout if timeout is not None else WAIT_SECONDS))
    hosts = live_hosts(store)
    if not hosts:
        return
    if timeout is None:
        timeout = shutdown_seconds(store)
    for state, alive in hosts:
        if alive:
            _request(store, state, "stop")
    if _wait_hosts(store, [s.host for s, _ in hosts], lambda s: False, timeout):
        kill(store)
        return
    for state, _ in live_hosts(store):  # those whose supervisor died without stopping
        _cleanup(store, state.host, state.production)
    # A supervisor of this host records "stopped" just before its process ends: the stop
    # returns once that process is gone too, so nothing of the production outlives it.
    _wait_exited([s.supervisor_pid for s, alive in hosts
                  if alive and s.host == store.host and s.supervisor_pid != os.getpid()])


def _wait_exited(pids: list[int], timeout: float = EXIT_WAIT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while any(pid_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.02)


def kill(store: Store) -> None:
    """Forced stop on every host: SIGKILL this host's supervisor and jobs, ask other hosts'
    supervisors to do the same, and free the messages of those that do not answer. A start
    under way is asked to kill what it started, then killed like a running one."""
    _mark_stop(store)
    _settle(store, "kill")
    hosts = live_hosts(store)
    others: list[str] = []
    for state, alive in hosts:
        if state.host == store.host:
            if pid_alive(state.supervisor_pid) and state.supervisor_pid != os.getpid():
                _kill_supervisor(state.supervisor_pid)
        elif alive:
            _request(store, state, "kill")
            others.append(state.host)
    if others:
        _wait_hosts(store, others, lambda s: False, KILL_WAIT_SECONDS)
    cleaned = set()
    for state, _ in live_hosts(store):
        # A supervisor of another host that did not obey in time finds its row taken over
        # (supervisor_pid 0) and stops itself.
        _cleanup(store, state.host, state.production)
        cleaned.add(state.host)
    if store.host not in cleaned and store.list_jobs(host=store.host):
        _cleanup(store, store.host, "")  # jobs left over by a supervisor killed earlier


def recover(store: Store) -> str:
    """Clean up after supervisors that died (troubled): end their jobs on this host, deliver
    their messages again, and leave the production stopped (or suspended). Returns the state."""
    name, status = current_status(store)
    if status == "running":
        raise AlreadyRunning(f"production {name} is running normally; nothing to recover")
    if status == "troubled":
        for state, _ in live_hosts(store):
            _cleanup(store, state.host, state.production)
        store.log([_note(f"Production {name} recovered after its supervisor died")])
    return current_status(store)[1]


def _note(text: str) -> r.LogEntry:
    return r.LogEntry(type="info", text=text, source_class="iop.engine.control",
                      source_method="recover")


def restart(store: Store, fallback: str, stop_timeout: float | None = None,
            load_classes: bool = True) -> str:
    """Restart the running production (or start ``fallback``); a stop that takes longer than
    ``stop_timeout`` seconds is forced. When other hosts run it, every host restarts its jobs
    in place, so the production comes back on all of them."""
    _settle(store)  # a start under way finishes first: then it is restarted
    name, status = current_status(store)
    production = name if status != "stopped" and name else fallback
    if not production:
        raise NotRunning("no production is running and no default production is set")
    alive = [s for s, ok in live_hosts(store) if ok]
    if any(s.host != store.host for s in alive):
        for state in alive:
            _request(store, state, "restart")
        late = _wait_hosts(store, [s.host for s in alive], lambda s: s.requested != "restart",
                           WAIT_SECONDS)
        if late:
            raise EngineError(f"host(s) {', '.join(late)} did not restart production {production} "
                              f"within {WAIT_SECONDS:.0f} s; it goes on in the background "
                              "(see iop -L)")
        return production
    stop(store, stop_timeout)
    start_detached(store, production, load_classes)
    return production


def set_item_enabled(store: Store, production: str, item: str, enabled: bool) -> None:
    """Enable or disable one item in the stored production (applied by the next update)."""
    definition = store.get_production(production)
    if definition is None:
        raise UnknownProduction(f"production {production} does not exist in namespace "
                                f"{store.namespace}")
    body = definition.get("Production", definition)
    items = body.get("Item") or []
    items = items if isinstance(items, list) else [items]
    entry = next((i for i in items if i.get("@Name") == item), None)
    if entry is None:
        raise UnknownItem(f"item {item} is not in production {production}")
    entry["@Enabled"] = "true" if enabled else "false"
    store.save_production(production, definition)


def request_update(store: Store) -> list[str]:
    """Ask every live host's supervisor to apply the stored definition; the hosts asked."""
    alive = [s for s, ok in live_hosts(store) if ok]
    for state in alive:
        _request(store, state, "update")
    return [s.host for s in alive]


def update(store: Store, timeout: float = WAIT_SECONDS) -> None:
    """Ask every host's supervisor to restart the items whose configuration changed."""
    name, status = current_status(store)
    if status != "running":
        raise NotRunning(f"no production is running in namespace {store.namespace}")
    hosts = request_update(store)
    deadline = time.monotonic() + timeout
    late = _wait_hosts(store, hosts, lambda s: s.requested != "update", timeout)
    if not late and store.get_applied(name) != store.get_production(name):
        # Our request met one already being applied, whose end cleared ours before the
        # definition we saved was read: ask once more.
        hosts = request_update(store)
        late = _wait_hosts(store, hosts, lambda s: s.requested != "update",
                           max(deadline - time.monotonic(), 1.0))
    if late:
        raise EngineError(f"production {name} did not apply the update within {timeout:.0f} s"
                          f"{' on host(s) ' + ', '.join(late) if len(hosts) > 1 else ''}; "
                          "it goes on in the background (see iop -L)")
