"""``EnsLib.SQL.InboundAdapter``: runs ``Query`` every CallInterval and hands each row to
its business service, as IRIS does: one ``EnsLib.SQL.Snapshot`` holding that single row,
passed to the service's ``on_process_input``.

**Each row once.** ``KeyFieldName`` names the column that identifies a row. With a
``DeleteQuery`` (one ``?``, given the key) the row is deleted once its input is stored; until
the delete succeeded the key is remembered (in the store), so a row whose delete failed (the
database went away) is not delivered again, only deleted at the next poll. Without a
``DeleteQuery`` the adapter remembers every key it delivered (IRIS's processed-rows list,
kept in the store so a restart does not deliver again); a key that a complete poll no longer
returns is forgotten, so a row that leaves the result and comes back later is delivered
again. A row whose key was delivered is not delivered again when its other columns change
(IRIS compares keys only): put a version or timestamp in the key to see changes.

**Parameters** fill the query's ``?``: a comma-separated list of ``%LastKey`` (the key of the
last row delivered; kept in the store), ``%Name`` (an adapter property), ``$Name`` (a
property of the service), ``&Name`` (a persistent value, ``set_persistent_value``) or a
literal.

A row the service fails on is logged (and alerted with AlertOnError) and skipped until the
job restarts, as IRIS does; database errors are one line in the log, reported once until
the database answers again.
"""

from __future__ import annotations

import json
from typing import Any

from iop.components.adapters import InboundAdapter
from iop.components.settings import setting
from iop.connectors import inbound as shared_inbound
from iop.connectors.sql.connection_settings import SqlConnectionSettings
from iop.connectors.sql.dbapi import plain_value
from iop.connectors.sql.snapshot import Snapshot
from iop.errors import ConnectorError, StoreUnavailable

__all__ = ["SqlInboundAdapter"]

DATA = "Data"  # IRIS's settings category of the SQL inbound adapter's query settings
# Most rows one poll delivers; the rest come with the next poll (bounds memory).
MAX_ROWS_PER_POLL = 10_000
_KEYS_SCOPE = "sql.keys"
_VALUES_SCOPE = "sql.values"


