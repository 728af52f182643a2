"""Resubmitting a suspended request, with real processes: a business process calls an
operation that fails and suspends the call; the operator fixes the cause and resubmits
(``iop --resubmit``); where does the response go?

Two business processes call the same operation: Router asynchronously (its instance waits,
persisted, for on_response), SyncRouter synchronously (its job blocks in send_request_sync).
Each writes a file when the answer reaches it, so the test sees where a response went.
Before the repair, suspending answered both with an error at once and a resubmitted call's
response reached no one (discarded for Router, unread for SyncRouter).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from iop import Director

PRODUCTION = "Repair.Production"

COMPONENTS = '''
@dataclass
class Order(Message):
    n: int = 0


@dataclass
class Shipped(Message):
    n: int = 0
    carrier: str = ""


class Gateway(BusinessService):
    """Sends (target, request) on, asynchronously: nobody outside waits."""

    def on_process_input(self, spec):
        target, request = spec
        self.send_request_async(target, request)


class Router(BusinessProcess):
    """Calls Carrier asynchronously and writes what answered it to a file."""

    Folder = setting("")

    def on_request(self, request):
        self.send_request_async("Carrier", request, completion_key="ship")

    def on_response(self, request, response, call_request, call_response, completion_key):
        with open(os.path.join(self.Folder, f"routed-{request.n}"), "w") as fh:
            fh.write(f"{call_response.carrier} {call_response.n}")
        self.reply(call_response)


class SyncRouter(BusinessProcess):
    """Calls Carrier synchronously and writes what answered it to a file."""

    Folder = setting("")

    def on_request(self, request):
        answer = self.send_request_sync("Carrier", request, timeout=60)
        with open(os.path.join(self.Folder, f"routed-{request.n}"), "w") as fh:
            fh.write(f"{answer.carrier} {answer.n}")
        return answer


class Carrier(BusinessOperation):
    """Fails while a file named "down" is in Folder."""

    Folder = setting("")

    def on_message(self, request):
        if os.path.exists(os.path.join(self.Folder, "down")):
            raise ConnectionError("carrier down")
        return Shipped(request.n, "fast")
'''


def _settings(folder: Path) -> str:
    return f'''
prod = Production("{PRODUCTION}", testing_enabled=True)
prod.service("Gateway", Gateway)
prod.process("Router", Router).host_setting("Folder", {str(folder)!r})
prod.process("SyncRouter", SyncRouter).host_setting("Folder", {str(folder)!r})
prod.operation("Carrier", Carrier).host_settings_update({{
    "Folder": {str(folder)!r}, "ReplyCodeActions": "E=S"}})
PRODUCTIONS = [prod]
'''


@pytest.fixture
def repair(make_project: Any, tmp_path: Path) -> Any:
    folder = tmp_path / "carrier"
    folder.mkdir()
    project = make_project(COMPONENTS, _settings(folder))
    project.migrate()
    project.start(PRODUCTION)
    return project.import_module(), Director().get_business_service("Gateway"), folder


def _request_to(store: Any, target: str, session: int | None = None) -> Any:
    found = [h for h in store.query_headers(target=target, type="request", limit=0)
             if session is None or h.session_id == session]
    assert len(found) == 1, found
    return found[0]


def test_a_resubmitted_call_answers_the_process_that_waits(
        repair: Any, store: Any, wait_for: Any, iop_json: Any, run_iop: Any,
        tmp_path: Path) -> None:
    """A business process that called asynchronously keeps waiting while its call is
    suspended; the resubmitted call's response reaches its on_response, and so does an
    edited copy's; a discarded call answers it with an error. A synchronous caller was
    answered with the error at once: the list and the log say its response cannot reach it,
    and the late response is kept in the trace only."""
    module, gateway, folder = repair
    (folder / "down").write_text("")
    for n, target in ((1, "Router"), (2, "SyncRouter"), (3, "Router"), (4, "Router")):
        gateway.on_process_input((target, module.Order(n)))
    wait_for(lambda: len(iop_json("--suspended")) == 4, timeout=60,
             what="four calls to Carrier suspended")
    calls = {json.loads(store.get_body(store.get_header(m["id"])))["n"]: m
             for m in iop_json("--suspended")}
    assert {n: m["response_route"] for n, m in calls.items()} == {
        1: "process", 2: "answered", 3: "process", 4: "process"}
    assert "its response goes to business process Router, whose" in calls[1]["response_to"]
    assert "cannot reach SyncRouter: the caller called synchronously" in calls[2]["response_to"]
    processes = {n: _request_to(store, "Router" if n != 2 else "SyncRouter",
                                store.get_header(m["id"]).session_id) for n, m in calls.items()}
    wait_for(lambda: store.get_header(processes[2].id).status == "error", timeout=30,
             what="the synchronous caller to fail at once")
    for n in (1, 3, 4):  # the async callers wait, in progress, no error response yet
        assert store.get_header(processes[n].id).status == "delivered"
        assert store.find_response(calls[n]["id"]) is None

    (folder / "down").unlink()
    done = run_iop("--resubmit", calls[1]["id"], calls[2]["id"])
    assert json.loads(done.stdout) == [
        {"id": calls[1]["id"], "status": "queued"}, {"id": calls[2]["id"], "status": "queued"}]
    assert done.stderr.splitlines() == [  # where each response goes, in words
        f"message {calls[1]['id']}: {calls[1]['response_to']}",
        f"message {calls[2]['id']}: {calls[2]['response_to']}"]
    assert iop_json("--discard", calls[3]["id"]) == [
        {"id": calls[3]["id"], "status": "discarded"}]
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps({"n": 40}))
    copy_id = iop_json("--resubmit", calls[4]["id"], "-B", f"@{edited}")["resubmitted_as"]

    wait_for(lambda: (folder / "routed-1").exists() and (folder / "routed-4").exists(),
             timeout=60, what="the responses to reach Router's on_response")
    assert (folder / "routed-1").read_text() == "fast 1"
    assert (folder / "routed-4").read_text() == "fast 40"  # the edited copy's response
    wait_for(lambda: store.get_header(processes[1].id).status == "completed"
             and store.get_header(processes[4].id).status == "completed", timeout=30,
             what="Router's requests to complete")
    wait_for(lambda: store.get_header(processes[3].id).status == "error", timeout=30,
             what="the discarded call to fail its process")
    assert "discarded by an operator" in (store.get_header(processes[3].id).error or "")

    wait_for(lambda: store.get_header(calls[2]["id"]).status == "completed", timeout=30,
             what="the synchronous caller's call to complete")
    late = store.find_response(calls[2]["id"])
    assert late is not None and late[0].status == "discarded"  # kept for the trace only
    assert not (folder / "routed-2").exists()
    assert store.get_header(processes[2].id).status == "error"
    notes = [e.text for e in store.log_since(0) if e.source_class == "iop.engine.suspended"]
    assert any(t.startswith(f"message {calls[2]['id']} resubmitted; its response cannot "
                            "reach SyncRouter") for t in notes)
    assert any(t.startswith(f"message {calls[1]['id']} resubmitted; its response goes to "
                            "business process Router") for t in notes)
    assert store.get_header(copy_id).status == "completed"
