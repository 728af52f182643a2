"""The warden without the identity switch (what a server not running as root keeps): a
child's descendants are killed at the end of the call and at its deadline, the limits and
the allow-listed environment apply. Runs the real warden and worker processes."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

from remote_server import processes_running

from iop.server import containment


def snapshot(namespace: str = "USER") -> dict[str, object]:
    return {"namespace": namespace, "host": "test-host", "bindings": [], "classpaths": [],
            "productions": {}, "status": ["", "stopped"], "applied": {},
            "meta": {"default_production": ""}}


def migrate_request(folder: Path, code: str) -> dict[str, object]:
    (folder / "settings.py").write_text(code, encoding="utf-8")
    return {"method": "migrate", "kwargs": {"path": str(folder / "settings.py")},
            "snapshot": snapshot()}



def test_without_the_switch_descendants_die_with_the_call(tmp_path: Path) -> None:
    marker = str(6000 + uuid.uuid4().int % 1000) + ".5"
    code = f'''
import json, os, resource, subprocess

subprocess.Popen(["sleep", "{marker}"], start_new_session=True)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execvp("sleep", ["sleep", "{marker}"])
    os._exit(0)
seen = {{"env": sorted(os.environ), "cpu": resource.getrlimit(resource.RLIMIT_CPU)[0],
        "files": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
        "core": resource.getrlimit(resource.RLIMIT_CORE)[0],
        "session": os.getsid(0) != os.getsid(int({os.getpid()}))}}
raise RuntimeError("PROBE " + json.dumps(seen))
'''
    outcome = containment.run(migrate_request(tmp_path, code), 10, identity=None,
                              workdir=str(tmp_path), hidden=[])
    assert not outcome.timed_out
    seen = json.loads(json.loads(outcome.answer)["error"].split("PROBE ", 1)[1])
    assert {"HOME", "PATH", "TMPDIR"} <= set(seen["env"]) <= {
        "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "PATH", "PYTHONIOENCODING", "TMPDIR"}
    assert seen["cpu"] == 11 and seen["files"] == containment.OPEN_FILES and seen["core"] == 0
    assert seen["session"] is True  # not in the caller's session
    assert processes_running(f"sleep {marker}") == {}


def test_without_the_switch_the_deadline_ends_everything(tmp_path: Path) -> None:
    marker = str(7000 + uuid.uuid4().int % 1000) + ".5"
    code = f'''
import subprocess

subprocess.Popen(["sleep", "{marker}"], start_new_session=True)
while True:
    pass
'''
    started = time.monotonic()
    outcome = containment.run(migrate_request(tmp_path, code), 3, identity=None,
                              workdir=str(tmp_path), hidden=[])
    assert outcome.timed_out
    assert time.monotonic() - started < 8
    assert processes_running(f"sleep {marker}") == {}