class SqlInboundAdapter(SqlConnectionSettings, InboundAdapter):
    """EnsLib.SQL.InboundAdapter: polls a query; each new row to the service, once."""

    Query = setting("", category=DATA, required=True,
                    description="The query run every CallInterval to find new rows")
    Parameters = setting("", category=DATA,
                         description="Values of the query's ? parameters, comma-separated: "
                                     "%LastKey, %Property (adapter), $Property (service), "
                                     "&Name (persistent value) or a literal")
    DeleteQuery = setting("", category=DATA,
                          description="Run with the row's key (one ?) once its input is "
                                      "stored, e.g. DELETE FROM t WHERE id = ?")
    KeyFieldName = setting("ID", category=DATA,
                           description="The column that identifies a row; must not be reused "
                                       "over time when DeleteQuery is empty")
    DoNotInterruptResultSet = setting(False, category=DATA,
                                      description="Deliver every row of a poll before "
                                                  "stopping when the job is asked to stop")
    QueueLimit = shared_inbound.queue_limit_setting()

    _sql_failed_keys: set[str] | None = None
    _sql_reported: str = ""
    _sql_limit: shared_inbound.QueueLimit | None = None
    _sql_last_key: Any = None

    # -- IRIS: %LastKey and persistent values ----------------------------------------
    @property
    def LastKey(self) -> Any:  # noqa: N802 - IRIS's %LastKey
        if self._sql_last_key is None:
            stored = self.get_persistent_value("%LastKey")
            self._sql_last_key = 0 if stored is None else stored
        return self._sql_last_key

    def get_persistent_value(self, name: str) -> Any:
        """A value kept between polls and restarts (IRIS's GetPersistentValue; ``&name``)."""
        text = self._values().value(name)
        return None if text is None else json.loads(text)

    def set_persistent_value(self, name: str, value: Any) -> None:
        """Keep ``value`` for ``&name`` (IRIS's SetPersistentValue)."""
        self._values().remember(name, json.dumps(plain_value(value)))

    def initialize_persistent_value(self, name: str, value: Any) -> Any:
        """Set ``name`` only when it has no value yet; its old value (IRIS's
        InitializePersistentValue)."""
        old = self.get_persistent_value(name)
        if old is None:
            self.set_persistent_value(name, value)
        return old

    def initialize_last_key_value(self, value: Any = 0) -> Any:
        """IRIS's InitializeLastKeyValue: %LastKey's start when it has none yet."""
        old = self.initialize_persistent_value("%LastKey", value)
        self._sql_last_key = None
        return old

    GetPersistentValue = get_persistent_value
    SetPersistentValue = set_persistent_value
    InitializePersistentValue = initialize_persistent_value
    InitializeLastKeyValue = initialize_last_key_value

    # -- the poll --------------------------------------------------------------------
    def on_task(self) -> None:
        limit = self._sql_limit
        if limit is None:
            # Read afresh before each row (every=0): one poll must not overfill a queue.
            limit = self._sql_limit = shared_inbound.QueueLimit(self, int(self.QueueLimit or 0),
                                                                every=0)
        if not limit.room():
            return
        try:
            query = str(self.Query or "").strip()
            if not query:
                raise ConnectorError("SQL: the Query setting is empty")
            params = self._parameter_values()
            columns, rows, _ = self._with_connection(
                lambda c: c.execute(query, params, max_rows=MAX_ROWS_PER_POLL))
            key_index = self._key_index(columns)
        except ConnectorError as exc:
            self._report(str(exc))
            return
        if self._sql_reported:
            self.log_info(f"SQL {self._dsn_shown()}: answering again")
            self._sql_reported = ""
        self._deliver(columns, rows, key_index, complete=len(rows) < MAX_ROWS_PER_POLL)

    def _deliver(self, columns: list[str], rows: list[tuple[Any, ...]], key_index: int | None,
                 complete: bool) -> None:
        last_key = self._sql_last_key
        try:
            self._deliver_rows(columns, rows, key_index, complete)
        finally:
            if self._sql_last_key is not None and self._sql_last_key != last_key:
                # Once a poll: a %LastKey that lags after a crash only makes the query
                # return rows whose keys are remembered, which are skipped.
                self.set_persistent_value("%LastKey", self._sql_last_key)

    def _deliver_rows(self, columns: list[str], rows: list[tuple[Any, ...]],
                      key_index: int | None, complete: bool) -> None:
        failed = self._sql_failed_keys if self._sql_failed_keys is not None else set()
        self._sql_failed_keys = failed
        keys = self._keys()
        remembered = {key for key, _ in keys.keys()}
        delete = str(self.DeleteQuery or "").strip()
        present: set[str] = set()
        limit = self._sql_limit
        for row in rows:
            if self._stop_asked() and not self._flag(self.DoNotInterruptResultSet):
                return
            if limit is not None and not limit.room():
                return  # a target's queue is full: the rest come with a later poll
            raw_key = row[key_index] if key_index is not None else None
            key = None if raw_key is None else str(plain_value(raw_key))
            if key is not None:
                present.add(key)
                if key in failed:
                    continue
                if key in remembered:
                    if delete and not self._delete(delete, raw_key, key):
                        return  # the database is away: the next poll tries again
                    continue
            snapshot = Snapshot(Columns=list(columns), Rows=[[plain_value(v) for v in row]])
            try:
                self.business_host_process_input(snapshot)
            except StoreUnavailable:
                raise  # the job waits the store out; the row comes again with the next poll
            except Exception as exc:
                if key is not None:
                    failed.add(key)
                self._row_failed(key, exc)
                continue
            # Stored: from here the row must not be delivered again.
            if key is not None:
                keys.remember(key)
                remembered.add(key)
                self._sql_last_key = raw_key
            if delete and key is not None and not self._delete(delete, raw_key, key):
                return
        if complete:
            for key in remembered - present:
                keys.forget(key)
            failed &= present

    def _delete(self, statement: str, raw_key: Any, key: str) -> bool:
        """Run DeleteQuery for a stored row and forget its key; False (reported) when the
        database failed."""
        try:
            self._with_connection(lambda c: c.execute(statement, (raw_key,), fetch=False))
        except ConnectorError as exc:
            self._report(f"{exc} (row {key} is stored; it is deleted at the next poll)")
            return False
        self._keys().forget(key)
        return True

    def _parameter_values(self) -> tuple[Any, ...]:
        text = str(self.Parameters or "").strip()
        if not text:
            return ()
        values = []
        for spec in (part.strip() for part in text.split(",")):
            if spec.lower() == "%lastkey":
                values.append(self.LastKey)
            elif spec.startswith("%"):
                values.append(getattr(self, spec[1:], None))
            elif spec.startswith("$"):
                values.append(getattr(self.business_host, spec[1:], None))
            elif spec.startswith("&"):
                values.append(self.get_persistent_value(spec[1:]))
            else:
                values.append(spec.strip("'\""))
        return tuple(values)

    def _key_index(self, columns: list[str]) -> int | None:
        name = str(self.KeyFieldName or "").strip()
        if not name:
            return None
        for index, column in enumerate(columns):
            if column.lower() == name.lower():
                return index
        raise ConnectorError(f"SQL {self._dsn_shown()}: the query returns no column "
                             f"{name} (KeyFieldName); it returns {', '.join(columns) or 'none'}")

    # -- reporting -------------------------------------------------------------------
    def _report(self, text: str) -> None:
        """One error line per distinct failure (not one every poll while it lasts)."""
        if text == self._sql_reported:
            return
        self._sql_reported = text
        self.log_error(text)
        self._alert(text)

    def _row_failed(self, key: str | None, exc: BaseException) -> None:
        text = f"row {key if key is not None else '(no key)'}: {type(exc).__name__}: " \
               f"{' '.join(str(exc).split())[:300]}; skipped until the service restarts"
        self.log_error(text)
        self._alert(text)

    def _alert(self, text: str) -> None:
        host = self.business_host
        if self._flag(getattr(host, "AlertOnError", False)):
            name = getattr(getattr(self._iop_runtime, "item", None), "name", "") or \
                type(host).__name__
            self.log_alert(f"{name}: {text}")

    @staticmethod
    def _flag(value: Any) -> bool:
        return str(value).strip().lower() in ("1", "true", "yes", "on")

    def _stop_asked(self) -> bool:
        stop_waiting = getattr(self._iop_runtime, "stop_waiting", None)
        return bool(stop_waiting()) if callable(stop_waiting) else False

    # -- state -----------------------------------------------------------------------
    def _keys(self) -> Any:
        from iop.connectors.state import AdapterState

        return AdapterState(self, _KEYS_SCOPE)

    def _values(self) -> Any:
        from iop.connectors.state import AdapterState

        return AdapterState(self, _VALUES_SCOPE)

    def on_tear_down(self) -> None:
        self._close_connection()
