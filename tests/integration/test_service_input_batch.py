"""A service input's asynchronous sends are committed together, and never held back.

The production runs detached as real OS processes; a Director service in the test process
sends, and the store is read directly after each input returns.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from iop import Director
from iop.engine.input_batch import MAX_DRAFTS

PRODUCTION = "InputBatch.Production"

COMPONENTS = '''
import os
import time


@dataclass
class Order(Message):
    n: int = 0
    note: str = ""


@dataclass
class Plan(Message):
    count: int = 0
    then_sync: bool = False
    fail_after: bool = False
    wait_for_file: str = ""


class Dispatcher(BusinessService):
    """Sends ``count`` orders asynchronously, then as the plan says."""

    def on_process_input(self, plan):
        self.log_info(f"dispatching {plan.count}")
        for n in range(plan.count):
            self.send_request_async("Sink", Order(n))
        if plan.wait_for_file:
            deadline = time.monotonic() + 60
            while not os.path.exists(plan.wait_for_file) and time.monotonic() < deadline:
                time.sleep(0.02)
        if plan.then_sync:
            return self.send_request_sync("Echo", Order(plan.count, "last"))
        if plan.fail_after:
            raise ValueError("the input failed after its sends")
        return None


class Sink(BusinessOperation):
    def on_message(self, request):
        return None


class Echo(BusinessOperation):
    def on_message(self, request):
        return Order(request.n, request.note.upper())
'''

SETTINGS = f'''
prod = Production("{PRODUCTION}")
prod.service("Dispatcher", Dispatcher)
prod.operation("Sink", Sink).pool(2)
prod.operation("Echo", Echo)
PRODUCTIONS = [prod]
'''


@pytest.fixture
def running(make_project: Any) -> Any:
    project = make_project(COMPONENTS, SETTINGS)
    project.migrate()
    project.start(PRODUCTION)
    module = project.import_module()
    return module, Director().get_business_service("Dispatcher")


def _orders(store: Any, module: Any) -> list[Any]:
    return sorted(store.query_headers(target="Sink", type="request", limit=0),
                  key=lambda h: h.id)


def test_an_inputs_sends_are_all_stored_when_it_returns_in_one_session_in_order(
        running: Any, store: Any, wait_for: Any) -> None:
    module, dispatcher = running
    count = 2 * MAX_DRAFTS + 37  # more than one batch's worth
    answer = dispatcher.on_process_input(module.Plan(count=count, then_sync=True))
    assert (answer.n, answer.note) == (count, "LAST")

    orders = _orders(store, module)  # read right after the input returned
    assert len(orders) == count
    numbers = [json.loads(store.get_body(h))["n"] for h in orders]
    assert numbers == list(range(count)), "sends are stored in the order the input made them"
    session = orders[0].session_id
    assert session == orders[0].id  # the input's first send opens its session
    assert {h.session_id for h in orders} == {session}
    (last,) = store.query_headers(target="Echo", type="request", limit=0)
    assert last.session_id == session and last.id > orders[-1].id
    # The log line written before the first send belongs to the session too.
    assert any(e.text == f"dispatching {count}" and e.session_id == session
               for e in store.log_top(50))

    wait_for(lambda: store.count_by_status().get("queued", 0) == 0
             and len([h for h in _orders(store, module) if h.status == "completed"]) == count,
             timeout=60, what="every order to complete")


def test_an_input_that_works_on_after_a_send_does_not_hold_the_message_back(
        running: Any, store: Any, wait_for: Any, tmp_path: Path) -> None:
    module, dispatcher = running
    signal = tmp_path / "go-on"
    outcome: list[Any] = []
    worker = threading.Thread(target=lambda: outcome.append(dispatcher.on_process_input(
        module.Plan(count=1, wait_for_file=str(signal)))))
    worker.start()
    try:
        # Stored and even delivered while the input is still busy.
        wait_for(lambda: [h for h in _orders(store, module) if h.status == "completed"],
                 timeout=10, what="the held message to be committed and completed")
        assert worker.is_alive(), "the input must still be running"
    finally:
        signal.write_text("done")
        worker.join(30)
    assert outcome == [None]


def test_sends_made_before_an_input_fails_are_kept_and_the_caller_sees_the_error(
        running: Any, store: Any, wait_for: Any) -> None:
    module, dispatcher = running
    with pytest.raises(ValueError, match="the input failed after its sends"):
        dispatcher.on_process_input(module.Plan(count=3, fail_after=True))
    orders = _orders(store, module)
    assert len(orders) == 3
    assert len({h.session_id for h in orders}) == 1
    wait_for(lambda: all(h.status == "completed" for h in _orders(store, module)),
             timeout=30, what="the three orders to complete")


def test_each_input_is_its_own_session(running: Any, store: Any) -> None:
    module, dispatcher = running
    for _ in range(3):
        dispatcher.on_process_input(module.Plan(count=5))
    sessions = [h.session_id for h in _orders(store, module)]
    assert len(sessions) == 15
    assert [sessions.count(s) for s in dict.fromkeys(sessions)] == [5, 5, 5]
