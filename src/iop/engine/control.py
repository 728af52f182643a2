"""Start, stop, kill, restart and update a production from any process on this host."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

from iop.engine.errors import (
    AlreadyRunning,
    EngineError,
    NotRunning,
    UnknownItem,
    UnknownProduction,
)
from iop.engine.supervisor import Supervisor, pid_alive, supervisor_alive
from iop.store import namespace_dir
from iop.store import records as r
from iop.store.base import Store

WAIT_SECONDS = 28.0  # every lifecycle call answers within the remote client's 30 s
# States in which no supervisor runs: stopped, or suspended (stopped with synchronous
# requests still queued, as IRIS reports it).
AT_REST = ("stopped", "suspended", "")


def current_status(store: Store) -> tuple[str, str]:
    """(production, status) with a dead supervisor reported as troubled."""
    state = store.get_runtime()
    status = state.status or "stopped"
    if status not in AT_REST and not supervisor_alive(state):
        status = "troubled"
    if status == "starting":
        status = "running" if supervisor_alive(state) else "troubled"
    return state.production, status


def ensure_startable(store: Store, production: str) -> None:
    """Raise the error a start would hit, before any process is spawned."""
    Supervisor(store, production).load()
    name, status = current_status(store)
    if status == "running":
        raise AlreadyRunning(f"production {name} is already running in namespace "
                             f"{store.namespace}; stop it first (iop -S)")


def start_detached(store: Store, production: str) -> None:
    """Start a supervisor in its own session and wait until the production runs."""
    ensure_startable(store, production)
    logdir = namespace_dir(store.namespace)
    os.makedirs(logdir, exist_ok=True)
    errpath = os.path.join(logdir, "supervisor.err")
    with open(errpath, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "iop.engine.processes", "supervisor", store.namespace, production],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, start_new_session=True,
        )
    assert proc.stdout is not None
    line = proc.stdout.readline().decode().strip()
    proc.stdout.close()
    if line != "ready":
        proc.wait(WAIT_SECONDS)
        with open(errpath, encoding="utf-8", errors="replace") as fh:
            lines = [x for x in fh.read().splitlines() if x.strip()]
        raise EngineError(lines[-1] if lines else f"supervisor exited with code {proc.returncode}")


def _wait_stopped(store: Store, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = store.get_runtime()
        if state.status in AT_REST or not supervisor_alive(state):
            return True
        time.sleep(0.05)
    return False


def _cleanup(store: Store, kill_jobs: bool) -> None:
    """Forget a supervisor that is gone: end its jobs, free their messages, mark stopped."""
    host = socket.gethostname()
    for job in store.list_jobs():
        if kill_jobs and job.host == host and pid_alive(job.pid):
            try:
                os.kill(job.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        store.release_leases(job.id)
        store.delete_job(job.id)
    state = store.get_runtime()
    if state.production:
        store.mark_production(state.production, stopped=True)
    final = "suspended" if store.pending_sync_requests() else "stopped"
    store.update_runtime(status=final, supervisor_pid=0, requested="")


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


def stop(store: Store, timeout: float = WAIT_SECONDS) -> None:
    """Graceful stop of whatever runs in the namespace; idempotent. After ``timeout``
    seconds the stop is forced, so callers with a deadline (the REST API) stay within it."""
    state = store.get_runtime()
    if state.status in AT_REST:
        return
    if supervisor_alive(state):
        store.update_runtime(requested="stop")
        if state.host == socket.gethostname():
            try:
                os.kill(state.supervisor_pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        if _wait_stopped(store, timeout):
            if store.get_runtime().status in AT_REST:
                return
        else:
            kill(store)
            return
    _cleanup(store, kill_jobs=True)


def kill(store: Store) -> None:
    """Forced stop: SIGKILL the supervisor and its jobs, free their messages."""
    state = store.get_runtime()
    if state.status in AT_REST and not store.list_jobs():
        return
    if state.host == socket.gethostname() and pid_alive(state.supervisor_pid) \
            and state.supervisor_pid != os.getpid():
        _kill_supervisor(state.supervisor_pid)
    elif supervisor_alive(state):
        store.update_runtime(requested="kill")
        _wait_stopped(store, 10.0)
    _cleanup(store, kill_jobs=True)


def recover(store: Store) -> str:
    """Clean up after a supervisor that died (troubled): end its jobs on this host, deliver
    their messages again, and leave the production stopped (or suspended). Returns the state."""
    name, status = current_status(store)
    if status == "running":
        raise AlreadyRunning(f"production {name} is running normally; nothing to recover")
    if status == "troubled":
        _cleanup(store, kill_jobs=True)
        store.log([_note(f"Production {name} recovered after its supervisor died")])
    return current_status(store)[1]


def _note(text: str) -> r.LogEntry:
    return r.LogEntry(type="info", text=text, source_class="iop.engine.control",
                      source_method="recover")


def restart(store: Store, fallback: str, stop_timeout: float = WAIT_SECONDS) -> str:
    """Stop the running production (or none) and start it (or ``fallback``) again; a stop
    that takes longer than ``stop_timeout`` seconds is forced."""
    name, status = current_status(store)
    production = name if status != "stopped" and name else fallback
    if not production:
        raise NotRunning("no production is running and no default production is set")
    stop(store, stop_timeout)
    start_detached(store, production)
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


def update(store: Store, timeout: float = WAIT_SECONDS) -> None:
    """Ask the running supervisor to restart the items whose configuration changed."""
    name, status = current_status(store)
    if status != "running":
        raise NotRunning(f"no production is running in namespace {store.namespace}")
    store.update_runtime(requested="update")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if store.get_runtime().requested != "update":
            return
        time.sleep(0.05)
    raise EngineError(f"production {name} did not apply the update within {timeout:.0f} s; "
                      "it goes on in the background (see iop -L)")
