"""Purge for the PostgreSQL store: old complete sessions, their bodies, old event log lines.

Batches of sessions, one short transaction each; ids come from sequences and never repeat.
Space is given back by autovacuum (``compact`` only asks for an ANALYZE of what changed).
"""

from __future__ import annotations

from typing import Any

_BATCH = 2000
_FINAL = "('completed', 'error', 'discarded', 'aborted')"


def purge(store: Any, before: float, *, bodies: bool, include_incomplete: bool) -> dict[str, int]:
    counts = {"sessions": 0, "headers": 0, "bodies": 0, "log": 0}
    complete = "" if include_incomplete else \
        f"AND SUM(CASE WHEN status NOT IN {_FINAL} THEN 1 ELSE 0 END) = 0"
    last = 0
    while True:
        sessions = [row[0] for row in store._query(
            f"SELECT session_id FROM headers WHERE session_id > %s GROUP BY session_id "
            f"HAVING MAX(created) < %s {complete} ORDER BY session_id LIMIT %s",
            (last, before, _BATCH))]
        if not sessions:
            break
        last = sessions[-1]
        with store.transaction() as tx:
            ids = [row[0] for row in tx.execute(
                "SELECT id FROM headers WHERE session_id = ANY(%s)", (sessions,)).fetchall()]
            if bodies:
                typed = [row[0] for row in tx.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = "
                    "current_schema() AND table_name LIKE 'msg\\_%%'").fetchall()]
                for table in typed:
                    tx.execute(f'DELETE FROM "{table}" WHERE body_id IN (SELECT body_id FROM '
                               "headers WHERE id = ANY(%s))", (ids,))
                counts["bodies"] += tx.execute(
                    "DELETE FROM bodies WHERE id IN (SELECT body_id FROM headers "
                    "WHERE id = ANY(%s))", (ids,)).rowcount
            if include_incomplete:
                tx.execute("DELETE FROM queue WHERE header_id = ANY(%s)", (ids,))
            tx.execute("DELETE FROM contexts WHERE request_id = ANY(%s)", (ids,))
            counts["headers"] += tx.execute("DELETE FROM headers WHERE id = ANY(%s)",
                                            (ids,)).rowcount
            counts["sessions"] += len(sessions)
    with store.transaction() as tx:
        counts["log"] = tx.execute("DELETE FROM log WHERE time < %s", (before,)).rowcount
    return counts
