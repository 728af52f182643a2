"""One DB-API layer over PostgreSQL (psycopg 3), MariaDB/MySQL (PyMySQL) and SQLite, chosen
by a DSN (``postgresql://user@host:5432/db``, ``mysql://`` or ``mariadb://user@host:3306/db``,
``sqlite:///path/file.db``).

Statements are written with ``?`` parameters, as in IRIS, and converted to the driver's own
style. Errors become one-line ``ConnectorError`` messages naming the database (user, host,
port and name; never a password). ``SqlConnection`` tells a connection found dead (the
server restarted, the socket was cut) from an error of the statement, so that its owner can
reopen it and try again when that is safe.
"""

from __future__ import annotations

import datetime
import decimal
import sqlite3
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from iop.connectors.errors import require
from iop.errors import ConnectorError

__all__ = ["ConnectionLost", "Dsn", "SqlConnection", "connect", "convert_parameters",
           "parse_dsn", "plain_value"]

_KINDS = {"postgresql": "postgresql", "postgres": "postgresql", "mysql": "mysql",
          "mariadb": "mysql", "sqlite": "sqlite"}
_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}
# The longest text of a driver's error kept in a message (its first line only).
_CAUSE_CHARS = 300


class ConnectionLost(ConnectorError):
    """The connection to the database was found dead (server restarted, socket cut)."""


