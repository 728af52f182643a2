"""The operator's searches on the SQLite store (message viewer, event log, queues)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from iop.store import queries as q
from iop.store import records as r

_HEADER_COLUMNS_H = (
    "h.id, h.session_id, h.corresponding_id, h.source, h.target, h.body_class, h.body_id, "
    "h.type, h.priority, h.status, h.error, h.created, h.processed, h.attempts, h.reply_to, "
    "h.response_required, h.context_id, h.completion_key, h.description"
)
_LOG_COLUMNS = ("type, text, item, job, session_id, message_id, source_class, source_method, "
                "time, id")


class SQLiteQueries:
    """Read-only searches of SQLiteStore; each reads with this thread's connection."""

    @property
    def conn(self) -> sqlite3.Connection:
        raise NotImplementedError  # SQLiteStore's per-thread connection

    def search_messages(self, f: q.MessageFilter, *, before_id: int | None = None,
                        after_id: int | None = None, limit: int = 50) -> list[r.Header]:
        """One page of headers matching ``f``, newest first (see iop.store.queries)."""
        sql, args, turn = q.message_search_sql(f, "?", "LIKE", _HEADER_COLUMNS_H,
                                               before_id, after_id, limit)
        rows = [_header(row) for row in self.conn.execute(sql, args)]
        return rows[::-1] if turn else rows

    def search_log(self, f: q.LogFilter, *, before_id: int | None = None,
                   after_id: int | None = None, limit: int = 100) -> list[r.LogEntry]:
        """One page of event log entries matching ``f``, newest first."""
        sql, args, turn = q.log_search_sql(f, "?", "LIKE", _LOG_COLUMNS, before_id, after_id,
                                           limit)
        rows = [r.LogEntry(*row) for row in self.conn.execute(sql, args)]
        return rows[::-1] if turn else rows

    def recent_body_classes(self, scan: int = 5000) -> list[str]:
        """Body classes among the newest ``scan`` messages (choices for a filter)."""
        return [row[0] for row in self.conn.execute(
            "SELECT DISTINCT body_class FROM (SELECT body_class FROM headers ORDER BY id DESC "
            "LIMIT ?) WHERE body_class IS NOT NULL ORDER BY 1", (scan,))]

    def get_applied(self, name: str) -> dict[str, Any] | None:
        """The definition the production's running supervisor last applied, if any."""
        row = self.conn.execute("SELECT applied FROM productions WHERE name = ?",
                                (name,)).fetchone()
        return json.loads(row[0]) if row and row[0] else None


def _header(row: tuple[Any, ...]) -> r.Header:
    h = r.Header(*row)
    h.response_required = bool(h.response_required)
    return h
