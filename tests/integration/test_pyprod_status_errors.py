"""Acceptance: error statuses returned from pyprod callbacks fail the message, lose nothing,
and later messages still complete."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path
from typing import Any

SCRIPT = '''
from intersystems_pyprod import (BusinessOperation, BusinessProcess, BusinessService,
                                 InboundAdapter, IRISLog, IRISParameter, IRISProperty,
                                 JsonSerialize, Status)

iris_package_name = "statuserr"


class Item(JsonSerialize):
    n: int


class Counter(InboundAdapter):
    sent = IRISProperty(False)

    def OnTask(self):
        if not self.sent:
            self.sent = True
            for n in range(1, 7):
                self.business_host_process_input(n)
        return Status.OK()


class Feeder(BusinessService):
    ADAPTER = IRISParameter("statuserr.Counter")
    target = IRISProperty(settings="Basic")

    def OnProcessInput(self, input):
        status, response = self.SendRequestSync(self.target, Item(input))
        if status:
            IRISLog.Info(f"item {input} -> {response.n}")
        return status


class Gate(BusinessProcess):
    target = IRISProperty(settings="Basic")

    def OnRequest(self, request):
        status, response = self.SendRequestSync(self.target, request)
        return status, response


class Picky(BusinessOperation):
    MessageMap = {"statuserr.Item": "check"}

    def check(self, request):
        if request.n % 3 == 0:
            return Status.ERROR(f"item {request.n} is a multiple of three")
        return Status.OK(), Item(request.n * 10)
'''

SETTINGS = '''
from iop import Production

prod = Production("StatusErrors")
prod.service("Feeder", "statuserr.Feeder", settings={"target": "Gate"})
prod.process("Gate", "statuserr.Gate", settings={"target": "Picky"})
prod.operation("Picky", "statuserr.Picky")
PRODUCTIONS = [prod]
'''


def test_error_status_marks_the_message_and_the_rest_complete(
        tmp_path: Path, iop_home: Path, python_exe: str, run_iop: Any, store: Any,
        wait_for: Any) -> None:
    (tmp_path / "StatusErrors.py").write_text(textwrap.dedent(SCRIPT), encoding="utf-8")
    (tmp_path / "settings.py").write_text(textwrap.dedent(SETTINGS), encoding="utf-8")
    env = {**os.environ, "IOP_HOME": str(iop_home)}
    loaded = subprocess.run([python_exe, "-m", "intersystems_pyprod",
                             str(tmp_path / "StatusErrors.py")], env=env, capture_output=True,
                            text=True, timeout=60)
    assert loaded.returncode == 0, loaded.stderr
    run_iop("-m", tmp_path / "settings.py")
    run_iop("-s", "StatusErrors", "-D")

    def answered() -> list[Any]:
        replies = store.query_headers(source="Gate", target="Feeder")
        return replies if len(replies) == 6 else []

    wait_for(answered, timeout=60, what="six answers from Gate")
    run_iop("-S")

    def by_item(source: str, target: str) -> dict[int, Any]:
        found = {}
        for header in store.query_headers(source=source, target=target):
            if header.type == "request":
                found[json.loads(store.get_body(header))["n"]] = header
        return found

    picky = by_item("Gate", "Picky")
    gate = by_item("Feeder", "Gate")
    assert sorted(picky) == sorted(gate) == [1, 2, 3, 4, 5, 6]  # nothing lost
    for n in (1, 2, 4, 5):
        assert picky[n].status == gate[n].status == "completed", (n, picky[n], gate[n])
    for n in (3, 6):
        assert picky[n].status == "error" and gate[n].status == "error"
        assert picky[n].error == f"StatusError: ERROR #5001: item {n} is a multiple of three"
        assert f"item {n} is a multiple of three" in gate[n].error, gate[n].error
    # Item 4 was handled after item 3 failed, by the same jobs.
    assert picky[4].id > picky[3].id

    # Every request got exactly one response, errored ones included.
    for source, target in (("Picky", "Gate"), ("Gate", "Feeder")):
        responses = [h for h in store.query_headers(source=source, target=target)
                     if h.type == "response"]
        assert len(responses) == 6
        assert sorted(h.status for h in responses) == ["completed"] * 4 + ["error"] * 2

    entries = store.log_top(200)
    infos = {e.text for e in entries if e.type == "info" and e.item == "Feeder"}
    assert {"item 1 -> 10", "item 2 -> 20", "item 4 -> 40", "item 5 -> 50"} <= infos
    picky_errors = [e for e in entries if e.type == "error" and e.item == "Picky"]
    assert len(picky_errors) == 2
    assert all("is a multiple of three" in e.text and "Traceback" in e.text for e in picky_errors)
    assert {e.session_id for e in picky_errors} == {picky[3].session_id, picky[6].session_id}
    feeder_errors = [e.text for e in entries if e.type == "error" and e.item == "Feeder"]
    assert len(feeder_errors) == 2
    assert all(t.startswith("Feeder.OnProcessInput returned ERROR #5001: ") for t in feeder_errors)
