"""The failure banner of a session's trace: what failed, what is suspended (waiting for an
operator), and what was resubmitted since, with its outcome, so the banner follows the
session after a repair instead of showing the first failure for ever."""

from __future__ import annotations

import re
from typing import Any

from iop.engine.suspended import NOTE_SOURCE

_RESUBMITTED = re.compile(r"^message (\d+) resubmitted(?: with an edited body as message "
                          r"(\d+))?; (.*)$", re.S)


def session_banner(messages: list[dict[str, Any]], log: list[dict[str, Any]]
                   ) -> dict[str, list[dict[str, Any]]]:
    """``failed`` (status error), ``suspended``, and ``resubmitted``: each resubmission of
    the session's log (newest last) with the message that carried it, its status now and
    where its response went."""
    by_id = {int(m["id"]): m for m in messages}
    resubmitted: dict[int, dict[str, Any]] = {}
    for entry in log:
        if entry.get("source_class") != NOTE_SOURCE:
            continue
        found = _RESUBMITTED.match(str(entry.get("text", "")))
        if found is None:
            continue
        original = int(found.group(1))
        carrier = int(found.group(2)) if found.group(2) else original
        now = by_id.get(carrier, {})
        resubmitted[original] = {"id": original, "carrier": carrier,
                                 "status": now.get("status", "unknown"),
                                 "where": found.group(3)}
    return {"failed": [m for m in messages if m["status"] == "error"],
            "suspended": [m for m in messages if m["status"] == "suspended"],
            "resubmitted": list(resubmitted.values())}
