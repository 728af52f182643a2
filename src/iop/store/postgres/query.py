"""The operator's searches on the PostgreSQL store (message viewer, event log, queues)."""

from __future__ import annotations

import json
from typing import Any

from iop.store import queries as q
from iop.store import records as r
from iop.store.postgres.tx import HEADER_COLUMNS_H, header

_LOG_COLUMNS = ("type, text, item, job, session_id, message_id, source_class, source_method, "
                "time, id")


class PostgresQueries:
    """Read-only searches of PostgresStore, through its ``_query`` (errors become StoreError)."""

    def _query(self, query: Any, params: Any = None) -> list[tuple[Any, ...]]:
        raise NotImplementedError  # provided by PostgresStore

    def search_messages(self, f: q.MessageFilter, *, before_id: int | None = None,
                        after_id: int | None = None, limit: int = 50) -> list[r.Header]:
        """One page of headers matching ``f``, newest first (see iop.store.queries)."""
        sql, args, turn = q.message_search_sql(f, "%s", "ILIKE", HEADER_COLUMNS_H,
                                               before_id, after_id, limit,
                                               trouble_column=True)
        rows = [header(row) for row in self._query(sql, args)]
        return rows[::-1] if turn else rows

    def search_log(self, f: q.LogFilter, *, before_id: int | None = None,
                   after_id: int | None = None, limit: int = 100) -> list[r.LogEntry]:
        """One page of event log entries matching ``f``, newest first."""
        sql, args, turn = q.log_search_sql(f, "%s", "ILIKE", _LOG_COLUMNS, before_id,
                                           after_id, limit)
        rows = [r.LogEntry(*row) for row in self._query(sql, args)]
        return rows[::-1] if turn else rows

    def recent_body_classes(self, scan: int = 5000) -> list[str]:
        """Body classes among the newest ``scan`` messages (choices for a filter)."""
        return [row[0] for row in self._query(
            "SELECT DISTINCT body_class FROM (SELECT body_class FROM headers ORDER BY id DESC "
            "LIMIT %s) recent WHERE body_class IS NOT NULL ORDER BY 1", (scan,))]

    def get_applied(self, name: str) -> dict[str, Any] | None:
        """The definition the production's running supervisor last applied, if any."""
        rows = self._query("SELECT applied FROM productions WHERE name = %s", (name,))
        return json.loads(rows[0][0]) if rows and rows[0][0] else None
