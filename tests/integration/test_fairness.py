"""Acceptance: concurrent writers from separate processes never starve; polling keeps its pace."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

PRODUCTION = "Fair.Production"
SECONDS = 3.0

COMPONENTS = '''
@dataclass
class Tick(Message):
    n: int = 0
    origin: str = ""


class Pusher(BusinessService):
    def on_process_input(self, request):
        self.send_request_async("Sink", request)


class Sink(BusinessOperation):
    def on_message(self, request):
        return None


class Ticker(PollingBusinessService):
    """Records when each poll runs and sends a tick on."""

    OutFile = setting("")

    def on_init(self):
        self._count = itertools.count()

    def on_poll(self):
        with open(self.OutFile, "a", encoding="utf-8") as fh:
            fh.write(f"{time.time()}\\n")
        self.send_request_async("Sink", Tick(next(self._count), "Ticker"))
'''

SENDER = '''
import json, os, sys, time
project, module_name, item, ready, go, seconds = sys.argv[1:7]
sys.path.insert(0, project)
module = __import__(module_name)
from iop import Director

service = Director().get_business_service(item)
service.on_process_input(module.Tick(-1, item))  # warm up: imports, connection, sockets
open(ready, "w").close()
deadline = time.monotonic() + 60
while not os.path.exists(go):
    if time.monotonic() > deadline:
        sys.exit("never told to go")
    time.sleep(0.002)
count, longest = 0, 0.0
end = time.monotonic() + float(seconds)
while time.monotonic() < end:
    started = time.monotonic()
    service.on_process_input(module.Tick(count, item))
    longest = max(longest, time.monotonic() - started)
    count += 1
print(json.dumps({"count": count, "longest": longest}), flush=True)
'''


def test_two_sending_processes_both_make_progress(
        make_project: Any, store: Any, tmp_path: Path, wait_for: Any, python_exe: str) -> None:
    project = make_project(COMPONENTS, f'''
        prod = Production("{PRODUCTION}")
        prod.service("SenderA", Pusher)
        prod.service("SenderB", Pusher)
        prod.operation("Sink", Sink)
        PRODUCTIONS = [prod]
        ''')
    project.migrate()
    project.start(PRODUCTION)
    script = tmp_path / "sender.py"
    script.write_text(SENDER)
    go = tmp_path / "go"
    procs = {}
    for item in ("SenderA", "SenderB"):
        ready = tmp_path / f"ready-{item}"
        procs[item] = (ready, subprocess.Popen(
            [python_exe, str(script), str(project.root), project.module, item, str(ready), str(go),
             str(SECONDS)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    try:
        wait_for(lambda: all(ready.exists() or proc.poll() is not None
                             for ready, proc in procs.values()), timeout=60,
                 what="both senders to be ready")
        go.touch()
        results = {}
        for item, (_, proc) in procs.items():
            out, err = proc.communicate(timeout=SECONDS + 60)
            assert proc.returncode == 0, f"{item} failed:\n{err}"
            results[item] = json.loads(out.strip().splitlines()[-1])
    finally:
        for _, proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    a, b = results["SenderA"]["count"], results["SenderB"]["count"]
    summary = f"SenderA sent {a}, SenderB sent {b} in {SECONDS} s; {results}"
    print(summary)
    assert a >= 50 and b >= 50, f"a sender is stuck: {summary}"
    assert a >= 0.25 * b and b >= 0.25 * a, f"one sender starves the other: {summary}"
    for item in ("SenderA", "SenderB"):
        assert results[item]["longest"] < 5.0, f"{item} waited too long for one send: {summary}"

    # Every send the senders counted is durable in the store.
    stored = {item: len(store.query_headers(source=item, type="request", limit=0))
              for item in ("SenderA", "SenderB")}
    assert stored == {"SenderA": a + 1, "SenderB": b + 1}


def test_polling_service_runs_on_call_interval(
        make_project: Any, store: Any, tmp_path: Path, wait_for: Any) -> None:
    polls = tmp_path / "polls.txt"
    project = make_project(COMPONENTS, f'''
        prod = Production("{PRODUCTION}")
        prod.service("Ticker", Ticker).host_setting("OutFile", {str(polls)!r}) \\
            .adapter_setting("CallInterval", "1")
        prod.operation("Sink", Sink)
        PRODUCTIONS = [prod]
        ''')
    project.migrate()
    project.start(PRODUCTION)

    def times() -> list[float]:
        if not polls.exists():
            return []
        return [float(x) for x in polls.read_text().split()]

    wait_for(lambda: len(times()) >= 4, timeout=30, what="four polls")
    stamps = times()
    gaps = [later - earlier for earlier, later in zip(stamps, stamps[1:], strict=False)]
    assert all(gap >= 0.9 for gap in gaps), f"polled faster than CallInterval=1: {gaps}"
    assert all(gap < 3.0 for gap in gaps), f"polls too far apart for CallInterval=1: {gaps}"

    def ticks_completed() -> int:
        ticks = store.query_headers(source="Ticker", type="request", limit=0)
        return len([h for h in ticks if h.status == "completed"])

    wait_for(lambda: ticks_completed() >= 3, timeout=30, what="three ticks to complete")
    assert all(h.target == "Sink" for h in store.query_headers(source="Ticker", limit=0))
