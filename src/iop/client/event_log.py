"""The event log as a person reads it: one line per entry, and following the log through a
Client until Ctrl+C (`iop -L`, a remote `iop -s NAME`; a local one tails the store with
``StoreTail`` while its supervisor runs in the same process). There is no push over the REST
API (spec section 9): the log is polled.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from iop.client.base import Client
from iop.store.base import Store

__all__ = ["StoreTail", "follow_log", "format_log_line"]

LOCAL_POLL_SECONDS = 0.25
REMOTE_POLL_SECONDS = 1.0


def format_log_line(entry: dict[str, Any], production: str = "") -> str:
    """One log entry as the seed shows it: ``time [item] TYPE: text``.

    Production-level entries (no item) show the production's name, as IRIS does.
    """
    where = entry.get("config_name") or production or "production"
    return f"{entry['time_logged']} [{where}] {str(entry['type']).upper()}: {entry['text']}"


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


class StoreTail(threading.Thread):
    """Prints a store's event log entries after ``last`` as they are written, until
    ``finish()`` (which prints what is left first)."""

    def __init__(self, store: Store, last: int, production: str) -> None:
        super().__init__(daemon=True)
        self.store = store
        self.last = last
        self.production = production
        self._done = threading.Event()

    def run(self) -> None:
        while True:
            finished = self._done.is_set()
            for entry in self.store.log_since(self.last):
                self.last = entry.id
                print(format_log_line(entry.to_dict(), self.production), flush=True)
            if finished:
                return
            self._done.wait(LOCAL_POLL_SECONDS)

    def finish(self) -> None:
        self._done.set()
        self.join(5)
