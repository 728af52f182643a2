"""The Director and the lifecycle helpers on real productions: testing a disabled item fails at
once instead of waiting for ever, and start/stop_component work on a suspended production."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from iop import Director, Production
from iop.engine.errors import EngineError, NotRunning

PRODUCTION = "Director.Production"
OTHER = "Director.Other"

COMPONENTS = '''
@dataclass
class Ping(Message):
    text: str = ""
    delay: float = 0.0


class Gateway(BusinessService):
    def on_process_input(self, request):
        return self.send_request_sync("Echo", request, timeout=120)


class Echo(BusinessOperation):
    def on_message(self, request):
        time.sleep(request.delay)
        return Ping("echo:" + request.text)
'''

SETTINGS = f'''
prod = Production("{PRODUCTION}", testing_enabled=True)
prod.service("Gateway", Gateway)
prod.operation("Echo", Echo)
prod.operation("Off", Echo).disable()
other = Production("{OTHER}")
other.operation("Solo", Echo)
PRODUCTIONS = [prod, other]
'''


@pytest.fixture
def running(make_project: Any, run_iop: Any) -> Any:
    """The project migrated and started detached; its component module, imported here."""
    project = make_project(COMPONENTS, SETTINGS)
    project.migrate()
    project.start(PRODUCTION)
    yield project.import_module()
    run_iop("-k")


def test_testing_a_disabled_item_fails_at_once_and_queues_nothing(running: Any, store: Any,
                                                                   run_iop: Any) -> None:
    Ping = running.Ping
    prod = Production.from_iris(PRODUCTION)
    refusal = f"item Off is disabled in production {PRODUCTION}; enable it"
    for attempt in (lambda: Director().test_component("Off", Ping("x")),
                    lambda: prod.item("Off").test(Ping("x")),
                    lambda: prod.test_component("Off", classname=f"{running.__name__}.Ping",
                                                body='{"text": "x"}')):
        started = time.monotonic()
        with pytest.raises(NotRunning, match=refusal):
            attempt()
        assert time.monotonic() - started < 10
    assert store.query_headers(target="Off", limit=0) == []  # nothing left waiting
    failed = run_iop("-t", "Off", check=False)
    assert failed.returncode != 0 and refusal in failed.stderr
    # An enabled item answers, through the Director and through the production's helpers.
    assert Director().test_component("Echo", Ping("y")) == Ping("echo:y")
    assert prod.item("Echo").test(Ping("z")) == Ping("echo:z")
    # Once enabled, the item that was refused answers too.
    prod.start_component("Off")
    assert prod.test_component("Off", Ping("on")) == Ping("echo:on")
    prod.kill()  # IoP's shutdown: a stop, forced after 10 s
    assert Director().status_production() == {"Production": PRODUCTION, "Status": "stopped"}


def test_start_and_stop_component_on_a_suspended_production(running: Any, store: Any,
                                                             run_iop: Any, iop_json: Any,
                                                             wait_for: Any) -> None:
    Ping = running.Ping
    gateway = Director().get_business_service("Gateway")
    answers: list[Any] = []

    def call(text: str, delay: float) -> None:
        try:
            answers.append(gateway.on_process_input(Ping(text, delay)))
        except EngineError as exc:
            answers.append(exc)

    # The first call keeps the only Echo job busy past the stop; the second stays queued.
    callers = [threading.Thread(target=call, args=("slow", 6.0)),
               threading.Thread(target=call, args=("queued", 0.0))]
    callers[0].start()
    wait_for(lambda: [h.status for h in store.query_headers(target="Echo", type="request",
                                                            limit=0)] == ["delivered"],
             what="the slow call to be taken")
    callers[1].start()
    wait_for(lambda: len(store.query_headers(target="Echo", type="request", limit=0)) == 2,
             what="the second call to be queued")
    run_iop("-S")
    assert iop_json("-x") == {"Production": PRODUCTION, "Status": "suspended"}

    prod = Production.from_iris(PRODUCTION)
    prod.stop_component("Off")  # already disabled: saved again, no error
    prod.item("Echo").stop()
    assert Production.from_iris(PRODUCTION).item("Echo").enabled is False
    Director().start_component("Echo")
    prod.start_component("Off")
    deployed = Production.from_iris(PRODUCTION)
    assert (deployed.item("Echo").enabled, deployed.item("Off").enabled) == (True, True)
    assert iop_json("-x") == {"Production": PRODUCTION, "Status": "suspended"}

    prod.start()  # the suspended production starts again and answers its waiting callers
    for caller in callers:
        caller.join(60)
    assert sorted(a.text for a in answers) == ["echo:queued", "echo:slow"]
    assert iop_json("-x")["Status"] == "running"


def test_component_helpers_of_a_stopped_namespace_act_on_the_default_production(
        running: Any, run_iop: Any, store: Any) -> None:
    run_iop("-S")
    main, other = Production.from_iris(PRODUCTION), Production.from_iris(OTHER)
    assert main.status() == {"Production": PRODUCTION, "Status": "stopped"}
    other.set_default()  # the last one run stays Director.Production
    assert Director().status_production() == {"Production": OTHER, "Status": "stopped"}
    with pytest.raises(RuntimeError, match=f"Cannot stop component 'Echo' in production "
                                           f"'{PRODUCTION}': current/default production is "
                                           f"'{OTHER}'"):
        main.stop_component("Echo")
    other.stop_component("Solo")
    assert Production.from_iris(OTHER).item("Solo").enabled is False
    assert Production.from_iris(PRODUCTION).item("Echo").enabled is True
    with pytest.raises(RuntimeError, match=f"Production '{PRODUCTION}' exists but is not "
                                           f"running \\(current default production is "
                                           f"'{OTHER}'\\)"):
        main.test_component("Echo")
