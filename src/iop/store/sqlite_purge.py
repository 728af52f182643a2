"""Purge for the embedded store: old complete sessions, their bodies, old event log lines.

Work goes in batches of sessions, one short transaction each, so a running production keeps
committing in between. The newest header and log line are always kept, so ids (handed out as
the highest id + 1) never repeat after a purge.
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
        sessions = [row[0] for row in store.conn.execute(
            f"SELECT session_id FROM headers WHERE session_id > ? GROUP BY session_id "
            f"HAVING MAX(created) < ? {complete} ORDER BY session_id LIMIT ?",
            (last, before, _BATCH))]
        if not sessions:
            break
        last = sessions[-1]
        with store.transaction() as tx:
            _purge_sessions(tx.conn, sessions, bodies, include_incomplete, counts)
    with store.transaction() as tx:
        counts["log"] = tx.conn.execute(
            "DELETE FROM log WHERE time < ? AND id < (SELECT MAX(id) FROM log)",
            (before,)).rowcount
    return counts


def _purge_sessions(conn: Any, sessions: list[int], bodies: bool, include_incomplete: bool,
                    counts: dict[str, int]) -> None:
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS purge_ids (id INTEGER PRIMARY KEY)")
    conn.execute("DELETE FROM purge_ids")
    marks = ",".join("?" * len(sessions))
    # Re-checked inside the write lock: a session that got a new message meanwhile stays.
    conn.execute(
        f"INSERT INTO purge_ids SELECT id FROM headers WHERE session_id IN ({marks}) "
        f"AND id < (SELECT MAX(id) FROM headers)", sessions)
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

