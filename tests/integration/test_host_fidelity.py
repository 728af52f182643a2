"""Hosts in a running production behave as IoP's: on_connected reaches adapters too, an
InboundAdapter's default on_task does nothing, a message no handler takes is a logged warning,
and sending something that is not a message fails at the sender with IoP's TypeError."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

PRODUCTION = "Fidelity.Hosts"

COMPONENTS = '''
def _record(path, **event):
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(event) + "\\n")


class WatchAdapter(OutboundAdapter):
    def on_connected(self):
        _record(self.business_host.OutFile, event="adapter.on_connected")


class Silent(BusinessOperation):
    OutFile = setting("")

    @classmethod
    def get_adapter_type(cls):
        return f"Python.{__name__}.WatchAdapter"

    def on_connected(self):
        _record(self.OutFile, event="on_connected")


class Idle(InboundAdapter):
    pass


class Fed(BusinessService):
    OutFile = setting("")

    @classmethod
    def get_adapter_type(cls):
        return f"Python.{__name__}.Idle"

    def on_process_input(self, request):
        _record(self.OutFile, event="fed")


class Sender(BusinessProcess):
    def on_request(self, request):
        return self.send_request_sync("Silent", 42)
'''


def _events(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [json.loads(line)["event"] for line in path.read_text().splitlines() if line.strip()]


def test_hosts_behave_as_iop(make_project: Any, run_iop: Any, store: Any, tmp_path: Path,
                             wait_for: Any) -> None:
    events = tmp_path / "events.jsonl"
    project = make_project(COMPONENTS, f'''
        prod = Production("{PRODUCTION}", testing_enabled=True)
        prod.service("Fed", Fed).host_setting("OutFile", {str(events)!r}) \\
            .adapter_setting("CallInterval", "1")
        prod.process("Sender", Sender)
        prod.operation("Silent", Silent).host_setting("OutFile", {str(events)!r})
        PRODUCTIONS = [prod]
        ''')
    project.migrate()
    project.start(PRODUCTION)
    wait_for(lambda: {"adapter.on_connected", "on_connected"} <= set(_events(events)),
             timeout=30, what="on_connected on the adapter and on its host")
    order = _events(events)
    assert order.index("adapter.on_connected") < order.index("on_connected")

    # No handler and no on_message: the message completes, with IoP's warning in the log.
    assert run_iop("-t", "Silent").stdout.strip() == "{}"
    warnings = [e.text for e in store.log_since(0) if e.type == "warning" and e.item == "Silent"]
    assert ("RuntimeWarning: Silent did not override on_message(); the incoming operation "
            "message was ignored. This default no-op handler will raise NotImplementedError "
            "in v5.0.") in warnings, warnings

    refused = run_iop("-t", "Sender", check=False)
    assert refused.returncode == 1
    assert ("The message must be an instance of a class that is a subclass of Message or "
            "IRISObject %Persistent class.") in refused.stderr
    assert store.query_headers(source="Sender", target="Silent") == []

    time.sleep(2.5)  # two CallIntervals: the default on_task would have fed the service twice
    assert "fed" not in _events(events)
    run_iop("-S")
