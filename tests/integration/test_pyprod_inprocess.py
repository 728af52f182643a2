"""pyprod hosts built by the engine in this process (as a Director does), on a real store."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from intersystems_pyprod import loader
from iop import Director, Production

SCRIPT = '''
from intersystems_pyprod import (BusinessService, IRISLog, IRISProperty, JsonSerialize,
                                 Status)

iris_package_name = "inproc"


class Note(JsonSerialize):
    text: str


class Intake(BusinessService):
    target = IRISProperty(settings="Basic")
    limit = IRISProperty(2, datatype="int", settings="Basic")

    def __init__(self, iris_host_object):
        super().__init__(iris_host_object)
        self.accepted = 0

    def OnInit(self):
        IRISLog.Trace("trace line")
        IRISLog.Alert("alert line")
        IRISLog.Error("error line")
        IRISLog.Assert("assert line")
        IRISLog.Status(Status.ERROR("status line"))
        return Status.OK()

    def OnProcessInput(self, input):
        if self.accepted >= self.limit:
            IRISLog.Warning(f"refused {input}")
            return Status.ERROR(f"limit of {self.limit} reached")
        status = self.SendRequestAsync(self.target, Note(input))
        self.accepted += 1
        IRISLog.Info(f"accepted {input}")
        return status
'''


@pytest.fixture
def intake(tmp_path: Path, store: Any) -> Any:
    """The Intake service of a stored (not running) production, made by a Director."""
    script = tmp_path / "InProc.py"
    script.write_text(textwrap.dedent(SCRIPT), encoding="utf-8")
    loader.load(store, loader.import_script(str(script)), echo=lambda line: None)
    prod = Production("InProc")
    prod.service("Intake", "inproc.Intake", settings={"target": "Archive", "limit": 1})
    prod.operation("Archive", "EnsLib.File.PassthroughOperation",
                   adapter_settings={"FilePath": str(tmp_path / "out")})
    store.save_production("InProc", prod.to_dict())
    store.set_meta("default_production", "InProc")
    return Director(store=store).create_business_service("Intake")


def test_director_service_sends_and_logs(intake: Any, store: Any) -> None:
    assert intake.limit == 1 and intake.accepted == 0  # settings applied, __init__ ran
    assert intake.on_process_input("first")
    headers = store.query_headers(target="Archive")
    assert [(h.source, h.body_class, h.status) for h in headers] == \
        [("Intake", "inproc.Note", "queued")]
    refused = intake.on_process_input("second")
    assert not refused and refused.text == "limit of 1 reached"
    entries = {e.text: e for e in store.log_top(10)}
    accepted = entries["accepted first"]
    assert (accepted.type, accepted.item, accepted.source_method) == ("info", "Intake",
                                                                     "OnProcessInput")
    assert accepted.source_class.endswith("InProc.Intake")
    assert entries["refused second"].type == "warning"
    assert len(store.query_headers(target="Archive")) == 1


def test_every_irislog_level_reaches_the_event_log(intake: Any, store: Any) -> None:
    found = {e.text: (e.type, e.item, e.source_method) for e in store.log_top(20)}
    assert found["trace line"] == ("trace", "Intake", "OnInit")
    assert found["alert line"][0] == "alert" and found["error line"][0] == "error"
    assert found["assert line"][0] == "assert"
    assert found["ERROR #5001: status line"] == ("error", "Intake", "OnInit")


def test_error_status_from_a_service_input_is_logged(intake: Any, store: Any) -> None:
    adapterless_input = intake._iop_process_input  # what an inbound adapter calls
    assert adapterless_input("one")
    assert not adapterless_input("two")
    errors = [e for e in store.log_top(10) if e.type == "error" and e.source_method != "OnInit"]
    assert [e.text for e in errors] == [
        "Intake.OnProcessInput returned ERROR #5001: limit of 1 reached"]
    assert errors[0].item == "Intake"


def test_service_log_lines_carry_the_session_they_started(intake: Any, store: Any) -> None:
    intake._iop_process_input("one")
    sent = store.query_headers(target="Archive")[0]
    logged = next(e for e in store.log_top(10) if e.text == "accepted one")
    assert logged.session_id == sent.session_id
