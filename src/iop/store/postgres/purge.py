"""Purge for the PostgreSQL store: old complete sessions, their bodies, old event log lines.

Batches of sessions, one short transaction each; ids come from sequences and never repeat.
Space is given back by autovacuum (``compact`` only asks for an ANALYZE of what changed).
"""

from __future__ import annotations

from typing import Any

from iop.store.queries import purge_candidates_sql, purge_ids_sql

_BATCH = 2000


def purge(store: Any, before: float, *, bodies: bool, include_incomplete: bool) -> dict[str, int]:
    counts = {"sessions": 0, "headers": 0, "bodies": 0, "log": 0}
    candidates = purge_candidates_sql("%s", include_incomplete)
    last = 0
    while True:
        sessions = [row[0] for row in store._query(candidates, (last, before, _BATCH))]
        if not sessions:
            break
        last = sessions[-1]
        with store.transaction() as tx:
            ids = [row[0] for row in tx.execute(
                purge_ids_sql("%s", "= ANY(%s)", include_incomplete),
                (sessions, before)).fetchall()]
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
            counts["sessions"] += tx.execute(
                "SELECT COUNT(DISTINCT session_id) FROM headers WHERE id = ANY(%s)",
                (ids,)).fetchone()[0]
            counts["headers"] += tx.execute("DELETE FROM headers WHERE id = ANY(%s)",
                                            (ids,)).rowcount
    with store.transaction() as tx:
        counts["log"] = tx.execute("DELETE FROM log WHERE time < %s AND id < "
                                   "(SELECT MAX(id) FROM log)", (before,)).rowcount
    return counts
