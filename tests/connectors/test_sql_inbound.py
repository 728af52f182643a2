"""EnsLib.SQL.InboundAdapter in productions run by the real CLI: each row delivered once
(KeyFieldName with DeleteQuery, or remembered keys without one, across a production
restart), a database server restarted mid-stream with nothing lost, and bad settings or
SQL reported as one line in the event log, without a traceback."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sql_support import MARIADB_DSN, PG_DSN, PrivateCluster, PrivateMariaDB, adapter, dsn_for, table

PRODUCTION = "Sql.Production"

COMPONENTS = '''
class Sink(BusinessOperation):
    """Writes the key (first column) of each row it receives to OutFile, one per line."""

    OutFile = ""

    def on_message(self, request):
        row = request.Rows[0]
        with open(self.OutFile, "a", encoding="utf-8") as out:
            out.write(f"{row[0]}\\n")
'''


def production(dsn: str, out: Path, query: str, delete: str = "", key: str = "id",
               parameters: str = "", interval: str = "0.2") -> str:
    return f'''
prod = Production("{PRODUCTION}")
prod.service("Poller", class_name="EnsLib.SQL.Service.GenericService") \\
    .adapter_setting("DSN", {dsn!r}).adapter_setting("CallInterval", {interval!r}) \\
    .adapter_setting("Query", {query!r}).adapter_setting("DeleteQuery", {delete!r}) \\
    .adapter_setting("KeyFieldName", {key!r}).adapter_setting("Parameters", {parameters!r}) \\
    .host_setting("TargetConfigNames", "Sink")
prod.operation("Sink", Sink).host_setting("OutFile", {str(out)!r})
PRODUCTIONS = [prod]
'''


def delivered(out: Path) -> list[int]:
    if not out.exists():
        return []
    return [int(line) for line in out.read_text().split()]


@pytest.mark.parametrize("kind", ["postgresql", "sqlite"])
def test_each_row_once_with_delete_query(kind: str, make_project: Any, wait_for: Any,
                                         tmp_path: Path) -> None:
    out = tmp_path / "rows.txt"
    dsn = dsn_for(kind, tmp_path)
    with table(dsn) as t:
        feed = adapter(dsn)
        for n in range(1, 21):
            feed.execute_update(f"INSERT INTO {t} VALUES (?, ?)", n, f"row {n}")
        project = make_project(COMPONENTS, production(
            dsn, out, f"SELECT id, name FROM {t} ORDER BY id",
            delete=f"DELETE FROM {t} WHERE id = ?"))
        project.migrate()
        project.start(PRODUCTION)
        wait_for(lambda: len(delivered(out)) >= 20, timeout=60)
        for n in range(21, 41):
            feed.execute_update(f"INSERT INTO {t} VALUES (?, ?)", n, f"row {n}")
        wait_for(lambda: len(delivered(out)) >= 40, timeout=60)
        wait_for(lambda: feed.execute_query(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"] == 0)
        assert sorted(delivered(out)) == list(range(1, 41))
        feed.on_tear_down()


def test_remembered_keys_without_delete_query_survive_a_restart(
        make_project: Any, run_iop: Any, wait_for: Any, tmp_path: Path) -> None:
    out = tmp_path / "rows.txt"
    with table(MARIADB_DSN) as t:
        feed = adapter(MARIADB_DSN)
        for n in range(1, 6):
            feed.execute_update(f"INSERT INTO {t} VALUES (?, ?)", n, "x")
        project = make_project(COMPONENTS, production(
            MARIADB_DSN, out, f"SELECT id, name FROM {t} ORDER BY id"))
        project.migrate()
        project.start(PRODUCTION)
        wait_for(lambda: len(delivered(out)) >= 5, timeout=60)
        feed.execute_update(f"UPDATE {t} SET name = ? WHERE id = ?", "changed", 2)
        run_iop("-S")  # stop, then start again: the rows polled already are remembered
        for n in range(6, 9):
            feed.execute_update(f"INSERT INTO {t} VALUES (?, ?)", n, "x")
        project.start(PRODUCTION)
        wait_for(lambda: len(delivered(out)) >= 8, timeout=60)
        # A row that leaves the result and comes back is delivered again (IRIS forgets the
        # keys a poll no longer returns); a marker row delivered proves such a poll ran.
        feed.execute_update(f"DELETE FROM {t} WHERE id = ?", 3)
        feed.execute_update(f"INSERT INTO {t} VALUES (?, ?)", 100, "marker")
        wait_for(lambda: 100 in delivered(out), timeout=60)
        feed.execute_update(f"INSERT INTO {t} VALUES (?, ?)", 3, "back")
        wait_for(lambda: len(delivered(out)) >= 10, timeout=60)
        counts = Counter(delivered(out))
        assert counts == Counter({1: 1, 2: 1, 3: 2, 4: 1, 5: 1, 6: 1, 7: 1, 8: 1, 100: 1})
        feed.on_tear_down()


def test_last_key_parameter_is_kept_across_a_restart(make_project: Any, run_iop: Any,
                                                     wait_for: Any, tmp_path: Path) -> None:
    """``WHERE id > ?`` with Parameters ``%LastKey``: after a restart the query starts from
    the last key delivered (kept in the store), so no row comes twice."""
    out = tmp_path / "rows.txt"
    dsn = dsn_for("sqlite", tmp_path)
    with table(dsn) as t:
        feed = adapter(dsn)
        for n in range(1, 6):
            feed.execute_update(f"INSERT INTO {t} VALUES (?, ?)", n, "x")
        project = make_project(COMPONENTS, production(
            dsn, out, f"SELECT id, name FROM {t} WHERE id > ? ORDER BY id",
            parameters="%LastKey"))
        project.migrate()
        project.start(PRODUCTION)
        wait_for(lambda: len(delivered(out)) >= 5, timeout=60)
        run_iop("-S")
        for n in range(6, 8):
            feed.execute_update(f"INSERT INTO {t} VALUES (?, ?)", n, "x")
        project.start(PRODUCTION)
        wait_for(lambda: len(delivered(out)) >= 7, timeout=60)
        feed.execute_update(f"INSERT INTO {t} VALUES (?, ?)", 8, "x")
        wait_for(lambda: len(delivered(out)) >= 8, timeout=60)
        assert delivered(out) == list(range(1, 9))
        feed.on_tear_down()


@pytest.mark.parametrize("kind", ["postgresql", pytest.param("mariadb", marks=pytest.mark.slow)])
def test_a_database_restart_mid_stream_loses_nothing(kind: str, make_project: Any,
                                                     wait_for: Any, tmp_path: Path) -> None:
    """The test's own server is restarted twice while rows are inserted and polled."""
    out = tmp_path / "rows.txt"
    server: Any = PrivateCluster() if kind == "postgresql" else PrivateMariaDB()
    server.start()
    try:
        dsn = server.url if kind == "postgresql" else server.dsn
        feed = adapter(dsn)
        feed.execute_update("CREATE TABLE inbox (id INTEGER PRIMARY KEY, name VARCHAR(20))")
        project = make_project(COMPONENTS, production(
            dsn, out, "SELECT id, name FROM inbox ORDER BY id",
            delete="DELETE FROM inbox WHERE id = ?", interval="0.1"))
        project.migrate()
        project.start(PRODUCTION)
        total = 300
        inserted: list[int] = []
        stop = threading.Event()

        def insert() -> None:
            writer = adapter(dsn)
            n = 1
            while n <= total and not stop.is_set():
                try:
                    writer.execute_update("INSERT INTO inbox VALUES (?, ?)", n, "x")
                    inserted.append(n)
                    n += 1
                    stop.wait(0.01)  # a stream, not a burst: the restarts fall inside it
                except Exception:  # the server is restarting: the same row again
                    stop.wait(0.05)
            writer.on_tear_down()

        inserter = threading.Thread(target=insert)
        inserter.start()
        during: list[int] = []
        try:
            wait_for(lambda: len(delivered(out)) >= 50, timeout=60)
            during.append(len(inserted))
            server.restart()
            wait_for(lambda: len(delivered(out)) >= 150, timeout=90)
            during.append(len(inserted))
            server.restart()
            inserter.join(timeout=120)
        finally:
            stop.set()
            inserter.join()
        assert all(n < total for n in during), during  # both restarts were mid-stream
        assert inserted == list(range(1, total + 1))
        wait_for(lambda: set(delivered(out)) == set(inserted), timeout=90)
        check = adapter(dsn)
        wait_for(lambda: check.execute_query("SELECT COUNT(*) AS n FROM inbox")[0]["n"] == 0,
                 timeout=30)
        counts = Counter(delivered(out))
        # At least once: a row comes twice only when a restart cut its delete's reply.
        assert sum(c - 1 for c in counts.values()) <= 2, counts.most_common(3)
        check.on_tear_down()
        feed.on_tear_down()
    finally:
        server.stop()


