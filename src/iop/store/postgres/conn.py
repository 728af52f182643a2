"""Connections to the PostgreSQL store: opening them, naming them without secrets, lock keys."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlencode, urlsplit

import psycopg
from psycopg import sql

from iop.errors import StoreError, StoreUnavailable

# Server-side keepalives (seconds) for connections whose death must free a lock quickly:
# a host that vanishes without closing its socket loses its advisory locks after ~11 s.
_KEEPALIVE = {"tcp_keepalives_idle": 5, "tcp_keepalives_interval": 2, "tcp_keepalives_count": 3}


def redact(url: str) -> str:
    """``url`` without its password (in the authority part or as a query parameter)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}@{hostport}" if user else hostport
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if k.lower() != "password"])
    # Built by hand: urlunsplit would turn "postgresql:///db" (no host) into "postgresql:/db".
    return (f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")
            + (f"#{parts.fragment}" if parts.fragment else ""))


def connect(url: str, schema: str, *, keepalive: bool = False) -> psycopg.Connection:
    """An autocommit connection whose search path is the namespace's schema."""
    try:
        conn = psycopg.connect(url, autocommit=True, application_name="iop",
                               keepalives=1, keepalives_idle=5, keepalives_interval=2,
                               keepalives_count=3)
    except psycopg.Error as exc:
        kind = StoreError if _refused_for_good(exc) else StoreUnavailable
        raise kind(f"cannot connect to the store {redact(url)}: {first_line(exc)}") from exc
    settings: list[sql.SQL | sql.Composed] = [
        sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)),
        # The queue is often vacuumed while (nearly) empty, which leaves statistics saying
        # it holds no rows. A burst then finds the planner sure that a claim matches a
        # handful of entries, and it picks a bitmap scan plus a sort of all the item's
        # entries over the index scan that stops after the few it needs. No statement of
        # the engine needs a bitmap scan to be fast.
        sql.SQL("SET enable_bitmapscan = off")]
    if keepalive:
        settings += [sql.SQL("SET {} = {}").format(sql.Identifier(k), sql.Literal(v))
                     for k, v in _KEEPALIVE.items()]
    # A session can end before these run (a server shutdown that began just after it
    # connected): that is an outage like any other, said as one, and the half-made
    # connection is closed, never handed out.
    try:
        for statement in settings:
            conn.execute(statement)
    except psycopg.Error as exc:
        kind = StoreUnavailable if is_outage(exc, conn) else StoreError
        conn.close()
        raise kind(f"store {redact(url)} (schema {schema}): {first_line(exc)}") from exc
    return conn


def first_line(exc: BaseException) -> str:
    """The first line of an error's text (psycopg's carry the server's detail below it)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# SQLSTATE classes of a connection refused for good: credentials (28), no such database (3D),
# a bad connection option (42). Anything else that fails a connect (refused, reset, the
# server starting up or shutting down, no route) may pass: an outage.
_REFUSED_FOR_GOOD = ("28", "3D", "42")


# What the server says when it refuses a connection for good; a failed connect carries no
# SQLSTATE (psycopg sums up its attempts in one message), only the server's words.
_REFUSALS = ("password authentication failed", "no pg_hba.conf entry", "does not exist",
             "authentication failed", "invalid connection option", "invalid dsn",
             "permission denied", "must be superuser")


def _refused_for_good(exc: psycopg.Error) -> bool:
    if isinstance(exc, psycopg.ProgrammingError):  # a malformed URL or option
        return True
    state = exc.sqlstate or ""
    if state:
        return state[:2] in _REFUSED_FOR_GOOD
    text = str(exc).lower()
    return any(refusal in text for refusal in _REFUSALS)


def is_outage(exc: psycopg.Error, conn: psycopg.Connection | None = None) -> bool:
    """Whether ``exc`` is a lost or refused connection (a restart, failover, network blip,
    an administrator's termination, the server out of resources), not a fault of the
    statement: operational errors, a closed connection, or any error on one that broke."""
    if conn is not None and (conn.broken or conn.closed):
        return True
    if isinstance(exc, psycopg.InterfaceError):  # "the connection is closed"
        return True
    if isinstance(exc, psycopg.OperationalError):
        return not _refused_for_good(exc)
    return False


def lock_key(*parts: str) -> int:
    """A signed 32-bit advisory lock key derived from ``parts`` (stable across hosts)."""
    digest = hashlib.sha1("\0".join(parts).encode()).digest()
    return int.from_bytes(digest[:4], "big", signed=True)
