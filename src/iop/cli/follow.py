"""Commands that stream the event log until Ctrl+C: `iop -L` and `iop -s NAME` (no -D).

Locally `-s` runs the supervisor in this process; remotely it starts the production on the
server, polls the log (there is no push; spec section 9) and stops the production on Ctrl+C.
"""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

from iop.client.base import Client
from iop.engine.director import format_log_line

LOCAL_POLL_SECONDS = 0.25
REMOTE_POLL_SECONDS = 1.0


def _poll_interval(client: Client) -> float:
    return REMOTE_POLL_SECONDS if client.mode == "remote" else LOCAL_POLL_SECONDS


def follow_log(client: Client, production: str, stop: threading.Event | None = None,
               last: int | None = None) -> int:
    """Print the newest entries (unless ``last`` is given), then each new one until Ctrl+C or
    ``stop`` is set."""
    interval = _poll_interval(client)
    try:  # Ctrl+C ends the command normally, also while the first entries are printed
        if last is None:
            last = 0
            for entry in reversed(client.log(top=10)):
                print(format_log_line(entry, production), flush=True)
                last = max(last, int(entry["id"]))
        while stop is None or not stop.is_set():
            for entry in client.log(since_id=last):
                print(format_log_line(entry, production), flush=True)
                last = max(last, int(entry["id"]))
            if stop is not None:
                stop.wait(interval)
            else:
                time.sleep(interval)
    except KeyboardInterrupt:
        pass
    return 0


def start_foreground(client: Client, name: str) -> int:
    if client.mode == "remote":
        return _start_remote(client, name)
    return _start_local(client, name)


def _start_remote(client: Client, name: str) -> int:
    top = client.log(top=1)
    last = int(top[0]["id"]) if top else 0
    client.start(name)
    print(f"Production '{name}' started. Streaming log — Ctrl-C to stop.", flush=True)
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        follow_log(client, name, stop, last)
    finally:
        signal.signal(signal.SIGINT, previous)
    client.stop()
    print(f"Production {name} stopped", flush=True)
    return 0


def _start_local(client: Any, name: str) -> int:
    """Run the supervisor in this process, streaming the event log until Ctrl+C."""
    from iop.engine import control
    from iop.engine.supervisor import Supervisor

    control.ensure_startable(client.store, name)
    supervisor = Supervisor(client.store, name)
    signal.signal(signal.SIGINT, supervisor.request_stop)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    top = client.store.log_top(1)
    tail = _Tail(client, top[0].id if top else 0, name)
    tail.start()
    try:
        supervisor.start()
        supervisor.run()
    finally:
        tail.finish()
    return 0


class _Tail(threading.Thread):
    """Prints event log entries as they are written."""

    def __init__(self, client: Any, last: int, production: str) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.last = last
        self.production = production
        self._done = threading.Event()

    def run(self) -> None:
        store = self.client.store
        while True:
            finished = self._done.is_set()
            for entry in store.log_since(self.last):
                self.last = entry.id
                print(format_log_line(entry.to_dict(), self.production), flush=True)
            if finished:
                return
            self._done.wait(LOCAL_POLL_SECONDS)

    def finish(self) -> None:
        self._done.set()
        self.join(5)
