"""Purge: the one implementation behind ``iop --purge``, the Director and the scheduled purge."""

from __future__ import annotations

import time
from typing import Any

from iop.engine.errors import EngineError
from iop.store import records as r
from iop.store.base import Store

DAY = 86400.0


def purge(store: Store, keep_days: float, *, bodies: bool = False,
          include_incomplete: bool = False, compact: bool = True,
          why: str = "purge", dry_run: bool = False) -> dict[str, Any]:
    """Delete complete sessions (all sessions with ``include_incomplete``) and event log lines
    older than ``keep_days`` days; with ``bodies`` the message bodies too. Returns counts;
    ``dry_run`` only counts the sessions, messages and log lines that would go."""
    if keep_days < 0:
        raise EngineError(f"purge keeps a number of days >= 0, got {keep_days:g}")
    if dry_run:
        return {**store.purge_preview(time.time() - keep_days * DAY,
                                      include_incomplete=include_incomplete), "dry_run": True}
    counts: dict[str, Any] = dict(store.purge(time.time() - keep_days * DAY, bodies=bodies,
                                              include_incomplete=include_incomplete))
    counts["compacted"] = store.compact() if compact else False
    store.log([r.LogEntry(
        type="info", text=f"{why} keeping {keep_days:g} day(s): {counts['sessions']} "
        f"session(s), {counts['headers']} message(s), {counts['bodies']} body(ies), "
        f"{counts['log']} log line(s) deleted", source_class="iop.engine.maintenance",
        source_method="purge")])
    return counts
