"""A job: one OS process running one pool slot of one item.

Started by the supervisor as ``python -m iop.engine.job NAMESPACE PRODUCTION ITEM SLOT JOB_ID``.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from typing import Any

from iop.components import kinds
from iop.engine.config import ItemConfig, parse_production
from iop.engine.errors import EngineError
from iop.engine.handling import Handler, Outcome, apply_outcome
from iop.engine.hosts import LiveHost, make_host
from iop.engine.runtime import HostRuntime
from iop.store import open_store
from iop.store import records as r
from iop.store.base import Store

LEASE_SECONDS = 60.0
HEARTBEAT_SECONDS = 2.0
IDLE_POLL_SECONDS = 1.0
BATCH = 32


class Job:
    """Claims, dispatches and completes messages for one item until told to stop."""

    def __init__(self, store: Store, item: ItemConfig, slot: int, job_id: str) -> None:
        self.store = store
        self.item = item
        self.slot = slot
        self.job_id = job_id
        self.stopping = False
        self.processed = 0
        self.runtime = HostRuntime(store, item.name, job_id)
        self.live: LiveHost | None = None
        self._last_beat = 0.0
        self._parent = os.getppid()

    def request_stop(self, *_: Any) -> None:
        self.stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C goes to the supervisor, which stops us
        listener = self.store.notifier.listen_item(self.item.name, self.slot)
        now = time.time()
        self.store.put_job(r.JobRecord(self.job_id, self.item.name, self.slot, os.getpid(),
                                       socket.gethostname(), "starting", now, now))
        try:
            self.live = make_host(self.store, self.item, self.runtime)
        except Exception as exc:
            self.runtime.log(None, "error", f"item {self.item.name} failed to start: "
                             f"{type(exc).__name__}: {exc}" if not isinstance(exc, EngineError)
                             else str(exc), "on_init")
            self.runtime.flush_logs()
            self.store.delete_job(self.job_id)
            return 3
        self.store.heartbeat_job(self.job_id, 0, "running")
        self._last_beat = time.monotonic()
        try:
            if self.live.kind == kinds.SERVICE:
                self._run_service(listener)
            else:
                self._run_queue(listener)
        finally:
            self._tear_down()
            listener.close()
        return 0

    def _beat(self) -> None:
        if os.getppid() != self._parent:
            self.stopping = True  # the supervisor died: a new one will start fresh jobs
            return
        if time.monotonic() - self._last_beat >= HEARTBEAT_SECONDS:
            self._last_beat = time.monotonic()
            self.store.heartbeat_job(self.job_id, self.processed)
            self.store.extend_leases(self.job_id, LEASE_SECONDS)

    def _run_queue(self, listener: Any) -> None:
        assert self.live is not None
        handler = Handler(self.store, self.live)
        while not self.stopping:
            deliveries = self.store.claim(self.item.name, self.job_id, BATCH, LEASE_SECONDS)
            if not deliveries:
                self._beat()
                listener.wait(IDLE_POLL_SECONDS)
                continue
            pending: list[Outcome] = []
            for delivery in deliveries:
                pending.append(handler.handle(delivery))
                # A waiting caller should not wait for the rest of the batch.
                if delivery.header.reply_to or self.stopping:
                    self._commit(pending)
                    pending = []
                if self.stopping:
                    break
            self._commit(pending)
            self._beat()

    def _commit(self, outcomes: list[Outcome]) -> None:
        if not outcomes:
            return
        lost = 0
        with self.store.transaction() as tx:
            for outcome in outcomes:
                if apply_outcome(tx, outcome, self.job_id):
                    self.processed += 1
                else:
                    lost += 1
        if lost:
            self.store.log([self.runtime.entry(
                "warning", f"{lost} message(s) were handled after this job's lease expired; "
                "another job delivers them again", "commit")])

    def _run_service(self, listener: Any) -> None:
        assert self.live is not None
        adapter = self.live.adapter
        if adapter is None:
            # Services without an inbound adapter are driven by a Director in another process.
            while not self.stopping:
                self._beat()
                listener.wait(IDLE_POLL_SECONDS)
            return
        interval = float(getattr(adapter, "CallInterval", 5) or 5)
        next_run = time.monotonic()
        while not self.stopping:
            if time.monotonic() >= next_run:
                next_run = time.monotonic() + interval
                try:
                    adapter.on_task()
                except Exception as exc:
                    import traceback

                    self.runtime.log(self.live.host, "error", "on_task failed: " + "".join(
                        traceback.format_exception(exc)).rstrip(), "on_task")
                self.runtime.flush_logs()
            self._beat()
            listener.wait(max(0.0, min(next_run - time.monotonic(), IDLE_POLL_SECONDS)))

    def _tear_down(self) -> None:
        live = self.live
        if live is None:
            return
        for part in (live.host, live.adapter):
            if part is None:
                continue
            try:
                part.on_tear_down()
            except Exception as exc:
                self.runtime.log(part, "error", f"on_tear_down failed: {exc}", "on_tear_down")
        self.runtime.flush_logs()
        self.store.delete_job(self.job_id)


def main(argv: list[str]) -> int:
    namespace, production, item_name, slot, job_id = argv
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
    return Job(store, item, int(slot), job_id).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
