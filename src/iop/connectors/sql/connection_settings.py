"""What both SQL adapters share (IRIS's ``EnsLib.SQL.Common``): the DSN, Credentials,
StayConnected, ConnectTimeout and ConnectAttrs settings and one reused connection that is
reopened once when the server is found to have dropped it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from iop.components.settings import Category, controls, setting
from iop.connectors.credentials import credentials_for, credentials_setting
from iop.connectors.sql.dbapi import ConnectionLost, SqlConnection, connect, parse_dsn

__all__ = ["SqlConnectionSettings"]

T = TypeVar("T")


def parse_connect_attrs(text: str) -> dict[str, str]:
    """``attr:val,attr:val`` (IRIS's ODBC form) or ``attr=val;attr=val`` (its JDBC form)."""
    found: dict[str, str] = {}
    text = (text or "").strip()
    if not text:
        return found
    pairs = text.split(";") if "=" in text and ":" not in text else text.split(",")
    for pair in pairs:
        name, sep, value = pair.partition("=" if "=" in pair and ":" not in pair else ":")
        if sep and name.strip():
            found[name.strip()] = value.strip()
    return found


class SqlConnectionSettings:
    """Mixin of the SQL adapters: their connection settings and the connection itself."""

    DSN = setting("", category=Category.BASIC, required=True,
                  description="The database: postgresql://user@host:5432/db, "
                              "mysql://user@host:3306/db (or mariadb://), sqlite:///path/file.db; "
                              "the password comes from Credentials")
    Credentials = credentials_setting()
    Credentials.control = controls.credentials()
    StayConnected = setting(-1.0, category=Category.CONNECTION,
                            description="Seconds to keep the connection open when idle; "
                                        "-1: always (reused), 0: closed after each use")
    StayConnected.python_type = "float"
    ConnectTimeout = setting(5.0, category=Category.CONNECTION,
                             description="Seconds to wait for each connection attempt")
    ConnectTimeout.python_type = "float"
    ConnectAttrs = setting("", category=Category.CONNECTION,
                           description="Connection options for the driver, "
                                       "attr:val,attr:val (e.g. sslmode:require)")

    _sql_connection: SqlConnection | None = None
    _sql_last_used: float = 0.0

    # -- connection ---------------------------------------------------------------
    @property
    def Connected(self) -> bool:  # noqa: N802 - IRIS's property
        return self._sql_connection is not None

    def Connect(self) -> None:  # noqa: N802
        self._connection()

    def Disconnect(self) -> None:  # noqa: N802
        connection, self._sql_connection = self._sql_connection, None
        if connection is not None:
            connection.close()

    connect = Connect
    disconnect = Disconnect

    def _connection(self) -> SqlConnection:
        """The open connection, made when there is none (or it idled past StayConnected)."""
        connection = self._sql_connection
        stay = float(self.StayConnected if self.StayConnected is not None else -1)
        if connection is not None and stay > 0 and not connection.in_transaction and \
                time.monotonic() - self._sql_last_used > stay:
            self.Disconnect()
            connection = None
        if connection is None:
            credential = credentials_for(self)
            connection = connect(parse_dsn(str(self.DSN or "")),
                                 user=credential.username if credential else "",
                                 password=credential.password if credential else "",
                                 timeout=float(self.ConnectTimeout or 5),
                                 attributes=parse_connect_attrs(str(self.ConnectAttrs or "")))
            self._sql_connection = connection
        return connection

    def _with_connection(self, work: Callable[[SqlConnection], T]) -> T:
        """Run ``work`` on the connection. A reused connection found dead is reopened and
        ``work`` run once more, unless a transaction had run statements on it (they are lost:
        the caller must start over; a transaction that had run none begins again on the new
        connection); then, and for any other failure, ConnectorError."""
        reused = self._sql_connection is not None
        connection = self._connection()
        try:
            result = work(connection)
        except ConnectionLost:
            in_transaction = connection.in_transaction
            nothing_lost = connection.statements_in_transaction == 0
            self.Disconnect()
            if not reused or (in_transaction and not nothing_lost):
                raise
            connection = self._connection()
            if in_transaction:
                connection.begin()
            result = work(connection)
        self._sql_last_used = time.monotonic()
        if float(self.StayConnected or 0) == 0 and self._sql_connection is not None and \
                not self._sql_connection.in_transaction:
            self.Disconnect()
        return result

    def _close_connection(self) -> None:
        connection = self._sql_connection
        if connection is not None and connection.in_transaction:
            try:
                connection.rollback()
            except Exception:  # closing anyway
                pass
        self.Disconnect()

    def _dsn_shown(self) -> str:
        return parse_dsn(str(self.DSN or "")).shown
