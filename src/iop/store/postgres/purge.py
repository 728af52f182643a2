"""Purge for the PostgreSQL store: one batch of old complete sessions and their bodies (the
loop over batches, and the log lines, are iop.store.sql's).

Ids come from sequences and never repeat. Space is given back by autovacuum.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iop.store.queries import purge_ids_sql

if TYPE_CHECKING:
    from iop.store.postgres.tx import PostgresTx


def purge_sessions(tx: PostgresTx, sessions: list[int], before: float, bodies: bool,
                   include_incomplete: bool, counts: dict[str, int]) -> None:
    ids = [row[0] for row in tx.execute(purge_ids_sql("%s", "= ANY(%s)", include_incomplete),
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
    counted = tx.execute("SELECT COUNT(DISTINCT session_id) FROM headers WHERE id = ANY(%s)",
                         (ids,)).fetchone()
    assert counted is not None  # an aggregate has one row
    counts["sessions"] += counted[0]
    counts["headers"] += tx.execute("DELETE FROM headers WHERE id = ANY(%s)",
                                    (ids,)).rowcount
