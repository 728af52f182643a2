"""Purge for the embedded store: one batch of old complete sessions and their bodies (the
loop over batches, and the log lines, are iop.store.sql's); VACUUM when much is free.

The newest header is always kept, so ids (handed out as the highest id + 1) never repeat.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from iop.store.queries import purge_ids_sql

if TYPE_CHECKING:
    from iop.store.sqlite.store import SQLiteStore


def purge_sessions(conn: sqlite3.Connection, sessions: list[int], before: float, bodies: bool,
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


def compact(store: SQLiteStore) -> bool:
    """VACUUM when a quarter or more of the file is free pages; True when it ran."""
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    free = store.conn.execute("PRAGMA freelist_count").fetchone()[0]
    if not pages or free * 4 < pages:
        return False
    with store.exclusive():
        store.conn.execute("VACUUM")
    return True

