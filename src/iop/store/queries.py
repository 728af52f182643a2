"""Read-only searches for the operator's tools (message viewer, event log), shared by
both backends: the filters, and the SQL that applies them with keyset paging.

Pages are keyed by id, newest first: a page asks for ids below the last one it showed
(``before_id``) or above the first one (``after_id``), so paging costs the same on the
thousandth page as on the first, and new messages arriving meanwhile never shift a page.
The indexes of schema version 2 let the first page of a filtered search stop early.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from iop.store import records as r
from iop.store.conditions import Condition

# Statuses an operator looks for; a partial index holds exactly these rows, so finding the
# few errors among 100,000 completed messages needs no scan, and the common status changes
# (queued → delivered → completed) never touch that index. (PostgreSQL's index is on a
# column generated from the status, see iop.store.postgres.schema, version 3.)
TROUBLE_STATUSES = (r.ERROR, r.DISCARDED, r.SUSPENDED, r.ABORTED)
TROUBLE_SQL = "status IN ('error', 'discarded', 'suspended', 'aborted')"

MAX_PAGE = 1000

# Renders body conditions as one WHERE term and its args (see iop.store.conditions).
BodyTest = Callable[[tuple[Condition, ...]], tuple[str, list[Any]]]


@dataclass
class MessageFilter:
    """What the message viewer filters on; None (or empty) means any."""

    since: float | None = None  # created at or after (epoch seconds)
    until: float | None = None  # created before
    # An item's name, or part of one, ignoring case: a name that is exactly an item's
    # selects that item only (see resolve_names).
    source: str | None = None
    target: str | None = None
    status: str | None = None
    type: str | None = None  # request / response
    # A body class: its full name, or its short name (``Order`` for ``demo.msgs.Order``).
    body_class: str | None = None
    session_id: int | None = None
    text: str | None = None  # substring of the body's JSON text, case-insensitive
    conditions: tuple[Condition, ...] = ()  # on body fields, all must hold
    oldest_first: bool = False  # the order of the result (default: newest first)
    # Item names known besides those that have messages (the productions' items), so a
    # new item's exact name never selects the messages of items whose names contain it.
    item_names: tuple[str, ...] = ()

    def active(self) -> dict[str, Any]:
        """The filters that are set, by name."""
        found = {f.name: getattr(self, f.name) for f in fields(self)
                 if getattr(self, f.name) not in (None, "", (), False)
                 and f.name != "item_names"}
        if self.conditions:
            found["conditions"] = [str(c) for c in self.conditions]
        return found


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
          after_id: int | None, limit: int, column: str,
          oldest_first: bool = False) -> tuple[str, list[Any], bool]:
    """``select`` with the ``where`` terms and one keyset page by ``column``: (SQL, args,
    reversed). A page is read away from the id it starts next to: below ``before_id``
    newest first, above ``after_id`` oldest first, and the first page in the result's own
    order; ``reversed`` means the caller must turn the rows around to show them in the
    result's order (newest first, or oldest first when ``oldest_first``)."""
    if before_id is not None:
        where.append(f"{column} < {mark}")
        args.append(before_id)
    if after_id is not None:
        where.append(f"{column} > {mark}")
        args.append(after_id)
    if after_id is not None and before_id is None:
        ascending = True
    elif before_id is not None and after_id is None:
        ascending = False
    else:
        ascending = oldest_first
    sql = select
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {column} {'ASC' if ascending else 'DESC'} LIMIT {mark}"
    args.append(max(1, min(MAX_PAGE, limit)))
    return sql, args, ascending != oldest_first


# A partial name matching more items than this is searched with LIKE instead of a list.
_MAX_NAMES = 200


def resolve_names(text: str, known: list[str]) -> list[str] | None:
    """The item names ``text`` selects among the ``known`` ones: itself when it is one,
    else every name containing it, ignoring case; None when none or too many do (search
    the column with LIKE then). A list of names keeps the (source, id) and (target, id)
    indexes useful, where LIKE would read every header."""
    if text in known:
        return [text]
    needle = text.lower()
    found = [name for name in known if needle in name.lower()]
    return found if 0 < len(found) <= _MAX_NAMES else None


def _name_terms(column: str, text: str, known: list[str] | None, mark: str,
                like: str) -> tuple[str, list[Any]]:
    names = resolve_names(text, known) if known is not None else None
    if names is None:
        return f"h.{column} {like} {mark} ESCAPE '\\'", [like_pattern(text)]
    if len(names) == 1:
        return f"h.{column} = {mark}", names
    return f"h.{column} IN ({', '.join([mark] * len(names))})", names


