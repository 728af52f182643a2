"""Entry point of the engine's own processes: ``python -m iop.engine.processes supervisor|job ...``.

Kept apart from the modules it runs so that importing ``iop`` never imports this file.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

from iop.engine.config import parse_production
from iop.engine.durability import apply_setting
from iop.engine.errors import EngineError
from iop.engine.exiting import exiting
from iop.engine.job import Job
from iop.engine.supervisor import Supervisor
from iop.errors import StoreError
from iop.store import open_store

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # Linux delivers SIGTERM to this process when its parent (the supervisor) dies.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the job's heartbeat check notices the parent is gone instead


def run_supervisor(namespace: str, production: str) -> int:
    store = open_store(namespace)
    supervisor = Supervisor(store, production)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    signal.signal(signal.SIGINT, supervisor.request_stop)
    try:
        supervisor.start()
    except (EngineError, StoreError) as exc:  # one line (a full disk, a damaged store), which `iop -s` shows
        print(str(exc), file=sys.stderr)
        return 2
    if supervisor.stopping:  # asked to stop (iop -S, -k) while it started
        supervisor.stop(force=supervisor.stopping == "kill")
        print("stopped", flush=True)
        return 0
    print("ready", flush=True)
    # Whoever started us has stopped reading; later output goes to the event log only.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    supervisor.run()
    # No exiting() here: the collector closes the connections its threads left (its host
    # keeper's), so that the last process out still removes SQLite's write-ahead log.
    return 0


def run_job(namespace: str, production: str, item_name: str, slot: str, job_id: str,
            supervisor_pid: str) -> int:
    _die_with_parent()
    if os.getppid() != int(supervisor_pid):
        return 0  # the supervisor died before we got here
    store = open_store(namespace, initialize=False)
    definition = store.get_production(production)
    if definition is None:
        print(f"production {production} not found", file=sys.stderr)
        return 2
    config = parse_production(definition)
    item = config.item(item_name)
    if item is None:
        print(f"item {item_name} not in production {production}", file=sys.stderr)
        return 2
    apply_setting(store, config.settings)
    status = Job(store, item, int(slot), job_id, int(supervisor_pid), production).run()
    store.close()
    exiting()
    return status


def main(argv: list[str]) -> int:
    role, *args = argv
    if role == "supervisor":
        return run_supervisor(*args)
    if role == "job":
        return run_job(*args)
    print(f"unknown engine process role {role!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
