"""Resubmitting a suspended request, with real processes: a business process calls an
operation that fails and suspends the call; the operator fixes the cause and resubmits
(``iop --resubmit``); where does the response go?

Two business processes call the same operation: Router asynchronously (its instance waits,
persisted, for on_response), SyncRouter synchronously (its job blocks in send_request_sync).
Each writes a file when the answer reaches it, so the test sees where a response went.
"""

from __future__ import annotations

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
            fh.write(call_response.carrier)
        self.reply(call_response)


class SyncRouter(BusinessProcess):
    """Calls Carrier synchronously and writes what answered it to a file."""

    Folder = setting("")

    def on_request(self, request):
        answer = self.send_request_sync("Carrier", request, timeout=60)
        with open(os.path.join(self.Folder, f"routed-{request.n}"), "w") as fh:
            fh.write(answer.carrier)
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


def test_today_a_resubmitted_call_answers_nobody(repair: Any, store: Any, wait_for: Any,
                                                  iop_json: Any) -> None:
    """Today's behaviour: suspending answers the waiting process with an error at once, so it
    fails; the resubmitted call completes later but its response reaches no one."""
    module, gateway, folder = repair
    (folder / "down").write_text("")
    gateway.on_process_input(("Router", module.Order(1)))
    gateway.on_process_input(("SyncRouter", module.Order(2)))
    wait_for(lambda: len(iop_json("--suspended")) == 2, timeout=60,
             what="both calls to Carrier suspended")
    routed = _request_to(store, "Router")
    sync_routed = _request_to(store, "SyncRouter")
    wait_for(lambda: store.get_header(routed.id).status == "error"
             and store.get_header(sync_routed.id).status == "error", timeout=30,
             what="both processes to fail")

    (folder / "down").unlink()
    ids = [h["id"] for h in iop_json("--suspended")]
    iop_json("--resubmit", *ids)
    wait_for(lambda: all(store.get_header(i).status == "completed" for i in ids), timeout=60,
             what="the resubmitted calls to complete")
    call = _request_to(store, "Carrier", routed.session_id)
    response = store.find_response(call.id)
    wait_for(lambda: store.find_response(call.id)[0].status == "discarded", timeout=30,
             what="the response to Router's call to be discarded")
    assert response is not None
    assert not (folder / "routed-1").exists() and not (folder / "routed-2").exists()
    assert store.get_header(routed.id).status == "error"
    assert store.get_header(sync_routed.id).status == "error"