@dataclass(frozen=True)
class Dsn:
    """A parsed DSN; ``shown`` is what logs and errors print (no password)."""

    kind: str  # "postgresql", "mysql" or "sqlite"
    host: str = ""
    port: int = 0
    database: str = ""
    user: str = ""
    password: str = field(default="", repr=False)
    path: str = ""  # sqlite
    options: tuple[tuple[str, str], ...] = ()

    @property
    def shown(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite://{self.path}"
        user = f"{self.user}@" if self.user else ""
        return f"{self.kind}://{user}{self.host}:{self.port}/{self.database}"


def parse_dsn(text: str) -> Dsn:
    """Parse a DSN setting; ConnectorError for one this layer cannot use."""
    text = (text or "").strip()
    if not text:
        raise ConnectorError("SQL: the DSN setting is empty (e.g. postgresql://user@host:5432/db)")
    scheme, sep, _ = text.partition("://")
    kind = _KINDS.get(scheme.lower()) if sep else None
    if kind is None:
        shown = scheme if sep else text.split("@")[-1][:60]
        raise ConnectorError(f"SQL: DSN {shown}...: unknown database kind; use postgresql://, "
                             "mysql://, mariadb:// or sqlite:///path")
    url = urllib.parse.urlsplit(text)
    if kind == "sqlite":
        # sqlite:///abs/file.db and sqlite:////abs/file.db both name /abs/file.db;
        # sqlite://dir/file.db (a missing slash) is taken as /dir/file.db too.
        path = "/" + (url.netloc + urllib.parse.unquote(url.path)).lstrip("/")
        if not path or path == "/":
            raise ConnectorError("SQL: DSN sqlite:// names no file (sqlite:///path/file.db)")
        return Dsn("sqlite", path=path)
    try:
        port = url.port or _DEFAULT_PORTS[kind]
    except ValueError as exc:
        raise ConnectorError(f"SQL: DSN {kind}://{url.hostname}: bad port ({exc})") from None
    options = tuple(urllib.parse.parse_qsl(url.query))
    return Dsn(kind, host=url.hostname or "127.0.0.1", port=port,
               database=urllib.parse.unquote(url.path.lstrip("/")),
               user=urllib.parse.unquote(url.username or ""),
               password=urllib.parse.unquote(url.password or ""), options=options)


def convert_parameters(sql: str, style: str, backslash_escapes: bool = False) -> str:
    """``sql`` with its ``?`` parameters (outside quotes and comments) in the driver's style:
    ``qmark`` leaves it; ``format`` writes ``%s`` and doubles every literal ``%``.
    ``backslash_escapes``: a backslash escapes the next character in a quoted string
    (MySQL's default; standard SQL, as PostgreSQL has it, knows only doubled quotes)."""
    if style == "qmark":
        return sql
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in ("'", '"', "`"):
            end = i + 1
            while end < n:
                if sql[end] == ch:
                    if end + 1 < n and sql[end + 1] == ch:  # doubled quote inside
                        end += 2
                        continue
                    break
                if sql[end] == "\\" and backslash_escapes and end + 1 < n:
                    end += 2
                    continue
                end += 1
            out.append(sql[i:end + 1].replace("%", "%%"))
            i = end + 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif ch == "?":
            out.append("%s")
            i += 1
        elif ch == "%":
            out.append("%%")
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def plain_value(value: Any) -> Any:
    """A column value as JSON can carry it: numbers, text, None and booleans as they are;
    decimals as text (exact), dates and times in ISO 8601, bytes in hexadecimal."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return str(value)


def _first_line(exc: BaseException) -> str:
    args = exc.args
    if len(args) == 2 and isinstance(args[0], int):  # PyMySQL: (code, message)
        text = f"{args[1]} (error {args[0]})"
    else:
        text = str(exc)
    text = " ".join(text.split("\n")[0].split()) or type(exc).__name__
    return text[:_CAUSE_CHARS]


class SqlConnection:
    """One open connection: ``execute`` runs a statement and returns its columns, rows and
    row count; errors come out as ConnectorError (ConnectionLost when the link is dead)."""

    def __init__(self, dsn: Dsn, raw: Any, driver: Any) -> None:
        self.dsn = dsn
        self._raw = raw
        self._driver = driver
        self.in_transaction = False
        # Statements run in the open transaction: none yet means nothing is lost with the
        # connection, so the transaction can begin again on a new one.
        self.statements_in_transaction = 0

    @property
    def style(self) -> str:
        return "qmark" if self.dsn.kind == "sqlite" else "format"

    def execute(self, sql: str, params: tuple[Any, ...] = (), *, fetch: bool = True,
                max_rows: int = 0) -> tuple[list[str], list[tuple[Any, ...]], int]:
        """Run ``sql`` with ``params``; (column names, rows, rows affected). Outside a
        transaction the statement is committed at once."""
        statement = convert_parameters(sql, self.style, self.dsn.kind == "mysql")
        try:
            cursor = self._raw.cursor()
            try:
                cursor.execute(statement, tuple(params))
                columns = [d[0] for d in cursor.description] if cursor.description else []
                rows: list[tuple[Any, ...]] = []
                if columns and fetch:
                    rows = list(cursor.fetchmany(max_rows) if max_rows > 0 else cursor.fetchall())
                count = cursor.rowcount if cursor.rowcount is not None else -1
            finally:
                try:
                    cursor.close()
                except Exception:  # a dead connection's cursor may fail to close
                    pass
            if self.in_transaction:
                self.statements_in_transaction += 1
            else:
                self._raw.commit()
            return columns, rows, count
        except Exception as exc:
            raise self._error(exc, sql) from None

    def call(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[list[str], list[tuple[Any, ...]], int]:
        """A stored procedure call (``CALL p(?)`` or ``{call p(?)}``), run as a statement."""
        text = sql.strip()
        if text.startswith("{") and text.endswith("}"):
            text = text[1:-1].strip()
            if text.startswith("?") and "=" in text:  # {?= call f(?)}: a function's value
                text = "SELECT " + text.split("=", 1)[1].strip()[len("call"):].strip()
        return self.execute(text, params)

    def begin(self) -> None:
        if self.in_transaction:
            return
        try:
            if self.dsn.kind == "sqlite":
                self._raw.execute("BEGIN")
            elif self.dsn.kind == "mysql":
                self._raw.begin()
            # psycopg (autocommit off) opens a transaction with the first statement.
        except Exception as exc:
            raise self._error(exc, "BEGIN") from None
        self.in_transaction = True
        self.statements_in_transaction = 0

    def commit(self) -> None:
        try:
            self._raw.commit()
        except Exception as exc:
            raise self._error(exc, "COMMIT") from None
        finally:
            self.in_transaction = False

    def rollback(self) -> None:
        try:
            self._raw.rollback()
        except Exception as exc:
            raise self._error(exc, "ROLLBACK") from None
        finally:
            self.in_transaction = False

    def ping(self) -> bool:
        """Whether the connection still answers."""
        try:
            self.execute("SELECT 1")
            return True
        except ConnectorError:
            return False

    def close(self) -> None:
        try:
            self._raw.close()
        except Exception:  # closing a dead link fails; it is gone either way
            pass

    def _error(self, exc: BaseException, sql: str) -> ConnectorError:
        """The driver's error as one line; ConnectionLost when the connection is dead."""
        lost = self._is_lost(exc)
        if not lost and not self.in_transaction:
            try:  # leave the connection usable for the next statement
                self._raw.rollback()
            except Exception:
                lost = True
        where = f"SQL {self.dsn.shown}"
        if lost:
            return ConnectionLost(f"{where}: connection lost ({_first_line(exc)})")
        statement = " ".join(sql.split())
        statement = statement if len(statement) <= 120 else statement[:117] + "..."
        return ConnectorError(f"{where}: {_first_line(exc)} [in: {statement}]")

    def _is_lost(self, exc: BaseException) -> bool:
        kind = self.dsn.kind
        if kind == "postgresql":
            if getattr(self._raw, "closed", False) or getattr(self._raw, "broken", False):
                return True
            psycopg = self._driver
            return isinstance(exc, psycopg.OperationalError) and \
                getattr(exc, "sqlstate", None) in (None, "57P01", "57P02", "57P03", "08006",
                                                    "08003", "08000")
        if kind == "mysql":
            pymysql = self._driver
            if isinstance(exc, pymysql.err.InterfaceError):
                return True
            code = exc.args[0] if exc.args else None
            return isinstance(exc, pymysql.err.OperationalError) and \
                code in (2006, 2013, 2003, 2055, 4031, 1927)
        return False


def connect(dsn: Dsn, *, user: str = "", password: str = "", timeout: float = 10,
            attributes: dict[str, str] | None = None) -> SqlConnection:
    """Open a connection; ConnectorError naming the database and the cause when it fails.
    ``user`` and ``password`` (from Credentials) win over the DSN's."""
    user = user or dsn.user
    password = password or dsn.password
    attributes = {**dict(dsn.options), **(attributes or {})}
    timeout_s = max(1, int(round(timeout))) if timeout else 10
    try:
        if dsn.kind == "sqlite":
            lite = sqlite3.connect(dsn.path, timeout=timeout_s, isolation_level=None,
                                   check_same_thread=False)
            # isolation_level None: autocommit; begin() opens transactions explicitly.
            return _SqliteConnection(dsn, lite, sqlite3)
        if dsn.kind == "postgresql":
            import psycopg  # a core dependency of iop-engine

            kwargs: dict[str, Any] = {"host": dsn.host, "port": dsn.port,
                                      "dbname": dsn.database, "connect_timeout": timeout_s}
            if user:
                kwargs["user"] = user
            if password:
                kwargs["password"] = password
            kwargs.update(attributes)
            return SqlConnection(dsn, psycopg.connect(**kwargs), psycopg)
        pymysql = require("pymysql", "mysql")
        kwargs = {"host": dsn.host, "port": dsn.port, "database": dsn.database or None,
                  "connect_timeout": timeout_s, "autocommit": False, "charset": "utf8mb4"}
        if user:
            kwargs["user"] = user
        if password:
            kwargs["password"] = password
        kwargs.update(attributes)
        return SqlConnection(dsn, pymysql.connect(**kwargs), pymysql)  # type: ignore[attr-defined]
    except ConnectorError:
        raise
    except Exception as exc:
        raise ConnectorError(f"SQL {dsn.shown}: cannot connect: {_first_line(exc)}") from None


class _SqliteConnection(SqlConnection):
    """SQLite in autocommit mode: a transaction is an explicit BEGIN ... COMMIT."""

    def execute(self, sql: str, params: tuple[Any, ...] = (), *, fetch: bool = True,
                max_rows: int = 0) -> tuple[list[str], list[tuple[Any, ...]], int]:
        try:
            cursor = self._raw.execute(sql, tuple(params))
            columns = [d[0] for d in cursor.description] if cursor.description else []
            rows: list[tuple[Any, ...]] = []
            if columns and fetch:
                rows = list(cursor.fetchmany(max_rows) if max_rows > 0 else cursor.fetchall())
            count = cursor.rowcount
            cursor.close()
            if self.in_transaction:
                self.statements_in_transaction += 1
            return columns, rows, count
        except Exception as exc:
            raise self._error(exc, sql) from None

    def commit(self) -> None:
        if not self.in_transaction:
            return
        try:
            self._raw.execute("COMMIT")
        except Exception as exc:
            raise self._error(exc, "COMMIT") from None
        finally:
            self.in_transaction = False

    def rollback(self) -> None:
        if not self.in_transaction:
            return
        try:
            self._raw.execute("ROLLBACK")
        except Exception as exc:
            raise self._error(exc, "ROLLBACK") from None
        finally:
            self.in_transaction = False

    def _error(self, exc: BaseException, sql: str) -> ConnectorError:
        statement = " ".join(sql.split())
        statement = statement if len(statement) <= 120 else statement[:117] + "..."
        return ConnectorError(f"SQL {self.dsn.shown}: {_first_line(exc)} [in: {statement}]")
