"""The production monitor's view of a namespace: per item its light, counters, queue and
last activity; the message rate of the last hour; open alerts; and acknowledging an
item's errors. Every read is a counter row or an indexed lookup (see SQLStore.item_counts),
so a refresh costs the same with a million messages in the store as with ten."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from iop.client.lights import ItemState, light
from iop.engine import control
from iop.engine.config import parse_production
from iop.engine.errors import EngineError
from iop.store import records as r
from iop.store.base import Store

RATE_MINUTES = 60
ALERTS_SHOWN = 20
ACKS_KEY = "monitor.acknowledged"  # meta key: {item: the newest log id when acknowledged}
PRODUCTION_WIDE = ""  # the log's item of entries about the whole production
_RETRY_NOTE = re.compile(r"^message (\d+) failed \(attempt \d+\)")


def _number(text: Any) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return 0.0


def acknowledgements(store: Store) -> dict[str, int]:
    """Per item ("" for the production's own entries): the newest event log id when its
    errors and alerts were last acknowledged."""
    try:
        found = json.loads(store.get_meta(ACKS_KEY, "{}") or "{}")
    except ValueError:
        return {}
    return {str(k): int(v) for k, v in found.items()} if isinstance(found, dict) else {}


def acknowledge(store: Store, item: str, user: str) -> dict[str, Any]:
    """Acknowledge ``item``'s errors and alerts logged so far ("" for the production-wide
    ones); recorded in the event log with who did it."""
    upto = store.newest_log_id()
    acks = acknowledgements(store)
    acks[item] = upto
    store.set_meta(ACKS_KEY, json.dumps(acks, sort_keys=True))
    what = f"item {item}" if item else "the production"
    who = user or "an anonymous user"
    store.log([r.LogEntry("info", f"errors and alerts of {what} acknowledged by {who} (up to "
                                  f"event log entry {upto})", item, source_class="portal",
                          source_method="acknowledge")])
    return {"item": item, "acknowledged_up_to": upto}


def _retrying(store: Store, item: str, newest_error_id: int, held: int) -> bool:
    """Whether a job of ``item`` is retrying a message now: its newest warning is a retry
    note newer than its newest error, and the message named there is still in hand."""
    if not held:
        return False
    notes = store.newest_log(item, "warning")
    if not notes or notes[0].id < newest_error_id:
        return False
    found = _RETRY_NOTE.match(notes[0].text)
    if found is None:
        return False
    header = store.get_header(int(found.group(1)))
    return header is not None and header.status == r.DELIVERED


def error_summary(text: str) -> str:
    """An error entry in one line: a traceback is cut to what raised (its last line)."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    head = lines[0].split("Traceback (most recent call last)")[0].strip()
    return f"{head} {lines[-1]}".strip() if len(lines) > 1 else head


def _entry(e: r.LogEntry) -> dict[str, Any]:
    return {"id": e.id, "item": e.item, "text": e.text, "time": e.time,
            "time_logged": r.format_time(e.time), "session_id": e.session_id}


def production_health(store: Store, production: str | None = None,
                      default: str = "") -> dict[str, Any]:
    """The monitor's snapshot of ``production`` (else the running one, else ``default``)."""
    now = time.time()
    running, status = control.current_status(store)
    name = production or running or default
    definition = store.get_production(name) if name else None
    if definition is None:
        raise EngineError(f"production {name!r} does not exist in namespace "
                          f"{store.namespace}" if name else
                          f"namespace {store.namespace} has no production to monitor")
    config = parse_production(definition)
    state = status if name == running else "stopped"
    live = state == "running"
    # InactivityTimeout counts from the item's last activity, or from the start when none.
    started = next((float(p["last_start"] or 0.0) for p in store.list_productions()
                    if p["name"] == name), 0.0)
    kinds = {b.class_name: b.kind for b in store.list_bindings()}
    counts = store.item_counts()
    queues = store.queue_activity()
    jobs: dict[str, int] = {}
    for job in store.list_jobs():
        if job.state == "running":
            jobs[job.item] = jobs.get(job.item, 0) + 1
    items, alerts = [], []
    acks = acknowledgements(store)
    for item in config.items:
        acked = acks.get(item.name, 0)
        errors = store.newest_log(item.name, "error")
        newest_error = errors[0].id if errors else 0
        queued, oldest, held = queues.get(item.name, (0, 0.0, 0))
        c = counts.get(item.name, r.ItemCounts())
        last = c.last or None
        item_state = ItemState(
            enabled=item.enabled, production_running=live, jobs=jobs.get(item.name, 0),
            unacknowledged_error=newest_error > acked,
            retrying=live and _retrying(store, item.name, newest_error, held),
            inactivity_timeout=_number(item.host_settings.get("InactivityTimeout")),
            idle_seconds=now - max(last or 0.0, started) if (last or started) else None)
        item_alerts = store.newest_log(item.name, "alert", acked, ALERTS_SHOWN)
        alerts += item_alerts
        items.append({
            "name": item.name, "class_name": item.class_name,
            "kind": item.kind or kinds.get(item.class_name, ""), "enabled": item.enabled,
            "light": light(item_state), "jobs": item_state.jobs,
            "received": sum(c.received.values()), "sent": c.sent,
            "completed": c.received.get(r.COMPLETED, 0),
            "errored": c.received.get(r.ERROR, 0),
            "queued": c.received.get(r.QUEUED, 0) + c.received.get(r.DELIVERED, 0),
            "last_activity": last, "last_activity_text": r.format_time(last),
            "queue": queued, "in_progress": held,
            "oldest_text": r.format_time(oldest) if queued else None,
            "error": error_summary(errors[0].text) if newest_error > acked else None,
            "open_alerts": len(item_alerts)})
    alerts += store.newest_log(PRODUCTION_WIDE, "alert", acks.get(PRODUCTION_WIDE, 0),
                               ALERTS_SHOWN)
    alerts.sort(key=lambda e: e.id, reverse=True)
    since = (now // 60 - (RATE_MINUTES - 1)) * 60
    rate = {minute: (n, e) for minute, n, e in store.message_rate(since)}
    first = int(since // 60)
    return {
        "production": name, "status": state, "now": now,
        "items": items,
        "alerts": [_entry(a) for a in alerts[:ALERTS_SHOWN]],
        "rate": [{"minute": m * 60, "messages": rate.get(m, (0, 0))[0],
                  "errors": rate.get(m, (0, 0))[1]} for m in range(first, first + RATE_MINUTES)],
    }
