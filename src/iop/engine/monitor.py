"""What the supervisor watches while a production runs: queue and inactivity alerts, and the
scheduled purge.

* ``QueueCountAlert``: more messages than this in an item's queue; ``QueueWaitAlert``: its
  oldest message has waited longer than this many seconds; ``InactivityTimeout``: the item
  handled nothing for this many seconds. Each raises one alert when crossed (even with
  AlertOnError off, as in IRIS) and again only after the condition has cleared.
* Production settings ``PurgeKeepDays`` (0: off) and ``PurgeBodies``: once an hour, complete
  sessions older than that many days are purged, as ``iop --purge`` does.
* ``StoreCheckSeconds`` (default 3600, 0: off): that often, SQLite's quick check of the
  store runs in a thread of its own; a damaged store is logged and alerted once.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from iop.engine import maintenance
from iop.engine.alerts import ALERT_ITEM, alert_draft
from iop.engine.config import ItemConfig, ProductionConfig
from iop.store import records as r
from iop.store.base import Store
from iop.store.errors import StoreDamaged, StoreError

CHECK_SECONDS = 2.0
PURGE_EVERY_SECONDS = 3600.0
STORE_CHECK_SECONDS = 3600.0  # StoreCheckSeconds' default


def _number(text: Any, default: float = 0.0) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return default


def item_threshold(item: ItemConfig, cls: Any, name: str) -> float:
    """An item's numeric setting: its configured value, else its class's default."""
    if name in item.host_settings and item.host_settings[name].strip():
        return _number(item.host_settings[name])
    return _number(getattr(cls, name, 0), 0.0)


@dataclass
class _Watch:
    count_alert: float
    wait_alert: float
    inactivity: float
    raised: set[str] = field(default_factory=set)  # conditions alerted and not cleared yet
    processed: int = -1
    active_at: float = field(default_factory=time.monotonic)


class Monitor:
    """Checks a running production every few seconds; all of it runs in the supervisor."""

    def __init__(self, store: Store, config: ProductionConfig, classes: dict[str, Any]) -> None:
        self.store = store
        self.production = config.name
        self.items = {item.name for item in config.items}
        self.watches = {
            item.name: _Watch(item_threshold(item, classes.get(item.name), "QueueCountAlert"),
                              item_threshold(item, classes.get(item.name), "QueueWaitAlert"),
                              item_threshold(item, classes.get(item.name), "InactivityTimeout"))
            for item in config.items if item.enabled}
        self.keep_days = _number(config.settings.get("PurgeKeepDays"), 0.0)
        self.purge_bodies = str(config.settings.get("PurgeBodies", "")).lower() in ("1", "true")
        self._next_check = 0.0
        self._next_purge = time.monotonic() + 60.0  # not in the middle of starting up
        self.store_check_every = _number(config.settings.get("StoreCheckSeconds"),
                                         STORE_CHECK_SECONDS)
        self._next_store_check = time.monotonic() + self.store_check_every
        self._store_check: threading.Thread | None = None
        self._store_damaged = False  # alerted once, until a check passes again

    def tick(self) -> None:
        now = time.monotonic()
        if now >= self._next_check:
            self._next_check = now + CHECK_SECONDS
            self._check_queues()
            self._check_activity()
        if self.keep_days > 0 and now >= self._next_purge:
            self._next_purge = now + PURGE_EVERY_SECONDS
            self.purge()
        if self.store_check_every > 0 and now >= self._next_store_check:
            self._next_store_check = now + self.store_check_every
            if self._store_check is None or not self._store_check.is_alive():
                # A thread: a check of a large file must not hold up the supervisor's loop.
                self._store_check = threading.Thread(target=self.check_store, daemon=True,
                                                     name="iop-store-check")
                self._store_check.start()

    def check_store(self) -> None:
        """The scheduled quick check: a damaged store is logged and alerted (once)."""
        try:
            self.store.verify_integrity()
        except StoreDamaged as exc:
            if not self._store_damaged:
                self._store_damaged = True
                try:
                    self.alert("", str(exc))
                except StoreError:  # the damage may be where alerts are written
                    pass
            return
        except StoreError:
            return  # the check could not run (an outage): the next one will
        self._store_damaged = False

    # ------------------------------------------------------------ alerts
    def _check_queues(self) -> None:
        watched = {n: w for n, w in self.watches.items() if w.count_alert > 0 or w.wait_alert > 0}
        if not watched:
            return
        stats = self.store.queue_stats()
        wall = time.time()
        for name, watch in watched.items():
            count, oldest = stats.get(name, (0, wall))
            if watch.count_alert > 0:
                self._condition(name, watch, "count", count > watch.count_alert,
                                f"{count} messages wait in the queue of {name} "
                                f"(QueueCountAlert {watch.count_alert:g})")
            if watch.wait_alert > 0:
                waited = wall - oldest
                self._condition(name, watch, "wait", count > 0 and waited > watch.wait_alert,
                                f"the oldest message in the queue of {name} has waited "
                                f"{waited:.0f} s (QueueWaitAlert {watch.wait_alert:g})")

    def _check_activity(self) -> None:
        watched = {n: w for n, w in self.watches.items() if w.inactivity > 0}
        if not watched:
            return
        processed: dict[str, int] = {}
        for job in self.store.list_jobs():
            processed[job.item] = processed.get(job.item, 0) + job.processed
        now = time.monotonic()
        for name, watch in watched.items():
            done = processed.get(name, 0)
            if done != watch.processed:
                watch.processed, watch.active_at = done, now
            idle = now - watch.active_at
            self._condition(name, watch, "inactive", idle > watch.inactivity,
                            f"{name} has handled nothing for {idle:.0f} s "
                            f"(InactivityTimeout {watch.inactivity:g})")

    def _condition(self, item: str, watch: _Watch, key: str, on: bool, text: str) -> None:
        if not on:
            watch.raised.discard(key)
        elif key not in watch.raised:
            watch.raised.add(key)
            self.alert(item, text)

    def alert(self, item: str, text: str) -> None:
        drafts = [alert_draft(item, text, None)] if ALERT_ITEM in self.items \
            and item != ALERT_ITEM else []
        self.store.send(drafts, [r.LogEntry(type="alert", text=text, item=item,
                                            source_class="iop.engine.monitor.Monitor",
                                            source_method="check")])

    # ------------------------------------------------------------ purge
    def purge(self) -> dict[str, Any]:
        # No VACUUM here: it would hold every writer of the running production off.
        return maintenance.purge(self.store, self.keep_days, bodies=self.purge_bodies,
                                 compact=False, why="scheduled purge (PurgeKeepDays)")
