"""Acceptance: one production mixing pyprod components, iop components and built-ins.

PyIntake (pyprod service) → Fanout (pyprod process, asynchronous call with OnResponse)
→ Router (iop process) → PyWriter (pyprod operation, MessageMap) and FileOut
(EnsLib.File.PassthroughOperation, a built-in); the pyprod message travels through all of them.
"""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path
from typing import Any

SCRIPT = '''
from intersystems_pyprod import (BusinessOperation, BusinessProcess, BusinessService,
                                 InboundAdapter, IRISLog, IRISParameter, IRISProperty,
                                 JsonSerialize, Status)

iris_package_name = "mixed"


class Note(JsonSerialize):
    text: str


class Receipt(JsonSerialize):
    text: str


class Ticker(InboundAdapter):
    count = IRISProperty(0)

    def on_task(self):
        if self.count < 2:
            self.count += 1
            return self.business_host_process_input(f"note {self.count}")
        return Status.OK()


class PyIntake(BusinessService):
    ADAPTER = IRISParameter("mixed.Ticker")
    target = IRISProperty(settings="Basic")

    def on_process_input(self, input):
        status, receipt = self.send_request_sync(self.target, Note(input))
        if status:
            IRISLog.Info(f"receipt: {receipt.text}")
        return status


class Fanout(BusinessProcess):
    def OnRequest(self, request):
        return self.SendRequestAsync("Router", request, response_required=1,
                                     completion_key="router")

    def OnResponse(self, request, response, call_request, call_response, completion_key):
        IRISLog.Info(f"{completion_key}: {call_response.text} for {call_request.text}")
        return Status.OK(), call_response


class PyWriter(BusinessOperation):
    MessageMap = {"mixed.Note": "write"}

    def write(self, request):
        return Status.OK(), Receipt(f"wrote {request.text}")
'''

ROUTER = '''
from iop import BusinessProcess
from iop.messages.builtin import StringRequest

from Mixed import Note


class Router(BusinessProcess):
    def on_request(self, request: Note):
        receipt = self.send_request_sync("PyWriter", request)
        self.send_request_async("FileOut", StringRequest(request.text), response_required=False)
        return receipt
'''

SETTINGS = '''
from iop import Production
from router import Router

mixed = Production("Mixed")
mixed.service("PyIntake", "mixed.PyIntake", settings={"target": "Fanout"},
              adapter_settings={"CallInterval": 1})
mixed.process("Fanout", "mixed.Fanout")
mixed.process("Router", Router)
mixed.operation("PyWriter", "mixed.PyWriter")
mixed.operation("FileOut", "EnsLib.File.PassthroughOperation", settings={"Filename": "%f_%Q.txt"},
                adapter_settings={"FilePath": OUT})
PRODUCTIONS = [mixed]
'''


def test_pyprod_iop_and_builtin_items_in_one_production(
        tmp_path: Path, iop_home: Path, python_exe: str, run_iop: Any, store: Any,
        wait_for: Any) -> None:
    out = tmp_path / "out"
    (tmp_path / "Mixed.py").write_text(textwrap.dedent(SCRIPT), encoding="utf-8")
    (tmp_path / "router.py").write_text(textwrap.dedent(ROUTER), encoding="utf-8")
    (tmp_path / "settings.py").write_text(f"OUT = {str(out)!r}\n" + textwrap.dedent(SETTINGS),
                                          encoding="utf-8")
    env = {**os.environ, "IOP_HOME": str(iop_home)}
    loaded = subprocess.run([python_exe, "-m", "intersystems_pyprod", str(tmp_path / "Mixed.py")],
                            env=env, capture_output=True, text=True, timeout=60)
    assert loaded.returncode == 0, loaded.stderr
    run_iop("-m", tmp_path / "settings.py")
    run_iop("-s", "Mixed", "-D")

    def receipts() -> list[str]:
        texts = [e.text for e in store.log_top(100) if e.item == "PyIntake" and e.type == "info"]
        return texts if len(texts) == 2 else []

    def written() -> list[str]:
        files = sorted(out.glob("*.txt")) if out.is_dir() else []
        return sorted(f.read_text() for f in files) if len(files) == 2 else []

    assert sorted(wait_for(receipts, timeout=60, what="two receipts")) == \
        ["receipt: wrote note 1", "receipt: wrote note 2"]
    assert wait_for(written, timeout=30, what="two files from FileOut") == ["note 1", "note 2"]
    run_iop("-S")

    fanout_lines = {e.text for e in store.log_top(100) if e.item == "Fanout"}
    assert {"router: wrote note 1 for note 1", "router: wrote note 2 for note 2"} <= fanout_lines

    first = min(h.session_id for h in store.query_headers(source="PyIntake"))
    headers = sorted(store.query_headers(session_id=first), key=lambda h: h.id)
    requests = [(h.source, h.target, h.body_class, h.status) for h in headers
                if h.type == "request"]
    assert requests == [
        ("PyIntake", "Fanout", "mixed.Note", "completed"),
        ("Fanout", "Router", "mixed.Note", "completed"),
        ("Router", "PyWriter", "mixed.Note", "completed"),
        ("Router", "FileOut", "Ens.StringRequest", "completed"),
    ]
    responses = {(h.source, h.target): (h.body_class, h.status) for h in headers
                 if h.type == "response"}
    assert responses[("PyWriter", "Router")] == ("mixed.Receipt", "completed")
    assert responses[("Fanout", "PyIntake")] == ("mixed.Receipt", "completed")
    assert responses[("Router", "Fanout")][0] == "mixed.Receipt"
    assert not [e for e in store.log_top(100) if e.type in ("error", "warning")]
