"""The change workflow on a suspended production (stopped with synchronous requests queued):
--apply-plan and --rollback-backup save their change and succeed; the change shows when the
production starts again, and the queued requests are still answered."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from iop import Director
from iop.engine.errors import EngineError

PRODUCTION = "Suspend.Production"

COMPONENTS = '''
@dataclass
class Work(Message):
    n: int = 0
    delay: float = 0.0


class Gateway(BusinessService):
    def on_process_input(self, request):
        return self.send_request_sync("Worker", request, timeout=120)


class Worker(BusinessOperation):
    Delay = setting(0.0)

    def on_message(self, request):
        time.sleep(request.delay or self.Delay)
        return Work(request.n)
'''


def _settings(pool_size: int) -> str:
    return f'''
prod = Production("{PRODUCTION}")
prod.service("Gateway", Gateway)
prod.operation("Worker", Worker, pool_size={pool_size}).host_setting("Delay", 0.01)
PRODUCTIONS = [prod]
'''


def _suspend(project: Any, store: Any, wait_for: Any, run_iop: Any,
             answers: list[Any]) -> list[threading.Thread]:
    """Start the production, keep its only Worker job busy while a second synchronous call
    queues behind it, then stop: the production is left suspended."""
    project.migrate()
    project.start(PRODUCTION)
    module = project.import_module()
    gateway = Director().get_business_service("Gateway")

    def call(n: int, delay: float) -> None:
        try:
            answers.append(gateway.on_process_input(module.Work(n, delay=delay)))
        except EngineError as exc:
            answers.append(exc)

    callers = [threading.Thread(target=call, args=(1, 6.0)),
               threading.Thread(target=call, args=(2, 0.1))]
    callers[0].start()
    wait_for(lambda: [h.status for h in store.query_headers(target="Worker", limit=0)
                      if h.type == "request"] == ["delivered"], timeout=30,
             what="the first call to be taken")
    callers[1].start()
    wait_for(lambda: len(store.query_headers(target="Worker", type="request", limit=0)) == 2,
             timeout=30, what="the second call to be queued")
    run_iop("-S")
    return callers


def test_apply_and_rollback_succeed_on_a_suspended_production(
        make_project: Any, store: Any, wait_for: Any, iop_json: Any, run_iop: Any,
        tmp_path: Path) -> None:
    project = make_project(COMPONENTS, _settings(1))
    answers: list[Any] = []
    callers = _suspend(project, store, wait_for, run_iop, answers)
    assert iop_json("-x") == {"Production": PRODUCTION, "Status": "suspended"}

    project.write_settings(_settings(2))
    plan_path = tmp_path / "plan.json"
    run_iop("--plan", project.settings, "--production", PRODUCTION, "--out", plan_path)
    applied = run_iop("--apply-plan", plan_path, "--settings", project.settings,
                      "--backup-dir", tmp_path / "backups")
    assert applied.returncode == 0, applied.stderr
    assert "Running production" not in applied.stdout  # nothing runs to update
    assert iop_json("-e", PRODUCTION)["Production"]["Item"][1]["@PoolSize"] == "2"
    assert run_iop("--verify-plan", plan_path).returncode == 0

    [backup] = list((tmp_path / "backups").iterdir())
    rolled = run_iop("--rollback-backup", backup, "--allow-destructive")
    assert rolled.returncode == 0, rolled.stderr
    assert rolled.stdout.splitlines() == [f"Production {PRODUCTION} restored from {backup}"]
    assert iop_json("-e", PRODUCTION)["Production"]["Item"][1]["@PoolSize"] == "1"
    assert iop_json("-x") == {"Production": PRODUCTION, "Status": "suspended"}

    run_iop("-s", PRODUCTION, "-D")  # the queued call is answered after the restart
    for caller in callers:
        caller.join(timeout=90)
    assert not any(caller.is_alive() for caller in callers)
    assert sorted(answer.n for answer in answers if not isinstance(answer, Exception)) == [1, 2]
    run_iop("-S")
