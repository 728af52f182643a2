"""Read-only searches for the operator's tools (message viewer, event log), shared by
both backends: the filters, and the SQL that applies them with keyset paging.

Pages are keyed by id, newest first: a page asks for ids below the last one it showed
(``before_id``) or above the first one (``after_id``), so paging costs the same on the
thousandth page as on the first, and new messages arriving meanwhile never shift a page.
The indexes of schema version 2 let the first page of a filtered search stop early.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from iop.store import records as r

# Statuses an operator looks for; a partial index holds exactly these rows, so finding the
# few errors among 100,000 completed messages needs no scan, and the common status changes
# (queued → delivered → completed) never touch that index. (PostgreSQL's index is on a
# column generated from the status, see iop.store.postgres.schema, version 3.)
TROUBLE_STATUSES = (r.ERROR, r.DISCARDED, r.SUSPENDED, r.ABORTED)
TROUBLE_SQL = "status IN ('error', 'discarded', 'suspended', 'aborted')"

MAX_PAGE = 1000


@dataclass
class MessageFilter:
    """What the message viewer filters on; None (or empty) means any."""

    since: float | None = None  # created at or after (epoch seconds)
    until: float | None = None  # created before
    source: str | None = None
    target: str | None = None
    status: str | None = None
    type: str | None = None  # request / response
    body_class: str | None = None
    session_id: int | None = None
    text: str | None = None  # substring of the body's JSON text, case-insensitive

    def active(self) -> dict[str, Any]:
        """The filters that are set, by name."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if getattr(self, f.name) not in (None, "")}


@dataclass
class LogFilter:
    """What the event log filters on; None (or empty) means any."""

    type: str | None = None  # info, warning, error, alert, trace, assert
    item: str | None = None
    session_id: int | None = None
    text: str | None = None  # substring of the text, case-insensitive


def like_pattern(text: str) -> str:
    """``%text%`` with LIKE's wildcards in ``text`` taken literally (escape character ``\\``)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _page(select: str, where: list[str], args: list[Any], mark: str, before_id: int | None,
          after_id: int | None, limit: int, column: str) -> tuple[str, list[Any], bool]:
    """``select`` with the ``where`` terms and one keyset page by ``column``: (SQL, args,
    reversed). A page after a known id is read oldest first (so it starts next to that id)
    and must be turned back to newest first by the caller (``reversed``)."""
    if before_id is not None:
        where.append(f"{column} < {mark}")
        args.append(before_id)
    if after_id is not None:
        where.append(f"{column} > {mark}")
        args.append(after_id)
    order = "ASC" if after_id is not None and before_id is None else "DESC"
    sql = select
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {column} {order} LIMIT {mark}"
    args.append(max(1, min(MAX_PAGE, limit)))
    return sql, args, order == "ASC"


def message_search_sql(f: MessageFilter, mark: str, like: str, columns: str,
                       before_id: int | None, after_id: int | None,
                       limit: int, trouble_column: bool = False) -> tuple[str, list[Any], bool]:
    """(SQL, args, reversed) of one page of headers; ``mark`` is the backend's placeholder,
    ``like`` its case-insensitive LIKE operator. ``reversed`` means the rows come oldest
    first and must be turned around. ``trouble_column``: the headers have a ``trouble``
    column (the status when it is one of TROUBLE_STATUSES, else NULL) that the index of
    failed messages is on, as PostgreSQL's do."""
    where: list[str] = []
    args: list[Any] = []
    trouble = f.status in TROUBLE_STATUSES
    status_column = "trouble" if trouble and trouble_column else "status"
    for column, value in (("source", f.source), ("target", f.target), ("type", f.type),
                          ("body_class", f.body_class), ("session_id", f.session_id),
                          (status_column, f.status)):
        if value not in (None, ""):
            where.append(f"h.{column} = {mark}")
            args.append(value)
    if trouble and not trouble_column:
        where.append("h." + TROUBLE_SQL)  # the partial index's own condition, word for word
    if f.since is not None:
        where.append(f"h.created >= {mark}")
        args.append(f.since)
    if f.until is not None:
        where.append(f"h.created < {mark}")
        args.append(f.until)
    if f.text:
        where.append(f"EXISTS (SELECT 1 FROM bodies b WHERE b.id = h.body_id "
                     f"AND b.data {like} {mark} ESCAPE '\\')")
        args.append(like_pattern(f.text))
    return _page(f"SELECT {columns} FROM headers h", where, args, mark, before_id, after_id,
                 limit, "h.id")


