"""A Director call whose own commit meets a store outage rides it out and returns (issue 25).

The call's input holds its scope's lock while it commits; once the commit has ridden the
outage, the engine notes the outage in the event log, and that line joins the same input's
session, which takes the same lock. The soak with database restarts (``python -m bench.soak
--store postgresql --faults``) found a round trip stuck there for good. Here the session of
the calling thread is terminated between two calls, so the second call's commit is the
first to meet the outage.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pg_restart_support import PrivateCluster

from iop import Director
from iop.store import open_store

PRODUCTION = "Outage.Input"

COMPONENTS = '''
@dataclass
class Ping(Message):
    n: int = 0


class Gateway(BusinessService):
    def on_process_input(self, request):
        return self.send_request_sync("Echo", request, timeout=60)


class Echo(BusinessOperation):
    def on_message(self, request):
        return Ping(request.n)
'''

SETTINGS = f'''
prod = Production("{PRODUCTION}")
prod.service("Gateway", Gateway)
prod.operation("Echo", Echo)
PRODUCTIONS = [prod]
'''


@pytest.fixture
def cluster(iop_home: Path, run_iop: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    private = PrivateCluster()
    try:
        private.start()
        monkeypatch.setenv("IOP_DATABASE_URL", private.url)
        monkeypatch.setenv("IOP_NAMESPACE", "INPUTS")
        yield private
    finally:
        try:
            run_iop("-k", check=False)  # before the server goes
        finally:
            private.stop()
        monkeypatch.delenv("IOP_DATABASE_URL", raising=False)
        monkeypatch.delenv("IOP_NAMESPACE", raising=False)


def test_a_call_whose_commit_rides_an_outage_returns(cluster: Any, make_project: Any) -> None:
    project = make_project(COMPONENTS, SETTINGS)
    project.migrate()
    project.start(PRODUCTION)
    module = project.import_module()
    store = open_store()
    gateway = Director(store=store).get_business_service("Gateway")
    answers: list[Any] = []
    first_done, terminated = threading.Event(), threading.Event()
    backend: list[int] = []

    def caller() -> None:
        answers.append(gateway.on_process_input(module.Ping(1)))
        backend.append(store.conn.info.backend_pid)  # this thread's session
        first_done.set()
        terminated.wait(30)
        answers.append(gateway.on_process_input(module.Ping(2)))

    thread = threading.Thread(target=caller, daemon=True)
    thread.start()
    assert first_done.wait(60), "the first call did not return"
    with psycopg.connect(os.environ["IOP_DATABASE_URL"], autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (backend[0],))
    terminated.set()
    thread.join(30)
    assert not thread.is_alive(), "the call whose commit met the outage never returned"
    assert [a.n for a in answers] == [1, 2]
    store.close()
