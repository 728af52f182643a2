"""Messages flowing through a running production: sync chains, async calls, errors, timeouts.

The production runs detached (`iop -s NAME -D`) as real OS processes; the test process drives
it the way a web app would, through a Director-created business service.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest

from iop import Director
from iop.engine.errors import EngineError, MessageTimeout, UnknownItem

PRODUCTION = "Delivery.Production"

COMPONENTS = '''
@dataclass
class Ping(Message):
    n: int = 0
    text: str = ""
    delay: float = 0.0


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
    """Entry point for the test process: sends (target, request, timeout) synchronously."""

    def on_process_input(self, spec):
        target, request, timeout = spec
        return self.send_request_sync(target, request, timeout=timeout)


class Relay(BusinessProcess):
    """Forwards to Upper synchronously and marks the answer."""

    def on_request(self, request):
        answer = self.send_request_sync("Upper", request)
        answer.trail.append("Relay")
        return answer


class Misrouted(BusinessProcess):
    """Calls an item that the production does not have."""

    def on_request(self, request):
        return self.send_request_sync("NoSuchItem", request)


class Upper(BusinessOperation):
    @handler(Ping)
    def shout(self, request):
        if request.text == "boom":
            raise ValueError(f"boom {request.n}")
        if request.delay:
            time.sleep(request.delay)
        return Pong(request.n, request.text.upper(), ["Upper"])


class FanOut(BusinessProcess):
    """Three async calls with completion keys; replies from on_complete."""

    def on_request(self, request):
        self.calls = []
        for i in range(3):
            self.send_request_async("Worker", Ping(request.n * 10 + i), completion_key=f"key-{i}")

    def on_response(self, request, response, call_request, call_response, completion_key):
        self.calls.append([completion_key, call_request.n, call_response.n])

    def on_complete(self, request, response):
        self.log_info(f"on_complete for request {request.n}")
        self.reply(Fanned(request.n, sorted(self.calls)))


class Worker(BusinessOperation):
    def on_message(self, request):
        time.sleep(0.05 * (3 - request.n % 10))  # answer in reverse order of the calls
        return Pong(request.n + 1000)
'''

SETTINGS = f'''
prod = Production("{PRODUCTION}", testing_enabled=True)
prod.service("Gateway", Gateway)
prod.process("Relay", Relay)
prod.process("Misrouted", Misrouted)
prod.operation("Upper", Upper)
prod.process("FanOut", FanOut)
prod.operation("Worker", Worker).pool(2)
PRODUCTIONS = [prod]
'''

FINAL = ("completed", "error", "discarded", "aborted")


@pytest.fixture
def running(make_project: Any) -> Any:
    """The delivery production, migrated and started detached; yields (module, gateway)."""
    project = make_project(COMPONENTS, SETTINGS)
    project.migrate()
    project.start(PRODUCTION)
    module = project.import_module()
    gateway = Director().get_business_service("Gateway")
    return module, gateway


def _utc(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=dt.timezone.utc)


def _response_to(store: Any, request: Any) -> Any:
    """The response header written for ``request``, if any."""
    responses = store.query_headers(session_id=request.session_id, type="response", limit=0)
    return next((h for h in responses if h.corresponding_id == request.id), None)


def _session_headers(iop_json: Any, session: int) -> list[dict[str, Any]]:
    headers = iop_json("--messages", "--session", session)
    return sorted(headers, key=lambda h: h["id"])


def test_sync_chain_service_process_operation(running: Any, iop_json: Any, wait_for: Any) -> None:
    module, gateway = running
    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    answer = gateway.on_process_input(("Relay", module.Ping(7, "hello"), -1))
    after = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1)

    assert isinstance(answer, module.Pong)
    assert (answer.n, answer.text, answer.trail) == (7, "HELLO", ["Upper", "Relay"])

    first = next(h for h in iop_json("--messages", "--target", "Relay")
                 if h["type"] == "request")
    session = first["session_id"]
    assert session == first["id"]  # a primary request opens its own session

    def settled() -> list[dict[str, Any]] | None:
        headers = _session_headers(iop_json, session)
        return headers if all(h["status"] in FINAL for h in headers) else None

    headers = wait_for(settled, timeout=30, what="every header of the session to be final")
    shape = [(h["type"], h["source"], h["target"], h["priority"], h["status"]) for h in headers]
    assert shape == [
        ("request", "Gateway", "Relay", "sync", "completed"),
        ("request", "Relay", "Upper", "sync", "completed"),
        ("response", "Upper", "Relay", "sync", "completed"),
        ("response", "Relay", "Gateway", "sync", "completed"),
    ]
    request_1, request_2, response_2, response_1 = headers
    assert response_2["corresponding_id"] == request_2["id"]
    assert response_1["corresponding_id"] == request_1["id"]
    assert {h["session_id"] for h in headers} == {session}
    assert [h["body_class"] for h in headers] == [
        module.__name__ + ".Ping", module.__name__ + ".Ping",
        module.__name__ + ".Pong", module.__name__ + ".Pong",
    ]
    assert all(h["error"] is None for h in headers)
    for h in headers:
        created, processed = _utc(h["time_created"]), _utc(h["time_processed"])
        assert before <= created <= processed <= after, h
    # The outer request finishes after the inner one was answered.
    assert _utc(request_1["time_processed"]) >= _utc(response_2["time_created"])


def test_sequential_calls_from_a_director_service(running: Any, store: Any) -> None:
    module, gateway = running
    for n in range(20):
        answer = gateway.on_process_input(("Upper", module.Ping(n, f"m{n}"), 30))
        assert (answer.n, answer.text) == (n, f"M{n}")
    requests = store.query_headers(target="Upper", type="request", limit=0)
    assert len(requests) == 20
    assert {h.status for h in requests} == {"completed"}
    assert len({h.session_id for h in requests}) == 20  # one session per input


def test_the_supervisor_moves_the_wal_into_the_database_file(
        running: Any, store: Any, wait_for: Any, tmp_path: Any) -> None:
    import shutil
    import sqlite3

    from iop.store.sqlite import SQLiteStore

    assert isinstance(store, SQLiteStore)  # the integration suite runs on the embedded store
    module, gateway = running
    for n in range(5):
        gateway.on_process_input(("Upper", module.Ping(n, "wal"), 30))

    def in_database_file() -> bool:
        copy = tmp_path / "copy.db"
        shutil.copyfile(store.path, copy)  # the file alone, without its WAL
        with sqlite3.connect(copy) as conn:
            return conn.execute("SELECT count(*) FROM headers WHERE target = 'Upper' AND "
                                "status = 'completed'").fetchone()[0] == 5

    # Jobs never checkpoint (their commits would stall for it); the supervisor does, often.
    assert wait_for(in_database_file, timeout=20)


def test_async_calls_from_a_process_come_back_with_completion_keys(
        running: Any, store: Any, wait_for: Any) -> None:
    module, gateway = running
    answer = gateway.on_process_input(("FanOut", module.Ping(7), 60))

    assert isinstance(answer, module.Fanned)
    assert answer.n == 7
    assert answer.calls == [["key-0", 70, 1070], ["key-1", 71, 1071], ["key-2", 72, 1072]]

    primary = store.query_headers(target="FanOut", type="request", limit=1)[0]
    session = primary.session_id

    def settled() -> list[Any] | None:
        headers = store.query_headers(session_id=session, limit=0, oldest_first=True)
        return headers if all(h.status in FINAL for h in headers) else None

    headers = wait_for(settled, timeout=30, what="the fan-out session to settle")
    calls = [h for h in headers if h.type == "request" and h.target == "Worker"]
    assert sorted(h.completion_key for h in calls) == ["key-0", "key-1", "key-2"]
    assert {(h.source, h.priority, h.status) for h in calls} == {("FanOut", "async", "completed")}
    replies = [h for h in headers if h.type == "response" and h.source == "Worker"]
    assert len(replies) == 3
    assert {h.status for h in replies} == {"completed"}
    assert sorted(h.corresponding_id for h in replies) == sorted(h.id for h in calls)
    for reply in replies:
        call = next(h for h in calls if h.id == reply.corresponding_id)
        assert reply.completion_key == call.completion_key
    final = [h for h in headers if h.type == "response" and h.corresponding_id == primary.id]
    assert len(final) == 1 and final[0].status == "completed"
    assert store.get_header(primary.id).status == "completed"

    completions = [e for e in store.log_since(0) if e.text == "on_complete for request 7"]
    assert len(completions) == 1, "on_complete must run exactly once per process instance"
    assert completions[0].item == "FanOut"
    assert completions[0].session_id == session


def test_concurrent_process_instances_keep_their_own_context(running: Any) -> None:
    module, gateway = running
    for n in (1, 2, 3):
        answer = gateway.on_process_input(("FanOut", module.Ping(n), 60))
        assert answer.calls == [[f"key-{i}", n * 10 + i, n * 10 + i + 1000] for i in range(3)]


def test_handler_error_marks_the_request_logs_the_traceback_and_later_messages_complete(
        running: Any, store: Any, run_iop: Any) -> None:
    module, gateway = running
    with pytest.raises(EngineError) as info:
        gateway.on_process_input(("Upper", module.Ping(42, "boom"), 30))
    assert not isinstance(info.value, MessageTimeout)
    assert "boom 42" in str(info.value)

    failed = store.query_headers(target="Upper", type="request", limit=1)[0]
    assert failed.status == "error"
    assert "ValueError: boom 42" in (failed.error or "")
    response = _response_to(store, failed)
    assert response is not None and response.status == "error"

    log = run_iop("-L", "30").stdout
    assert "Traceback" in log
    assert "ValueError: boom 42" in log
    errors = [e for e in store.log_since(0) if e.type == "error" and "boom 42" in e.text]
    assert errors and errors[0].item == "Upper"
    assert errors[0].message_id == failed.id

    answer = gateway.on_process_input(("Upper", module.Ping(43, "fine"), 30))
    assert (answer.n, answer.text) == (43, "FINE")
    later = store.query_headers(target="Upper", type="request", limit=1)[0]
    assert later.id > failed.id and later.status == "completed"


def test_error_in_an_operation_reaches_the_caller_through_a_process(
        running: Any, store: Any) -> None:
    module, gateway = running
    with pytest.raises(EngineError, match="boom 9"):
        gateway.on_process_input(("Relay", module.Ping(9, "boom"), 30))
    outer = store.query_headers(target="Relay", type="request", limit=1)[0]
    assert outer.status == "error"
    answer = gateway.on_process_input(("Relay", module.Ping(10, "after"), 30))
    assert answer.text == "AFTER"


def test_a_send_to_an_unknown_item_fails_at_once_and_queues_nothing(
        running: Any, store: Any) -> None:
    module, gateway = running
    started = time.monotonic()
    with pytest.raises(UnknownItem, match="NoSuchItem is not an item of production"):
        gateway.on_process_input(("NoSuchItem", module.Ping(1), -1))
    # From inside a process the handler fails, and its caller hears why.
    with pytest.raises(EngineError, match="NoSuchItem is not an item of production"):
        gateway.on_process_input(("Misrouted", module.Ping(2), -1))
    assert time.monotonic() - started < 10, "an unknown target must fail, not wait"
    assert store.query_headers(target="NoSuchItem", limit=0) == []
    assert "NoSuchItem" not in store.queue_counts()
    misrouted = store.query_headers(target="Misrouted", type="request", limit=1)[0]
    assert misrouted.status == "error" and "NoSuchItem" in (misrouted.error or "")
    answer = gateway.on_process_input(("Relay", module.Ping(3, "still"), 30))
    assert answer.text == "STILL"


def test_sync_timeout_raises_in_time_and_marks_the_request(
        running: Any, store: Any, wait_for: Any) -> None:
    module, gateway = running
    timeout = 0.5
    started = time.monotonic()
    with pytest.raises(MessageTimeout):
        gateway.on_process_input(("Upper", module.Ping(5, "slow", delay=3.0), timeout))
    elapsed = time.monotonic() - started
    assert timeout * 0.9 <= elapsed < timeout + 2.5, f"raised after {elapsed:.2f} s"

    request = store.query_headers(target="Upper", type="request", limit=1)[0]
    assert request.status == "error"
    assert "timed out" in (request.error or "")
    assert any(e.type == "error" and str(request.id) in e.text for e in store.log_since(0))

    # The operation is still busy with the slow request; the next call waits its turn.
    answer = gateway.on_process_input(("Upper", module.Ping(6, "next"), 30))
    assert answer.text == "NEXT"

    # The late answer to the timed-out request must not erase the timeout mark.
    wait_for(lambda: _response_to(store, request), timeout=30, what="the late response")
    again = store.get_header(request.id)
    assert "timed out" in (again.error or "")
    assert again.status == "error", (
        f"request {request.id} timed out for its caller but now says {again.status!r}")