def log_search_sql(f: LogFilter, mark: str, like: str, columns: str,
                   before_id: int | None, after_id: int | None,
                   limit: int) -> tuple[str, list[Any], bool]:
    """(SQL, args, reversed) of one page of event log entries, as for messages."""
    where: list[str] = []
    args: list[Any] = []
    for column, value in (("type", f.type.lower() if f.type else None), ("item", f.item),
                          ("session_id", f.session_id)):
        if value not in (None, ""):
            where.append(f"{column} = {mark}")
            args.append(value)
    if f.text:
        where.append(f"text {like} {mark} ESCAPE '\\'")
        args.append(like_pattern(f.text))
    return _page(f"SELECT {columns} FROM log", where, args, mark, before_id, after_id, limit,
                 "id")


def _header_filters(mark: str, **equal: Any) -> tuple[list[str], list[Any]]:
    """WHERE terms and args for the header columns given a value (None: no filter)."""
    where: list[str] = []
    args: list[Any] = []
    for column, value in equal.items():
        if value is not None:
            where.append(f"{column} = {mark}")
            args.append(value)
    return where, args


def header_count_sql(mark: str, *, session_id: int | None, status: str | None,
                     target: str | None, source: str | None, type: str | None
                     ) -> tuple[str, list[Any]]:
    """(SQL, args) of ``Store.count_by_status``: (status, count) rows of the matching headers."""
    where, args = _header_filters(mark, session_id=session_id, status=status, target=target,
                                  source=source, type=type)
    sql = "SELECT status, COUNT(*) FROM headers"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return sql + " GROUP BY status", args


def header_list_sql(mark: str, columns: str, *, session_id: int | None, status: str | None,
                    target: str | None, source: str | None, type: str | None,
                    before_id: int | None, limit: int, oldest_first: bool
                    ) -> tuple[str, list[Any]]:
    """(SQL, args) of ``Store.query_headers``: equality filters, ids below ``before_id``,
    newest first unless ``oldest_first``; ``limit`` <= 0 means no limit."""
    where, args = _header_filters(mark, session_id=session_id, status=status, target=target,
                                  source=source, type=type)
    if before_id is not None:
        where.append(f"id < {mark}")
        args.append(before_id)
    sql = f"SELECT {columns} FROM headers"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY id {'ASC' if oldest_first else 'DESC'}"
    if limit and limit > 0:
        sql += f" LIMIT {mark}"
        args.append(limit)
    return sql, args


# Final statuses: a session all of whose messages have one of these is complete.
_FINAL_SQL = "('completed', 'error', 'discarded', 'aborted')"


def _purgeable(mark: str, include_incomplete: bool) -> str:
    complete = "" if include_incomplete else \
        f" AND SUM(CASE WHEN status NOT IN {_FINAL_SQL} THEN 1 ELSE 0 END) = 0"
    return f"GROUP BY session_id HAVING MAX(created) < {mark}{complete}"


def purge_candidates_sql(mark: str, include_incomplete: bool) -> str:
    """The next batch of sessions a purge may delete: after a session id, newest message
    before a time, complete unless ``include_incomplete``; args (after, before, limit)."""
    return (f"SELECT session_id FROM headers WHERE session_id > {mark} "
            f"{_purgeable(mark, include_incomplete)} ORDER BY session_id LIMIT {mark}")


def purge_preview_sql(mark: str, include_incomplete: bool) -> str:
    """(sessions, messages) a purge would delete now, by the rules of purge_ids_sql over
    every session; args (before,)."""
    return (f"SELECT COUNT(DISTINCT session_id), COUNT(*) FROM headers WHERE session_id IN "
            f"(SELECT session_id FROM headers {_purgeable(mark, include_incomplete)}) "
            f"AND id < (SELECT MAX(id) FROM headers)")


def purge_ids_sql(mark: str, sessions: str, include_incomplete: bool) -> str:
    """Ids of the messages to delete among the candidate ``sessions`` (an SQL expression such
    as ``IN (?, ?)``), checked again inside the deleting transaction, so a session that got a
    new message meanwhile stays; the newest message is always kept. Args: (sessions..., before)."""
    return (f"SELECT id FROM headers WHERE session_id IN (SELECT session_id FROM headers "
            f"WHERE session_id {sessions} {_purgeable(mark, include_incomplete)}) "
            f"AND id < (SELECT MAX(id) FROM headers)")
