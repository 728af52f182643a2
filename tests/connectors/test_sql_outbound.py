"""EnsLib.SQL.OutboundAdapter on PostgreSQL, MariaDB and SQLite: queries into snapshots,
updates, transactions, ``?`` parameters, one-line errors, and a connection reopened after
the server restarted (a private PostgreSQL cluster)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from sql_support import PrivateCluster, PrivateMariaDB, adapter, dsn_for, table

from iop.connectors.sql.dbapi import convert_parameters, parse_dsn
from iop.errors import ConnectorError

KINDS = ["postgresql", "mariadb", "sqlite"]


@pytest.fixture(params=KINDS)
def dsn(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return dsn_for(request.param, tmp_path)


def test_query_update_and_snapshot(dsn: str) -> None:
    with table(dsn, "id INTEGER PRIMARY KEY, name VARCHAR(100), note VARCHAR(20)") as t:
        sql = adapter(dsn)
        try:
            assert sql.ExecuteUpdate(f"INSERT INTO {t} VALUES (?, ?, '100%')", 1, "it's") == 1
            assert sql.execute_update(f"INSERT INTO {t} VALUES (?, ?, ?)", 2, "what?", "5%") == 1
            assert sql.execute_update(f"UPDATE {t} SET note = ? WHERE id >= ?", "x", 1) == 2
            snap = sql.ExecuteQuery(f"SELECT id, name, note FROM {t} WHERE name LIKE '%' "
                                    "ORDER BY id")
            assert snap.columns == ["id", "name", "note"]
            assert list(snap) == [{"id": 1, "name": "it's", "note": "x"},
                                  {"id": 2, "name": "what?", "note": "x"}]
            # IRIS's accessors walk the rows with a cursor
            assert snap.GetColumnCount() == 3 and snap.GetColumnName(2) == "name"
            assert snap.RowCount == 2 and snap.GetColumnId("NAME") == 2
            seen = []
            while snap.Next():
                seen.append((snap.Get("ID"), snap.GetData(2)))
            assert seen == [(1, "it's"), (2, "what?")] and snap.AtEnd()
            assert sql.execute_query(f"SELECT * FROM {t} WHERE id = ?", 99).rows == []
        finally:
            sql.on_tear_down()


def test_transactions_commit_and_roll_back(dsn: str) -> None:
    with table(dsn) as t:
        sql = adapter(dsn)
        other = adapter(dsn)
        try:
            with sql.transaction():
                sql.execute_update(f"INSERT INTO {t} VALUES (?, ?)", 1, "one")
                sql.execute_update(f"INSERT INTO {t} VALUES (?, ?)", 2, "two")
            with pytest.raises(RuntimeError):
                with sql.transaction():
                    sql.execute_update(f"INSERT INTO {t} VALUES (?, ?)", 3, "three")
                    raise RuntimeError("the caller fails midway")
            sql.BeginTransaction()
            sql.ExecuteUpdate(f"DELETE FROM {t} WHERE id = ?", 1)
            sql.Rollback()
            sql.BeginTransaction()
            sql.ExecuteUpdate(f"UPDATE {t} SET name = ? WHERE id = ?", "TWO", 2)
            sql.Commit()
            assert not sql.in_transaction
            rows = other.execute_query(f"SELECT id, name FROM {t} ORDER BY id").rows
            assert rows == [{"id": 1, "name": "one"}, {"id": 2, "name": "TWO"}]
        finally:
            sql.on_tear_down()
            other.on_tear_down()


def test_bad_sql_is_one_line_and_the_connection_stays_usable(dsn: str) -> None:
    sql = adapter(dsn)
    try:
        with pytest.raises(ConnectorError) as caught:
            sql.execute_query("SELEC 1")
        text = str(caught.value)
        assert "\n" not in text and "SELEC 1" in text and text.startswith("SQL ")
        assert sql.execute_query("SELECT 1 AS one").rows == [{"one": 1}]
    finally:
        sql.on_tear_down()


def test_unreachable_and_refused_logins_are_one_line_without_the_password() -> None:
    with pytest.raises(ConnectorError) as caught:
        adapter("postgresql://postgres:s3cret@127.0.0.1:1/test", ConnectTimeout=2) \
            .execute_query("SELECT 1")
    text = str(caught.value)
    assert "cannot connect" in text and "127.0.0.1:1" in text and "s3cret" not in text
    assert "\n" not in text
    with pytest.raises(ConnectorError) as caught:
        adapter("mysql://nobody:s3cret@127.0.0.1:3306/test").execute_query("SELECT 1")
    text = str(caught.value)
    assert "Access denied" in text and "s3cret" not in text and "\n" not in text
    with pytest.raises(ConnectorError, match="unknown database kind"):
        adapter("oracle://x@h/db").execute_query("SELECT 1")
    assert "s3cret" not in repr(parse_dsn("postgresql://u:s3cret@h:1/d"))


def test_question_marks_become_the_driver_style() -> None:
    sql = "SELECT '?%', \"a?\" FROM t WHERE a = ? AND b LIKE '50%' -- x?\nAND c = ?"
    assert convert_parameters(sql, "format") == \
        "SELECT '?%%', \"a?\" FROM t WHERE a = %s AND b LIKE '50%%' -- x?\nAND c = %s"
    assert convert_parameters(sql, "qmark") == sql
    # A backslash escapes a quote in MySQL's strings, not in standard SQL's.
    assert convert_parameters(r"SELECT 'a\' = ?', ?", "format", backslash_escapes=True) == \
        r"SELECT 'a\' = ?', %s"
    assert convert_parameters(r"SELECT 'C:\', ?", "format") == r"SELECT 'C:\', %s"


@pytest.mark.parametrize("kind", ["postgresql", "mariadb"])
def test_a_restarted_server_is_reconnected_once_outside_a_transaction(kind: str) -> None:
    server: Any = PrivateCluster() if kind == "postgresql" else PrivateMariaDB()
    server.start()
    try:
        sql = adapter(server.url if kind == "postgresql" else server.dsn)
        sql.execute_update("CREATE TABLE r (id INTEGER PRIMARY KEY)")
        sql.execute_update("INSERT INTO r VALUES (?)", 1)
        server.restart()
        # The reused connection is dead: reopened once, the statement run again.
        assert sql.execute_update("INSERT INTO r VALUES (?)", 2) == 1
        sql.begin_transaction()
        sql.execute_update("INSERT INTO r VALUES (?)", 3)
        server.restart()
        # Inside a transaction its earlier statements are gone: an error, not a silent retry.
        with pytest.raises(ConnectorError, match="connection lost"):
            sql.execute_update("INSERT INTO r VALUES (?)", 4)
        assert not sql.in_transaction
        # A transaction that ran nothing yet begins again on the new connection.
        sql.begin_transaction()
        server.restart()
        sql.execute_update("INSERT INTO r VALUES (?)", 5)
        sql.execute_update("INSERT INTO r VALUES (?)", 6)
        sql.commit()
        assert [r["id"] for r in sql.execute_query("SELECT id FROM r ORDER BY id")] == \
            [1, 2, 5, 6]
        sql.on_tear_down()
    finally:
        server.stop()


def test_procedures_connect_attrs_and_stay_connected() -> None:
    """ExecuteProcedure on MariaDB (CALL, rows back) and PostgreSQL ({call}); ConnectAttrs
    reach the driver; StayConnected 0 closes the connection after each use."""
    maria = adapter("mariadb://root@127.0.0.1:3306/test")
    name = f"p_{uuid.uuid4().hex[:10]}"
    maria.execute_update(f"CREATE PROCEDURE {name}(IN n INT) SELECT n * 2 AS twice")
    try:
        assert maria.ExecuteProcedure(f"CALL {name}(?)", 21).rows == [{"twice": 42}]
    finally:
        maria.execute_update(f"DROP PROCEDURE {name}")
        maria.on_tear_down()
    pg = adapter("postgresql://postgres@127.0.0.1:5432/test",
                 ConnectAttrs="application_name:iop-sql-test", StayConnected=0)
    snap = pg.execute_procedure("{?= call upper(?)}", "abc")
    assert [list(r.values()) for r in snap] == [["ABC"]]
    assert not pg.Connected  # StayConnected 0: closed after the call
    named = pg.execute_query("SELECT current_setting('application_name') AS app")
    assert named.rows == [{"app": "iop-sql-test"}]
    pg.StayConnected = -1
    pg.execute_query("SELECT 1")
    assert pg.Connected
    pg.on_tear_down()
    assert not pg.Connected
