"""Purge for the embedded store: old complete sessions, their bodies, old event log lines.

Work goes in batches of sessions, one short transaction each, so a running production keeps
committing in between. The newest header and log line are always kept, so ids (handed out as
the highest id + 1) never repeat after a purge.
"""

from __future__ import annotations

from typing import Any

from iop.store.queries import purge_candidates_sql, purge_ids_sql

_BATCH = 2000


def purge(store: Any, before: float, *, bodies: bool, include_incomplete: bool) -> dict[str, int]:
    counts = {"sessions": 0, "headers": 0, "bodies": 0, "log": 0}
    candidates = purge_candidates_sql("?", include_incomplete)
    last = 0
    while True:
        sessions = [row[0] for row in store.conn.execute(candidates, (last, before, _BATCH))]
        if not sessions:
            break
        last = sessions[-1]
        with store.transaction() as tx:
            _purge_sessions(tx.conn, sessions, before, bodies, include_incomplete, counts)
    with store.transaction() as tx:
        counts["log"] = tx.conn.execute(
            "DELETE FROM log WHERE time < ? AND id < (SELECT MAX(id) FROM log)",
            (before,)).rowcount
    return counts


def _purge_sessions(conn: Any, sessions: list[int], before: float, bodies: bool,
                    include_incomplete: bool, counts: dict[str, int]) -> None:
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS purge_ids (id INTEGER PRIMARY KEY)")
    conn.execute("DELETE FROM purge_ids")
    marks = ",".join("?" * len(sessions))
    conn.execute("INSERT INTO purge_ids " + purge_ids_sql("?", f"IN ({marks})",
                                                          include_incomplete),
                 [*sessions, before])
    if bodies:
        typed = [row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'msg\\_%' ESCAPE '\\'")]
        for table in typed:
            conn.execute(f'DELETE FROM "{table}" WHERE body_id IN '
                         "(SELECT body_id FROM headers WHERE id IN (SELECT id FROM purge_ids))")
        counts["bodies"] += conn.execute(
            "DELETE FROM bodies WHERE id IN (SELECT body_id FROM headers "
            "WHERE id IN (SELECT id FROM purge_ids))").rowcount
    if include_incomplete:
        conn.execute("DELETE FROM queue WHERE header_id IN (SELECT id FROM purge_ids)")
    conn.execute("DELETE FROM contexts WHERE request_id IN (SELECT id FROM purge_ids)")
    counts["sessions"] += conn.execute(
        "SELECT COUNT(DISTINCT session_id) FROM headers WHERE id IN (SELECT id FROM purge_ids)"
    ).fetchone()[0]
    counts["headers"] += conn.execute(
        "DELETE FROM headers WHERE id IN (SELECT id FROM purge_ids)").rowcount


def compact(store: Any) -> bool:
    """VACUUM when a quarter or more of the file is free pages; True when it ran."""
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    free = store.conn.execute("PRAGMA freelist_count").fetchone()[0]
    if not pages or free * 4 < pages:
        return False
    with store.exclusive():
        store.conn.execute("VACUUM")
    return True

