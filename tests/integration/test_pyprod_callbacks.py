"""The rest of pyprod's callback contract in one running production.

* ``OnTask`` returning an error status: logged against the service, the adapter keeps polling.
* ``business_host_process_input`` handing back the service's ``(status, output)``.
* PickleSerialize messages carrying values JSON cannot hold (sets, plain Python objects)
  through the store and back, with their ``Column`` fields readable in the stored body.
* A business operation sending with ``SendRequestAsync``.
* ``OnInit`` returning an error status: that item does not start, says why, and the others run.
* The production stops without a job being killed.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path
from typing import Any

SCRIPT = '''
from intersystems_pyprod import (BusinessOperation, BusinessService, Column, InboundAdapter,
                                 IRISLog, IRISParameter, IRISProperty, JsonSerialize,
                                 PickleSerialize, Status)

iris_package_name = "cb"


class Reading:
    """A plain Python object: a JSON message could not carry it."""

    def __init__(self, value):
        self.value = value


class Batch(PickleSerialize):
    label = Column()
    readings: list


class Total(PickleSerialize):
    label = Column()
    values: set


class Note(JsonSerialize):
    text: str


class Ticker(InboundAdapter):
    ticks = IRISProperty(0)

    def OnTask(self):
        self.ticks += 1
        if self.ticks == 1:
            return Status.ERROR("sensor not ready")
        if self.ticks > 3:
            return Status.OK()
        status, total = self.business_host_process_input(self.ticks)
        IRISLog.Info(f"adapter got {total.label}")
        return status


class Sensor(BusinessService):
    ADAPTER = IRISParameter("cb.Ticker")
    target = IRISProperty(settings="Basic")

    def OnProcessInput(self, input):
        batch = Batch(f"batch {input}", [Reading(input), Reading(input * 10), Reading(input)])
        status, total = self.SendRequestSync(self.target, batch)
        if status:
            IRISLog.Info(f"{total.label}: {sorted(total.values)}")
        return status, total


class Summer(BusinessOperation):
    MessageMap = {"cb.Batch": "add"}

    def add(self, request):
        values = {reading.value for reading in request.readings}
        status = self.SendRequestAsync("Audit", Note(f"{request.label} has {len(values)} values"))
        return status, Total(f"total of {request.label}", values)


class Audit(BusinessOperation):
    def OnMessage(self, request):
        IRISLog.Info(f"audit: {request.text}")
        return Status.OK()


class Printer(BusinessOperation):
    def OnInit(self):
        return Status.ERROR("no connection to the printer")

    def OnMessage(self, request):
        return Status.OK()
'''

SETTINGS = '''
from iop import Production

prod = Production("Callbacks")
prod.service("Sensor", "cb.Sensor", settings={"target": "Summer"},
             adapter_settings={"CallInterval": 1})
prod.operation("Summer", "cb.Summer")
prod.operation("Audit", "cb.Audit")
prod.operation("Printer", "cb.Printer")
PRODUCTIONS = [prod]
'''


def test_callbacks_pickled_messages_and_failing_starts(
        tmp_path: Path, iop_home: Path, python_exe: str, run_iop: Any, store: Any,
        wait_for: Any) -> None:
    (tmp_path / "Callbacks.py").write_text(textwrap.dedent(SCRIPT), encoding="utf-8")
    (tmp_path / "settings.py").write_text(textwrap.dedent(SETTINGS), encoding="utf-8")
    env = {**os.environ, "IOP_HOME": str(iop_home)}
    loaded = subprocess.run([python_exe, "-m", "intersystems_pyprod",
                             str(tmp_path / "Callbacks.py")], env=env, capture_output=True,
                            text=True, timeout=60)
    assert loaded.returncode == 0, loaded.stderr
    assert "Loading Batch to IRIS..." in loaded.stdout
    run_iop("-m", tmp_path / "settings.py")
    run_iop("-s", "Callbacks", "-D")

    def audited() -> list[str]:
        lines = sorted(e.text for e in store.log_top(200) if e.item == "Audit")
        return lines if len(lines) == 2 else []

    def printer_failed() -> list[str]:
        return [e.text for e in store.log_top(200) if e.item == "Printer" and e.type == "error"]

    assert wait_for(audited, timeout=60, what="two audit lines") == \
        ["audit: batch 2 has 2 values", "audit: batch 3 has 2 values"]
    failures = wait_for(printer_failed, timeout=30, what="Printer's start failure")
    run_iop("-S")

    # OnInit's error status: the item says why it did not start; the others ran regardless.
    assert "Printer" in failures[0] and "no connection to the printer" in failures[0], failures

    entries = store.log_top(300)
    sensor = [(e.type, e.text) for e in entries if e.item == "Sensor"]
    # OnTask's error status went to the log once; polling went on to ticks 2 and 3.
    assert sensor.count(("error", "Ticker.OnTask returned ERROR #5001: sensor not ready")) == 1
    for n in (2, 3):
        assert ("info", f"total of batch {n}: [{n}, {n * 10}]") in sensor
        assert ("info", f"adapter got total of batch {n}") in sensor
    # The only warnings are the supervisor's restarts of Printer; no job had to be killed.
    warnings = [e.text for e in entries if e.type == "warning"]
    assert warnings and all(t.startswith("job 0 of item Printer ended") for t in warnings), warnings

    # Each pickled request and its pickled response, completed, in one session per tick.
    requests = sorted(store.query_headers(source="Sensor", target="Summer"), key=lambda h: h.id)
    assert [(h.body_class, h.status) for h in requests] == [("cb.Batch", "completed")] * 2
    for request in requests:
        session = sorted(store.query_headers(session_id=request.session_id), key=lambda h: h.id)
        # (The engine writes a handler's response before the sends it made; order aside.)
        assert session[0].id == request.id
        assert sorted((h.source, h.target, h.body_class, h.status) for h in session) == [
            ("Sensor", "Summer", "cb.Batch", "completed"),
            ("Summer", "Audit", "cb.Note", "completed"),
            ("Summer", "Sensor", "cb.Total", "completed"),
        ]
        body = json.loads(store.get_body(request))
        # The Column field is readable as stored; the rest travels in the pickle.
        assert set(body) == {"label", "SerializedStream"} and body["label"].startswith("batch ")
