"""A user's script with IOP_URL set: `Director()` and the Production lifecycle helpers drive a
real `iop --serve` over its REST API, as IoP's remote director does; nothing is stored on the
client's side."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from remote_server import (
    ADMIN,
    PYTHON,
    SCENARIO_PRODUCTION,
    SCENARIO_SETTINGS,
    ServedEngine,
    clean_env,
)

SCRIPT = f'''
import json

from iop import Director, DirectorProtocol, Production
from settings import PingMessage

NAME = {SCENARIO_PRODUCTION!r}


def show(label, value):
    print(json.dumps([label, value]), flush=True)


director = Director()
show("mode", [director.mode, director.namespace, isinstance(director, DirectorProtocol)])
director.migrate("settings.py")
show("default", director.get_default_production())
director.start_production(NAME)
show("status", director.status_production())
show("listed", director.list_productions()[NAME]["Status"])

prod = Production.from_iris(NAME)
show("kinds", [prod.item("Router").kind, prod.item("Echo").kind])
show("routes", [[e.source, e.port, e.target] for e in prod.routes()])
prod.item("Echo").stop()
show("echo_after_stop", Production.from_iris(NAME).item("Echo").enabled)
prod.start_component("Echo")
show("echo_after_start", Production.from_iris(NAME).item("Echo").enabled)
answer = prod.test_component("Router", PingMessage("hi"))
show("answer", [answer["classname"], json.loads(answer["body"]), answer["truncated"]])
show("queues", sorted(prod.queue()))
show("runtime", prod.inspect_component("Echo")["runtime"]["is_running"])
try:
    Production("Other.Production").stop()
except RuntimeError as exc:
    show("other", str(exc))
try:
    director.create_business_service("Router")
except Exception as exc:
    show("service", [type(exc).__name__, str(exc)])
prod.stop()
show("stopped", director.status_production())
'''


def test_director_works_remotely_when_iop_url_is_set(served: ServedEngine,
                                                     tmp_path: Path) -> None:
    namespace = served.new_namespace("DIR")
    (tmp_path / "settings.py").write_text(SCENARIO_SETTINGS, encoding="utf-8")
    (tmp_path / "user_script.py").write_text(SCRIPT, encoding="utf-8")
    home = tmp_path / "client-home"
    env = clean_env(IOP_URL=served.url, IOP_USERNAME=ADMIN[0], IOP_PASSWORD=ADMIN[1],
                    IOP_NAMESPACE=namespace, IOP_HOME=str(home), PYTHONPATH=str(tmp_path))
    done = subprocess.run([PYTHON, "user_script.py"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    shown = dict(json.loads(line) for line in done.stdout.splitlines()
                 if line.startswith("["))
    assert shown["mode"] == ["remote", namespace, True]
    assert shown["default"] == SCENARIO_PRODUCTION  # the migration made it the default
    assert shown["status"] == {"production": SCENARIO_PRODUCTION, "status": "running"}
    assert shown["listed"] == "Running"
    assert shown["kinds"] == ["process", "operation"]
    assert shown["routes"] == [["Router", "Output", "Echo"]]
    assert (shown["echo_after_stop"], shown["echo_after_start"]) == (False, True)
    assert shown["answer"] == ["settings.PongMessage", {"text": "HI"}, False]
    assert shown["queues"] == ["Echo", "Router"]
    assert shown["runtime"] is True
    assert shown["other"] == (
        "Cannot stop production 'Other.Production': current/default production is "
        f"'{SCENARIO_PRODUCTION}'. Select 'Other.Production' with `prod.set_default()` or "
        "start it with `prod.start()` before using this lifecycle method.")
    assert shown["service"][0] == "EngineError"
    assert "needs the local engine" in shown["service"][1]
    assert shown["stopped"] == {"production": SCENARIO_PRODUCTION, "status": "stopped"}
    assert not home.exists() or not any(home.rglob("*.db"))  # nothing stored client-side