@pytest.mark.parametrize("case", ["bad_dsn", "wrong_password", "bad_sql", "no_key_column"])
def test_bad_settings_are_one_line_in_the_log(case: str, make_project: Any, store: Any,
                                             wait_for: Any, tmp_path: Path) -> None:
    out = tmp_path / "rows.txt"
    dsn, query, key, expected = {
        "bad_dsn": ("oracle://someone@127.0.0.1/db", "SELECT 1 AS id", "id",
                    "unknown database kind"),
        "wrong_password": ("mysql://nobody:s3cret@127.0.0.1:3306/test", "SELECT 1 AS id", "id",
                           "Access denied"),
        "bad_sql": (PG_DSN, "SELEC id FROM nowhere", "id", "syntax error"),
        "no_key_column": (PG_DSN, "SELECT 1 AS other", "id", "returns no column id"),
    }[case]
    project = make_project(COMPONENTS, production(dsn, out, query, key=key))
    project.migrate()
    project.start(PRODUCTION)

    def errors() -> list[Any]:
        return [e for e in store.log_since(0) if e.type == "error" and e.item == "Poller"]

    wait_for(lambda: errors(), timeout=30)
    time.sleep(1)  # a window for more polls (CallInterval 0.2 s) to fail: still one line
    found = errors()
    assert len(found) == 1, [e.text for e in found]
    text = found[0].text
    assert expected in text and "\n" not in text and "Traceback" not in text
    assert "s3cret" not in text
    assert not delivered(out)


