"""End to end on each backend: a real production (CLI, supervisor, job processes) whose sync
chains, asynchronous calls and fire-and-forget sends all complete.

On PostgreSQL the production runs in its own namespace (schema), dropped afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from backends_support import BACKENDS, PG_URL, drop_schema, require_postgres

from iop import Director
from iop.store import open_store

PRODUCTION = "Backends.Production"
FINAL = ("completed", "error", "discarded", "aborted")

COMPONENTS = '''
@dataclass
class Ping(Message):
    n: int = 0
    text: str = ""


@dataclass
class Pong(Message):
    n: int = 0
    text: str = ""
    trail: list[str] = field(default_factory=list)


@dataclass
class Fanned(Message):
    n: int = 0
    calls: list[list] = field(default_factory=list)


class Gateway(BusinessService):
    """Entry point for the test process: (target, request, timeout) sync, or a list async."""

    def on_process_input(self, spec):
        target, request, timeout = spec
        if isinstance(request, list):
            for one in request:
                self.send_request_async(target, one)
            return None
        return self.send_request_sync(target, request, timeout=timeout)


class Relay(BusinessProcess):
    def on_request(self, request):
        answer = self.send_request_sync("Upper", request)
        answer.trail.append("Relay")
        return answer


class Upper(BusinessOperation):
    @handler(Ping)
    def shout(self, request):
        if request.text == "boom":
            raise ValueError(f"boom {request.n}")
        return Pong(request.n, request.text.upper(), ["Upper"])


class FanOut(BusinessProcess):
    def on_request(self, request):
        self.calls = []
        for i in range(3):
            self.send_request_async("Worker", Ping(request.n * 10 + i), completion_key=f"key-{i}")

    def on_response(self, request, response, call_request, call_response, completion_key):
        self.calls.append([completion_key, call_request.n, call_response.n])

    def on_complete(self, request, response):
        self.reply(Fanned(request.n, sorted(self.calls)))


class Worker(BusinessOperation):
    def on_message(self, request):
        return Pong(request.n + 1000)


class Sink(BusinessOperation):
    """Answers nothing: its completions write no response and may go in batches."""

    def on_message(self, request):
        return None
'''

SETTINGS = f'''
prod = Production("{PRODUCTION}", testing_enabled=True)
prod.service("Gateway", Gateway)
prod.process("Relay", Relay)
prod.operation("Upper", Upper).pool(2)
prod.process("FanOut", FanOut).pool(2)
prod.operation("Worker", Worker).pool(2)
prod.operation("Sink", Sink).pool(2)
PRODUCTIONS = [prod]
'''


@pytest.fixture(params=BACKENDS)
def engine_backend(request: pytest.FixtureRequest, iop_home: Any, run_iop: Any,
                   monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the CLI and every engine process at the backend under test."""
    if request.param == "sqlite":
        yield "sqlite"
        return
    require_postgres()
    namespace = f"E{uuid.uuid4().hex[:12].upper()}"
    monkeypatch.setenv("IOP_DATABASE_URL", PG_URL)
    monkeypatch.setenv("IOP_NAMESPACE", namespace)
    try:
        yield "postgresql"
    finally:
        run_iop("-k", check=False)  # before the schema goes; iop_home checks for survivors
        drop_schema(namespace)
        monkeypatch.delenv("IOP_DATABASE_URL")
        monkeypatch.delenv("IOP_NAMESPACE")


def test_a_production_completes_sync_and_async_messages(
        engine_backend: str, make_project: Any, run_iop: Any, wait_for: Any) -> None:
    project = make_project(COMPONENTS, SETTINGS)
    project.migrate()
    ready = run_iop("-i").stdout
    assert ("postgresql://" in ready) == (engine_backend == "postgresql")
    project.start(PRODUCTION)
    module = project.import_module()
    store = open_store()
    assert store.backend == engine_backend
    gateway = Director(store=store).get_business_service("Gateway")

    # A synchronous chain: service -> process -> operation and back.
    answer = gateway.on_process_input(("Relay", module.Ping(7, "hello"), 30))
    assert (answer.n, answer.text, answer.trail) == (7, "HELLO", ["Upper", "Relay"])
    for n in range(10):
        assert gateway.on_process_input(("Upper", module.Ping(n, f"m{n}"), 30)).text == f"M{n}"

    # Asynchronous calls from a process, answered through its context.
    fanned = gateway.on_process_input(("FanOut", module.Ping(4), 60))
    assert fanned.calls == [["key-0", 40, 1040], ["key-1", 41, 1041], ["key-2", 42, 1042]]

    # Fire-and-forget sends complete on their own.
    gateway.on_process_input(("Upper", [module.Ping(100 + n, "async") for n in range(40)], 0))
    gateway.on_process_input(("Sink", [module.Ping(200 + n) for n in range(60)], 0))

    def settled() -> bool:
        headers = store.query_headers(limit=0)
        return bool(headers) and all(h.status in FINAL for h in headers)

    wait_for(settled, timeout=60, what="every message to reach a final status")
    requests = store.query_headers(target="Upper", type="request", limit=0)
    assert len(requests) == 1 + 10 + 40
    assert {h.status for h in requests} == {"completed"}
    assert store.count_by_status(type="request").get("error") is None
    # An empty answer nobody waits for is not stored; the request still completes.
    sunk = store.query_headers(target="Sink", type="request", limit=0)
    assert len(sunk) == 60 and {h.status for h in sunk} == {"completed"}
    assert store.query_headers(source="Sink", limit=0) == []
    wait_for(lambda: not any(store.queue_counts().values()), timeout=30,
             what="the queues to drain")
    assert {j.item for j in store.list_jobs()} >= {"Relay", "Upper", "FanOut", "Worker"}
    if engine_backend == "postgresql":
        # Neither the jobs nor the waiting callers on this host (the business processes', this
        # test's) hold a listening connection of their own (each one costs the server work on
        # every NOTIFY): the host's supervisor listens for them all, through one.
        # (A connection shows its last statement: a LISTEN or UNLISTEN of some channel.)
        jobs = store.list_jobs()
        assert "Gateway" in {j.item for j in jobs}  # a service's job is among those checked
        notifier = store.notifier
        channels = {notifier.item_channel(j.item) for j in jobs} | {  # type: ignore[attr-defined]
            notifier.job_channel(j.item, j.host, j.slot) for j in jobs}  # type: ignore[attr-defined]
        rows = store.conn.execute(  # type: ignore[attr-defined]
            "SELECT application_name, query FROM pg_stat_activity WHERE query LIKE '%%LISTEN %%'")
        relay = f"iop relay {store.host}"
        assert [app for app, _ in rows].count(relay) == 1
        assert [query for app, query in rows if app != relay and (
            "iopp_" in query or any(c in query for c in channels))] == []

    # An error in a handler comes back to the synchronous caller.
    with pytest.raises(Exception, match="boom 9"):
        gateway.on_process_input(("Upper", module.Ping(9, "boom"), 30))

    run_iop("-S")
    assert store.get_runtime().status == "stopped" and store.list_jobs() == []
    store.close()
