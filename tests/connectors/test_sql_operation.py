"""EnsLib.SQL.Operation.GenericOperation in a production run by the real CLI: each request
runs its parameterised statement; while the database server restarts (twice, the test's
own PostgreSQL) the failures are retried by ReplyCodeActions/RetryInterval and nothing is
lost; a query's rows come back as an EnsLib.SQL.Snapshot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sql_support import PrivateCluster, adapter

from iop import Director

PRODUCTION = "SqlOut.Production"

COMPONENTS = '''
from iop import PersistentMessage


class Row(PersistentMessage):
    id: int = 0
    name: str = ""

    class Meta:
        classname = "SqlTest.Row"


class Feeder(BusinessService):
    def on_process_input(self, request):
        if request.name == "?":
            return self.send_request_sync("Reader", request, timeout=60)
        self.send_request_async("Writer", request)
'''


def production(dsn: str) -> str:
    return f'''
prod = Production("{PRODUCTION}")
prod.service("Feeder", Feeder)
prod.operation("Writer", class_name="EnsLib.SQL.Operation.GenericOperation") \\
    .adapter_setting("DSN", {dsn!r}) \\
    .host_settings_update({{"Query": "INSERT INTO outbox (id, name) VALUES (?, ?)",
                           "Parameters": "*id,*name", "ReplyCodeActions": "E=R",
                           "RetryInterval": 0.2, "FailureTimeout": 60}})
prod.operation("Reader", class_name="EnsLib.SQL.Operation.GenericOperation") \\
    .adapter_setting("DSN", {dsn!r}) \\
    .host_settings_update({{"Query": "SELECT id, name FROM outbox WHERE id <= ? ORDER BY id",
                           "Parameters": "*id"}})
PRODUCTIONS = [prod]
CLASSES = {{"SqlTest.Row": Row}}  # bound: the built-in operations' jobs read Row bodies
'''


def test_statements_survive_database_restarts(make_project: Any, store: Any, wait_for: Any,
                                              tmp_path: Path) -> None:
    cluster = PrivateCluster()
    cluster.start()
    try:
        check = adapter(cluster.url)
        check.execute_update("CREATE TABLE outbox (id INTEGER PRIMARY KEY, name VARCHAR(20))")
        project = make_project(COMPONENTS, production(cluster.url))
        project.migrate()
        project.start(PRODUCTION)
        module = project.import_module()
        feeder = Director().get_business_service("Feeder")
        total = 120
        for n in range(1, total + 1):
            feeder.on_process_input(module.Row(id=n, name=f"row {n}"))
            if n in (40, 80):
                cluster.restart()

        def stored() -> int:
            return int(check.execute_query("SELECT COUNT(*) AS n FROM outbox")[0]["n"])

        wait_for(lambda: stored() == total, timeout=90)
        rows = check.execute_query("SELECT id, name FROM outbox ORDER BY id").rows
        assert rows == [{"id": n, "name": f"row {n}"} for n in range(1, total + 1)]
        answer = feeder.on_process_input(module.Row(id=3, name="?"))
        assert answer.Columns == ["id", "name"]
        assert [list(r.values()) for r in answer] == [[1, "row 1"], [2, "row 2"], [3, "row 3"]]
        failed = store.query_headers(target="Writer", type="request", limit=500)
        assert not [h for h in failed if h.status == "error"]
        check.on_tear_down()
    finally:
        cluster.stop()


def test_a_bad_dsn_fails_the_message_with_one_line(make_project: Any, store: Any,
                                                   wait_for: Any) -> None:
    project = make_project(COMPONENTS, production("mysql://nobody:s3cret@127.0.0.1:3306/test")
                           .replace('"E=R"', '""'))
    project.migrate()
    project.start(PRODUCTION)
    module = project.import_module()
    Director().get_business_service("Feeder").on_process_input(module.Row(id=1, name="x"))

    def failed() -> list[Any]:
        return [h for h in store.query_headers(target="Writer", type="request", limit=5)
                if h.status == "error"]

    wait_for(failed, timeout=30)
    assert "Access denied" in (failed()[0].error or "")
    [line] = [e.text for e in store.log_since(0) if e.type == "error" and e.item == "Writer"]
    assert "Access denied" in line and "Traceback" not in line and "\n" not in line
    assert "s3cret" not in line
