"""The HL7 example (examples/hl7) end to end, and its trace in a real browser: MLLP in, ACK
once stored, routed by message type to a file and to an HTTP server, each HL7 body shown a
segment per line with its fields named on hover. The trace's screenshot is the one in
docs/connectors.md (docs/images/hl7-example-trace.png, copied from artifacts/screenshots)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from portal_support import Portal, browser_page
from remote_server import ADMIN, PYTHON, REPO, ServedEngine, free_port, start_engine, stop_engine

from iop.store.queries import MessageFilter

EXAMPLE = REPO / "examples" / "hl7"


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("hl7example")
    out, http_port, mllp_port = root / "out", free_port(), free_port()
    receiver = subprocess.Popen([PYTHON, str(EXAMPLE / "receiver.py"), str(http_port),
                                 str(out / "lab")])
    engine = start_engine(root / "home")
    env = {**engine.server_env, "HL7_EXAMPLE_MLLP_PORT": str(mllp_port),
           "HL7_EXAMPLE_HTTP_PORT": str(http_port), "HL7_EXAMPLE_OUT": str(out)}
    try:
        for args in (("-m", str(EXAMPLE / "settings.py")), ("-d", "HL7.Example"),
                     ("-s", "HL7.Example", "-D")):
            done = subprocess.run([PYTHON, "-m", "iop", *args], env=env, capture_output=True,
                                  text=True, timeout=120)
            assert done.returncode == 0, done.stderr
        yield {"engine": engine, "out": out, "mllp_port": mllp_port, "env": env}
    finally:
        stop_engine(engine)
        receiver.terminate()
        receiver.wait(10)


def _send(example: dict[str, Any], count: int) -> list[str]:
    deadline = time.monotonic() + 60
    while True:  # the service listens once its job is up
        done = subprocess.run([PYTHON, str(EXAMPLE / "send_hl7.py"), str(count),
                               str(example["mllp_port"])], capture_output=True, text=True,
                              timeout=120)
        if done.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def _files(folder: Path) -> list[Path]:
    return sorted(folder.iterdir()) if folder.is_dir() else []


def test_messages_are_acked_routed_by_type_and_delivered(example: dict[str, Any],
                                                         wait_for: Any) -> None:
    lines = _send(example, 4)
    assert len(lines) == 4 and all(line.endswith("ACK AA") for line in lines), lines
    out = example["out"]
    wait_for(lambda: len(_files(out / "adt")) == 2 and len(_files(out / "lab")) == 2,
             timeout=60, what="two admissions written and two results posted")
    admissions = sorted(p.read_text() for p in _files(out / "adt"))
    assert all("ADT^A01" in text and "PID|" in text for text in admissions)
    results = sorted(p.read_text() for p in _files(out / "lab"))
    assert [r.split("|")[9] for r in results] == ["LAB00001", "LAB00003"]
    # The lab's answer is an HL7 ACK: HTTPOperation made it the request's response.
    store = Portal(example["engine"], None, out).store()
    try:
        wait_for(lambda: len(store.search_messages(MessageFilter(source="LabHttpOut",
                                                                 type="response"))) == 2)
        answer = store.search_messages(MessageFilter(source="LabHttpOut", type="response"))[0]
        assert answer.body_class == "EnsLib.HL7.Message"
        assert "MSA|AA|LAB0000" in (store.get_body(answer) or "")
    finally:
        store.close()


def test_a_result_the_lab_refuses_is_suspended(example: dict[str, Any], wait_for: Any) -> None:
    """The lab answers AE for a patient it does not know: IRIS's default ReplyCodeActions
    (:?E=S) suspend the message, once, for an operator to resubmit or discard."""
    oru = ("MSH|^~\\&|LAB|GOODHEALTH|EHR|HOSP|20261207120000||ORU^R01^ORU_R01|LAB99999|P|2.5\r"
           "PID|1||999^^^GOODHEALTH^MR||Unknown^Nobody\rOBX|1|NM|GLU^Glucose||5.0|mmol/L\r")
    with socket.create_connection(("127.0.0.1", example["mllp_port"]), timeout=30) as sock:
        sock.sendall(b"\x0b" + oru.encode() + b"\x1c\x0d")
        ack = b""
        while b"\x1c\x0d" not in ack:
            ack += sock.recv(4096)
    assert b"MSA|AA|LAB99999" in ack  # stored: our service accepted it
    store = Portal(example["engine"], None, example["out"]).store()
    try:
        def suspended() -> list[Any]:
            return store.search_messages(MessageFilter(target="LabHttpOut", status="suspended"))
        found = wait_for(suspended, timeout=60, what="the refused result suspended")
        assert len(found) == 1 and "AE: unknown patient" in (found[0].error or "")
    finally:
        store.close()
    assert not (example["out"] / "lab" / "LAB99999.hl7").exists()


def test_the_trace_shows_the_hl7_message_a_segment_per_line(example: dict[str, Any]) -> None:
    engine: ServedEngine = example["engine"]
    with browser_page() as page:
        portal = Portal(engine, page, example["out"])
        store = portal.store()
        try:
            found = store.search_messages(MessageFilter(body_class="EnsLib.HL7.Message",
                                                        target="LabHttpOut",
                                                        status="completed"), limit=1)
            assert found, "no HL7 message reached LabHttpOut"
            message = found[0]
        finally:
            store.close()
        portal.login(ADMIN)
        page.goto(f"{engine.url}/ns/USER/messages/{message.id}?view=contents")
        view = page.locator("#hl7-view")
        lines = view.inner_text().strip().split("\n")
        assert [line[:3] for line in lines] == ["MSH", "PID", "OBR", "OBX"]
        name = page.locator("#hl7-view .hl7-field[title='PID-5 Patient Name']")
        assert name.inner_text() == "Doe^Jane"
        page.goto(f"{engine.url}/ns/USER/messages/{message.id}?view=body")
        assert "OBX:5 Observation Value" in page.inner_text("#body-view")
        page.goto(f"{engine.url}/ns/USER/trace/{message.session_id}?show={message.id}")
        panel = page.locator(f"#trace-message .message-panel[data-message='{message.id}']")
        panel.wait_for()
        assert panel.locator(".hl7-field[title='OBX-5 Observation Value']").count() == 1
        arrows = page.locator("#trace-diagram a.msg-link")
        assert arrows.count() >= 3  # HL7In -> HL7Router -> LabHttpOut (and the response)
        page.locator("#hl7-view .hl7-field[title='PID-5 Patient Name']").hover()
        portal.shot("hl7-example-trace")
