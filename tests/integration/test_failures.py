"""Fault injection: operations that fail and recover, fail for good, or are told to stop.

Each test ends by accounting for every message it sent: completed, error, discarded or
suspended, never lost, and the alerts it expects are in the event log.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from iop import Director
from iop.engine.errors import EngineError

PRODUCTION = "Faults.Production"

COMPONENTS = '''
@dataclass
class Work(Message):
    n: int = 0
    mode: str = ""


@dataclass
class Done(Message):
    n: int = 0
    attempts: int = 0


class Gateway(BusinessService):
    """Sends (target, request, sync) for the test process."""

    def on_process_input(self, spec):
        target, request, sync = spec
        if sync:
            return self.send_request_sync(target, request, timeout=60)
        self.send_request_async(target, request)


class Remote(BusinessOperation):
    """Stands for a remote system: flaky, down while a file exists, or refusing a message."""

    Folder = setting("")
    FailTimes = setting(2)
    Delay = setting(0.0)

    def on_message(self, request):
        if self.Delay:
            time.sleep(self.Delay)
        if request.mode == "flaky":
            path = os.path.join(self.Folder, f"attempts-{request.n}")
            count = int(open(path).read()) if os.path.exists(path) else 0
            with open(path, "w") as fh:
                fh.write(str(count + 1))
            if count < self.FailTimes:
                raise ConnectionError(f"attempt {count + 1} of message {request.n} refused")
            return Done(request.n, count + 1)
        if request.mode == "down" and os.path.exists(os.path.join(self.Folder, "down")):
            raise ConnectionError("remote system down")
        if request.mode == "invalid":
            error = ValueError(f"message {request.n} is invalid")
            error.code = 6301
            raise error
        return Done(request.n, 1)
'''


def settings(folder: Path, webhook: str, *, extra: str = "") -> str:
    return f'''
prod = Production("{PRODUCTION}", testing_enabled=True)
prod.service("Gateway", Gateway)
prod.operation("Flaky", Remote).host_settings_update({{
    "Folder": {str(folder)!r}, "ReplyCodeActions": "E=R", "RetryInterval": 0.2,
    "FailureTimeout": 30}})
prod.operation("Strict", Remote).host_settings_update({{
    "Folder": {str(folder)!r}, "ReplyCodeActions": "E#6301=F,E=RS", "RetryInterval": 0.2,
    "FailureTimeout": 1, "AlertOnError": 1}})
prod.operation("Ens.Alert", "EnsLib.EMail.AlertOperation").host_setting("URL", {webhook!r})
{extra}
PRODUCTIONS = [prod]
'''


class _Webhook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        length = int(self.headers.get("Content-Length") or 0)
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Any:
    """A real HTTP endpoint on 127.0.0.1 that records the alerts posted to it."""
    handler = type("Webhook", (_Webhook,), {"received": []})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/alerts", handler.received
    server.shutdown()
    server.server_close()


@pytest.fixture
def faults(make_project: Any, tmp_path: Path, webhook: Any) -> Any:
    """The production, started; yields (module, gateway, folder, posted alerts)."""
    url, received = webhook
    folder = tmp_path / "remote"
    folder.mkdir()
    project = make_project(COMPONENTS, settings(folder, url))
    project.migrate()
    project.start(PRODUCTION)
    module = project.import_module()
    return module, Director().get_business_service("Gateway"), folder, received


def _requests(store: Any, target: str) -> list[Any]:
    return store.query_headers(target=target, type="request", limit=0)


def _statuses(store: Any, target: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for header in _requests(store, target):
        counts[header.status] = counts.get(header.status, 0) + 1
    return counts


def test_a_flaky_operation_is_retried_until_every_message_completes(
        faults: Any, store: Any, wait_for: Any) -> None:
    module, gateway, _, _ = faults
    for n in range(10):
        gateway.on_process_input(("Flaky", module.Work(n, "flaky"), False))
    answer = gateway.on_process_input(("Flaky", module.Work(99, "flaky"), True))
    assert (answer.n, answer.attempts) == (99, 3)  # failed twice, then succeeded
    wait_for(lambda: _statuses(store, "Flaky") == {"completed": 11}, timeout=60,
             what="every flaky message to complete")
    log = [e for e in store.log_since(0) if e.item == "Flaky"]
    retries = [e for e in log if e.type == "warning" and "retrying every 0.2 s" in e.text]
    assert len(retries) == 22  # two failed attempts per message, each logged
    assert sum("succeeded after 3 attempt(s)" in e.text for e in log) == 11
    assert not [e for e in log if e.type in ("error", "alert")]


def test_a_broken_remote_suspends_alerts_and_the_operator_resubmits_or_discards(
        faults: Any, store: Any, wait_for: Any, iop_json: Any, run_iop: Any,
        tmp_path: Path) -> None:
    module, gateway, folder, posted = faults
    (folder / "down").write_text("")

    started = time.monotonic()
    with pytest.raises(EngineError, match="suspended: ConnectionError: remote system down"):
        gateway.on_process_input(("Strict", module.Work(1, "down"), True))
    assert time.monotonic() - started < 15  # FailureTimeout 1 s, retried every 0.2 s
    for n in (2, 3, 4):
        gateway.on_process_input(("Strict", module.Work(n, "down"), False))
    wait_for(lambda: _statuses(store, "Strict") == {"suspended": 4}, timeout=60,
             what="four suspended messages")

    # Coded error 6301 fails at once (E#6301=F comes first): no retry, not suspended.
    with pytest.raises(EngineError, match="is invalid"):
        gateway.on_process_input(("Strict", module.Work(5, "invalid"), True))
    invalid = [h for h in _requests(store, "Strict") if h.status == "error"]
    assert len(invalid) == 1
    assert not [e for e in store.log_since(0)
                if e.message_id == invalid[0].id and "retrying" in e.text]

    # AlertOnError: an alert per failing message, in the log, at Ens.Alert and at the webhook.
    alerts = [e for e in store.log_since(0) if e.type == "alert" and e.item == "Strict"]
    assert len(alerts) >= 5 and all("Strict: " in e.text for e in alerts)
    wait_for(lambda: len(posted) >= 5, timeout=30, what="alerts posted to the webhook")
    assert {p["source"] for p in posted} == {"Strict"}
    assert any("remote system down" in p["text"] for p in posted)
    wait_for(lambda: _statuses(store, "Ens.Alert").get("completed", 0) >= 5, timeout=30,
             what="Ens.Alert to handle the alerts")

    suspended = iop_json("--suspended")
    assert [h["status"] for h in suspended] == ["suspended"] * 4
    ids = [h["id"] for h in suspended]
    assert all("remote system down" in (h["error"] or "") for h in suspended)

    (folder / "down").unlink()
    assert iop_json("--resubmit", ids[0], ids[1]) == [
        {"id": ids[0], "status": "queued"}, {"id": ids[1], "status": "queued"}]
    assert iop_json("--discard", ids[2]) == [{"id": ids[2], "status": "discarded"}]
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps({"n": 40, "mode": ""}))
    result = iop_json("--resubmit", ids[3], "-B", f"@{edited}")
    assert result["id"] == ids[3] and result["status"] == "discarded"
    copy_id = result["resubmitted_as"]

    wait_for(lambda: all(store.get_header(i).status == "completed" for i in ids[:2]),
             timeout=30, what="the resubmitted messages to complete")
    wait_for(lambda: store.get_header(copy_id).status == "completed", timeout=30,
             what="the edited copy to complete")
    copy = store.get_header(copy_id)
    assert json.loads(store.get_body(copy))["n"] == 40
    assert copy.session_id == store.get_header(ids[3]).session_id
    assert iop_json("--suspended") == []

    # A message that is not suspended cannot be resubmitted; nothing changes.
    refused = run_iop("--resubmit", ids[0], check=False)
    assert refused.returncode == 1 and "is completed, not suspended" in refused.stderr
    # Every request accounted for: 4 suspended → 2 completed again, 1 discarded, 1 edited
    # (original discarded, copy completed); the invalid one failed.
    assert _statuses(store, "Strict") == {"completed": 3, "discarded": 2, "error": 1}


def test_an_operation_disabled_by_its_reply_code_actions_keeps_the_message(
        make_project: Any, tmp_path: Path, store: Any, wait_for: Any, iop_json: Any,
        webhook: Any) -> None:
    folder = tmp_path / "remote"
    folder.mkdir()
    (folder / "down").write_text("")
    gate = f'''prod.operation("Gate", Remote).host_settings_update({{
    "Folder": {str(folder)!r}, "ReplyCodeActions": "E=D"}})'''
    project = make_project(COMPONENTS, settings(folder, webhook[0], extra=gate))
    project.migrate()
    project.start(PRODUCTION)
    module = project.import_module()
    gateway = Director().get_business_service("Gateway")
    gateway.on_process_input(("Gate", module.Work(7, "down"), False))

    def disabled() -> bool:
        items = iop_json("-e", PRODUCTION)["Production"]["Item"]
        gate_item = next(i for i in items if i["@Name"] == "Gate")
        return gate_item["@Enabled"] == "false" and \
            not [j for j in store.list_jobs() if j.item == "Gate"]

    wait_for(disabled, timeout=60, what="Gate to be disabled and its job stopped")
    request = _requests(store, "Gate")[0]
    assert request.status == "queued"  # back in the queue, not failed
    assert store.queue_counts().get("Gate") == 1
    assert any("disabled by ReplyCodeActions" in e.text for e in store.log_since(0))

    (folder / "down").unlink()
    from iop.client.local import LocalClient

    LocalClient(store=store).component("start", "Gate")
    wait_for(lambda: store.get_header(request.id).status == "completed", timeout=60,
             what="the kept message to complete once Gate is enabled again")


def test_queue_and_inactivity_alerts(make_project: Any, tmp_path: Path, store: Any,
                                     wait_for: Any, webhook: Any) -> None:
    folder = tmp_path / "remote"
    folder.mkdir()
    extra = '''prod.operation("Slow", Remote).host_settings_update({
    "Delay": 0.3, "QueueCountAlert": 3, "QueueWaitAlert": 1})
prod.operation("Idle", Remote).host_setting("InactivityTimeout", 2)'''
    project = make_project(COMPONENTS, settings(folder, webhook[0], extra=extra))
    project.migrate()
    project.start(PRODUCTION)
    module = project.import_module()
    gateway = Director().get_business_service("Gateway")
    for n in range(12):
        gateway.on_process_input(("Slow", module.Work(n), False))

    def alert(item: str, needle: str) -> list[Any]:
        return [e for e in store.log_since(0)
                if e.type == "alert" and e.item == item and needle in e.text]

    wait_for(lambda: alert("Slow", "messages wait in the queue of Slow"), timeout=30,
             what="the queue count alert")
    wait_for(lambda: alert("Slow", "the oldest message in the queue of Slow has waited"),
             timeout=30, what="the queue wait alert")
    wait_for(lambda: alert("Idle", "Idle has handled nothing for"), timeout=30,
             what="the inactivity alert")
    wait_for(lambda: _statuses(store, "Slow") == {"completed": 12}, timeout=60,
             what="the slow messages to complete")
    # One alert per crossing, not one per check.
    assert len(alert("Slow", "messages wait in the queue")) == 1
    assert len(alert("Idle", "handled nothing")) == 1
    wait_for(lambda: len(webhook[1]) >= 3, timeout=30, what="the alerts at the webhook")


def test_a_malformed_reply_code_actions_setting_stops_the_start_with_one_line(
        make_project: Any, tmp_path: Path, run_iop: Any, iop_json: Any, store: Any) -> None:
    extra = 'prod.operation("Picky", Remote).host_setting("ReplyCodeActions", "E=Q")'
    project = make_project(COMPONENTS, settings(tmp_path, "http://127.0.0.1:9/", extra=extra))
    project.migrate()
    started = run_iop("-s", PRODUCTION, "-D", check=False)
    assert started.returncode == 1 and "Traceback" not in started.stderr
    lines = [line for line in started.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "item Picky" in lines[0] and "ReplyCodeActions" in lines[0]
    assert "must be letters among C, W, R, S, D, F" in lines[0]
    assert iop_json("-x")["Status"] == "stopped" and store.list_jobs() == []