SERVICE = '''

class Picky(BusinessService):
    """A service of the user's own on the SQL inbound adapter: IRIS's accessors on the
    one-row snapshot; it fails on names starting with "bad"."""

    OutFile = ""

    @classmethod
    def get_adapter_type(cls):
        return "EnsLib.SQL.InboundAdapter"

    def on_process_input(self, snapshot):
        snapshot.Next()
        if snapshot.Get("NAME").startswith("bad"):
            raise ValueError(f"cannot take {snapshot.Get('name')}")
        with open(self.OutFile, "a", encoding="utf-8") as out:
            out.write(f"{snapshot.Get('id')}\\n")
'''


def test_a_row_the_service_fails_on_is_logged_and_kept(make_project: Any, store: Any,
                                                       wait_for: Any, tmp_path: Path) -> None:
    out = tmp_path / "rows.txt"
    dsn = dsn_for("sqlite", tmp_path)
    with table(dsn) as t:
        feed = adapter(dsn)
        for n, name in enumerate(["a", "bad one", "c"], start=1):
            feed.execute_update(f"INSERT INTO {t} VALUES (?, ?)", n, name)
        project = make_project(COMPONENTS + SERVICE, f'''
prod = Production("{PRODUCTION}")
prod.service("Picky", Picky).host_setting("OutFile", {str(out)!r}) \\
    .adapter_setting("DSN", {dsn!r}).adapter_setting("CallInterval", "0.2") \\
    .adapter_setting("Query", "SELECT id, name FROM {t} ORDER BY id") \\
    .adapter_setting("KeyFieldName", "id") \\
    .adapter_setting("DeleteQuery", "DELETE FROM {t} WHERE id = ?")
PRODUCTIONS = [prod]
''')
        project.migrate()
        project.start(PRODUCTION)
        wait_for(lambda: len(delivered(out)) >= 2, timeout=60)
        feed.execute_update(f"INSERT INTO {t} VALUES (?, ?)", 4, "d")
        wait_for(lambda: len(delivered(out)) >= 3, timeout=60)
        assert delivered(out) == [1, 3, 4]
        # The failed row stays in the table (not deleted) and is reported once.
        wait_for(lambda: feed.execute_query(f"SELECT id FROM {t}").rows == [{"id": 2}])
        errors = [e.text for e in store.log_since(0) if e.type == "error" and e.item == "Picky"]
        assert len(errors) == 1 and "row 2" in errors[0] and "cannot take bad one" in errors[0]
        assert "Traceback" not in errors[0]
        feed.on_tear_down()


SLOW_SINK = '''

class SlowSink(Sink):
    def on_message(self, request):
        time.sleep(0.1)
        super().on_message(request)
'''


def test_queue_limit_holds_rows_back(make_project: Any, store: Any, wait_for: Any,
                                     tmp_path: Path) -> None:
    """QueueLimit 3: the poller stops handing rows over while the slow target has 3 queued;
    every row still arrives, once."""
    out = tmp_path / "rows.txt"
    dsn = dsn_for("sqlite", tmp_path)
    with table(dsn) as t:
        feed = adapter(dsn)
        for n in range(1, 31):
            feed.execute_update(f"INSERT INTO {t} VALUES (?, ?)", n, "x")
        source = production(dsn, out, f"SELECT id, name FROM {t} ORDER BY id",
                            delete=f"DELETE FROM {t} WHERE id = ?")
        source = source.replace('prod.operation("Sink", Sink)', 'prod.operation("Sink", SlowSink)')
        source = source.replace('.adapter_setting("Parameters", \'\')',
                                '.adapter_setting("Parameters", \'\').adapter_setting("QueueLimit", "3")')
        assert '"QueueLimit", "3"' in source
        project = make_project(COMPONENTS + SLOW_SINK, source)
        project.migrate()
        project.start(PRODUCTION)
        deepest = 0

        def all_arrived() -> bool:
            nonlocal deepest
            deepest = max(deepest, store.queue_counts().get("Sink", 0))
            return len(delivered(out)) >= 30

        wait_for(all_arrived, timeout=90)
        assert sorted(delivered(out)) == list(range(1, 31))
        assert 0 < deepest <= 3
        feed.on_tear_down()
