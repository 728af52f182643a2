"""Acceptance: seed 002's HelloWorld, unchanged, loaded with the command and run on the engine.

The script is bound with ``intersystems_pyprod``, wired into a production with the iop DSL by
class-name strings, started with ``iop -s NAME -D``; its IRISLog lines reach the event log and
each session shows the round trip Service → Process → Operation → back, all completed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / "data" / "pyprod"

SETTINGS = '''
from iop import Production

hello = Production("HelloWorld")
service = hello.service("MyService", "helloworld.MyService",
                        adapter_settings={"CallInterval": 1})
process = hello.process("MyProcess", "helloworld.MyProcess")
operation = hello.operation("MyOperation", "helloworld.MyOperation")
service.connect("target", process)          # the Target settings of the seed's step 3
process.connect("target", operation)
PRODUCTIONS = [hello]
'''

ROUND_TRIP = [
    ("MyService", "MyProcess", "request", "helloworld.MyRequest"),
    ("MyProcess", "MyOperation", "request", "helloworld.MyRequest"),
    ("MyOperation", "MyProcess", "response", "helloworld.MyResponse"),
    ("MyProcess", "MyService", "response", "helloworld.MyResponse"),
]


def load_script(script: Path, python_exe: str, iop_home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "IOP_HOME": str(iop_home)}
    return subprocess.run([python_exe, "-m", "intersystems_pyprod", str(script)], env=env,
                          capture_output=True, text=True, timeout=60)


def test_helloworld_round_trip(tmp_path: Path, iop_home: Path, python_exe: str, run_iop: Any,
                               store: Any, wait_for: Any) -> None:
    folder = tmp_path / "hello"
    folder.mkdir()
    script = folder / "HelloWorld.py"
    shutil.copy(DATA / "HelloWorld.py", script)
    loaded = load_script(script, python_exe, iop_home)
    assert loaded.returncode == 0, loaded.stderr
    assert "Loading MyService to IRIS..." in loaded.stdout

    settings = tmp_path / "settings.py"
    settings.write_text(textwrap.dedent(SETTINGS), encoding="utf-8")
    run_iop("-m", settings)
    run_iop("-s", "HelloWorld", "-D")

    def finished_sessions() -> list[int]:
        replies = store.query_headers(source="MyProcess", target="MyService")
        return sorted(h.session_id for h in replies if h.status == "completed")

    sessions = wait_for(lambda: len(finished_sessions()) >= 2 and finished_sessions(),
                        timeout=60, what="two completed HelloWorld sessions")
    run_iop("-S")

    # The IRISLog lines of the adapter (in MyOperation's job) and of the service.
    log = run_iop("-L", "200").stdout
    assert "[MyOperation] INFO: request message" in log
    assert "[MyService] INFO: response message" in log
    assert "ERROR" not in log and "WARNING" not in log, log
    # The stop was clean: every job ended by itself, none had to be killed.
    assert "Production HelloWorld stopped" in log and "did not stop" not in log, log

    # One session, read with the CLI: the round trip in order, every message completed.
    session = sessions[0]
    headers = json.loads(run_iop("--messages", "--session", session).stdout)
    headers.sort(key=lambda h: h["id"])
    assert [(h["source"], h["target"], h["type"], h["body_class"]) for h in headers] == ROUND_TRIP
    assert {h["status"] for h in headers} == {"completed"}
    assert {h["session_id"] for h in headers} == {session}
    first, call, answer, reply = headers
    assert answer["corresponding_id"] == call["id"] and reply["corresponding_id"] == first["id"]

    # Bodies are the JSON of the seed's messages.
    stored = {h.id: h for h in store.query_headers(session_id=session)}
    assert json.loads(store.get_body(stored[first["id"]])) == {"content": "request message"}
    assert json.loads(store.get_body(stored[reply["id"]])) == {"content": "response message"}

    # The adapter's line carries the operation's item, session and message.
    line = next(e for e in store.log_top(200)
                if e.text == "request message" and e.session_id == session)
    assert (line.item, line.message_id, line.type) == ("MyOperation", call["id"], "info")
    assert line.source_class == "HelloWorld.MyOutAdapter" and line.source_method == "custom_method"
