"""``EnsLib.SQL.OutboundAdapter``: runs statements for its business operation.

Methods in IRIS's names and in Python's: ``ExecuteQuery``/``execute_query`` (a
``Snapshot``), ``ExecuteUpdate``/``execute_update`` (rows affected),
``ExecuteProcedure``/``execute_procedure``, and transactions with
``BeginTransaction``/``Commit``/``Rollback`` or ``with adapter.transaction():``.
Parameters are written ``?``. Every failure is a ConnectorError (one line naming the
database and the cause) that the operation's ReplyCodeActions and RetryInterval act on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from iop.components.adapters import OutboundAdapter
from iop.components.settings import Category, setting
from iop.connectors.sql.connection_settings import SqlConnectionSettings
from iop.connectors.sql.dbapi import SqlConnection, plain_value
from iop.connectors.sql.snapshot import Snapshot
from iop.errors import ConnectorError

__all__ = ["SqlOutboundAdapter"]


class SqlOutboundAdapter(SqlConnectionSettings, OutboundAdapter):
    """EnsLib.SQL.OutboundAdapter: queries, updates, procedures and transactions on the
    database its DSN names, over one reused connection."""

    MaxRows = setting(0, category=Category.ADDITIONAL,
                      description="Most rows a query returns into its snapshot; 0: all")

    # -- queries -------------------------------------------------------------------
    def execute_query(self, sql: str, *params: Any) -> Snapshot:
        """Run a query; its rows in a Snapshot."""
        limit = int(self.MaxRows or 0)

        def run(connection: SqlConnection) -> tuple[list[str], list[tuple[Any, ...]], int]:
            return connection.execute(sql, params, max_rows=limit)

        columns, rows, _ = self._with_connection(run)
        return Snapshot(Columns=list(columns),
                        Rows=[[plain_value(v) for v in row] for row in rows])

    def execute_update(self, sql: str, *params: Any) -> int:
        """Run an INSERT, UPDATE, DELETE or DDL statement; the number of rows affected."""
        _, _, count = self._with_connection(lambda c: c.execute(sql, params, fetch=False))
        return count

    def execute_procedure(self, sql: str, *params: Any) -> Snapshot:
        """Call a stored procedure (``CALL name(?, ?)`` or ``{call name(?)}``); what it
        returns as a Snapshot (empty when it returns no rows)."""
        columns, rows, _ = self._with_connection(lambda c: c.call(sql, params))
        return Snapshot(Columns=list(columns),
                        Rows=[[plain_value(v) for v in row] for row in rows])

    # -- transactions --------------------------------------------------------------
    def begin_transaction(self) -> None:
        """Start a transaction: the statements that follow commit together."""
        self._with_connection(lambda c: c.begin())

    def commit(self) -> None:
        connection = self._sql_connection
        if connection is None:
            raise ConnectorError("SQL: commit without an open transaction (the connection "
                                 "was lost or none began)")
        try:
            connection.commit()
        except ConnectorError:
            self.Disconnect()
            raise

    def rollback(self) -> None:
        connection = self._sql_connection
        if connection is None:
            return
        try:
            connection.rollback()
        except ConnectorError:
            self.Disconnect()  # a lost connection rolled the transaction back itself

    @contextmanager
    def transaction(self) -> Iterator[SqlOutboundAdapter]:
        """``with adapter.transaction():`` commits at the end, rolls back on an error."""
        self.begin_transaction()
        try:
            yield self
        except BaseException:
            self.rollback()
            raise
        self.commit()

    @property
    def in_transaction(self) -> bool:
        return self._sql_connection is not None and self._sql_connection.in_transaction

    # -- IRIS's names ----------------------------------------------------------------
    ExecuteQuery = execute_query
    ExecuteUpdate = execute_update
    ExecuteProcedure = execute_procedure
    BeginTransaction = begin_transaction
    Commit = commit
    Rollback = rollback

    # -- lifecycle -------------------------------------------------------------------
    def on_keepalive(self) -> None:
        """Close an idle connection that is past StayConnected."""
        stay = float(self.StayConnected if self.StayConnected is not None else -1)
        if stay >= 0 and self._sql_connection is not None and not self.in_transaction:
            import time

            if time.monotonic() - self._sql_last_used > stay:
                self.Disconnect()

    def on_tear_down(self) -> None:
        self._close_connection()