def short_class_pattern(name: str) -> str:
    """LIKE pattern of the classes whose last part is ``name`` (``%.Order``)."""
    return "%." + name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def message_search_sql(f: MessageFilter, mark: str, like: str, columns: str,
                       before_id: int | None, after_id: int | None,
                       limit: int, trouble_column: bool = False,
                       body_exists: BodyTest | None = None,
                       known_items: list[str] | None = None,
                       typed: TypedTable | None = None) -> tuple[str, list[Any], bool]:
    """(SQL, args, reversed) of one page of headers; ``mark`` is the backend's placeholder,
    ``like`` its case-insensitive LIKE operator. ``reversed`` means the rows come in the
    other order than the result's and must be turned around. ``trouble_column``: the
    headers have a ``trouble`` column (the status when it is one of TROUBLE_STATUSES, else
    NULL) that the index of failed messages is on, as PostgreSQL's do. ``body_exists``
    renders the body conditions (the backend's JSON functions); ``known_items`` are the
    item names that partial source and target names are looked up in; ``typed`` the typed
    table of the body class searched, whose columns serve the conditions they can."""
    where, args = message_where(f, mark, like, trouble_column, body_exists, known_items,
                                typed)
    return _page(f"SELECT {columns} FROM headers h", where, args, mark, before_id, after_id,
                 limit, "h.id", f.oldest_first)


def message_count_sql(f: MessageFilter, mark: str, like: str, cap: int,
                      trouble_column: bool = False, body_exists: BodyTest | None = None,
                      known_items: list[str] | None = None,
                      typed: TypedTable | None = None) -> tuple[str, list[Any]]:
    """(SQL, args) counting the headers matching ``f``, up to ``cap`` (a count that reaches
    it means "at least"), so counting never reads more rows than that."""
    where, args = message_where(f, mark, like, trouble_column, body_exists, known_items,
                                typed)
    sql = "SELECT 1 FROM headers h"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return f"SELECT COUNT(*) FROM ({sql} LIMIT {mark}) matched", [*args, cap]


def message_where(f: MessageFilter, mark: str, like: str, trouble_column: bool,
                  body_exists: BodyTest | None, known_items: list[str] | None,
                  typed: TypedTable | None = None) -> tuple[list[str], list[Any]]:
    """WHERE terms and args of the headers matching ``f`` (see message_search_sql)."""
    where: list[str] = []
    args: list[Any] = []
    trouble = f.status in TROUBLE_STATUSES
    status_column = "trouble" if trouble and trouble_column else "status"
    for column, value in (("type", f.type), ("session_id", f.session_id),
                          (status_column, f.status)):
        if value not in (None, ""):
            where.append(f"h.{column} = {mark}")
            args.append(value)
    for column, text in (("source", f.source), ("target", f.target)):
        if text:
            term, values = _name_terms(column, text, known_items, mark, like)
            where.append(term)
            args += values
    if f.body_class:
        if "." in f.body_class:
            where.append(f"h.body_class = {mark}")
            args.append(f.body_class)
        else:
            where.append(f"(h.body_class = {mark} OR h.body_class {like} {mark} "
                         "ESCAPE '\\')")
            args += [f.body_class, short_class_pattern(f.body_class)]
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
    rest = f.conditions
    if rest and typed is not None:
        term, values, rest = _typed_terms(f.conditions, typed, mark, like)
        if term:
            where.append(term)
            args += values
    if rest:
        if body_exists is None:
            raise ValueError("this search needs the backend's body test for its conditions")
        term, values = body_exists(rest)
        where.append(term)
        args += values
    return where, args


@dataclass
class TypedTable:
    """A PersistentMessage class's typed table: its name and its columns' kinds
    ("number" or "string"), as the store's catalog gives them."""

    table: str
    columns: dict[str, str]


def _typed_terms(conditions: tuple[Condition, ...], typed: TypedTable, mark: str,
                 like: str) -> tuple[str, list[Any], tuple[Condition, ...]]:
    """An EXISTS term testing, on the typed table's columns, the conditions on a declared
    field whose value has the column's kind; the others are left (for the JSON test).
    Table and column names come from the catalog, never from the condition's text."""
    terms: list[str] = []
    args: list[Any] = []
    rest: list[Condition] = []
    for c in conditions:
        column = c.path[0] if len(c.path) == 1 else None
        kind = typed.columns.get(column) if isinstance(column, str) else None
        value = c.value
        numeric = isinstance(value, (int, float))  # booleans are stored as 0 / 1
        if kind is None or value is None or (kind == "number") != numeric or \
                (c.op == "contains" and kind != "string"):
            rest.append(c)
            continue
        if c.op == "contains":
            terms.append(f"t.\"{column}\" {like} {mark} ESCAPE '\\'")
            args.append(like_pattern(str(value)))
        else:
            terms.append(f't."{column}" {c.op} {mark}')
            args.append(int(value) if isinstance(value, bool) else value)
    if not terms:
        return "", [], tuple(rest)
    return (f'EXISTS (SELECT 1 FROM "{typed.table}" t WHERE t.body_id = h.body_id AND '
            f'{" AND ".join(terms)})'), args, tuple(rest)


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
