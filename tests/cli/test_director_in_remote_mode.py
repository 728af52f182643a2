"""A user's script with IOP_URL set: `Director()` and the Production lifecycle helpers drive a
real `iop --serve` over its REST API, as IoP's remote director does; nothing is stored on the
client's side."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from remote_server import (
    ADMIN,
    PYTHON,
    SCENARIO_PRODUCTION,
    SCENARIO_SETTINGS,
    ServedEngine,
    clean_env,
    processes_running,
)

from iop import Director, Production

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


def _server_status(served: ServedEngine, namespace: str) -> dict[str, str]:
    """The production state as the server's own store holds it (`iop -x` on its host)."""
    shown = served.iop_local("-x", "-n", namespace)
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)  # type: ignore[no-any-return]


def _supervisors(namespace: str) -> list[int]:
    """The server host's supervisor processes of the scenario production in ``namespace``."""
    return sorted(processes_running(f"supervisor {namespace} {SCENARIO_PRODUCTION}"))


def test_director_and_production_drive_the_servers_production(
        served: ServedEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # In this process, with only IOP_URL and its companions set: Director() and a Production's
    # lifecycle methods start, restart and stop the production on the server, whose own
    # store and processes show each step.
    namespace = served.new_namespace("DLC")
    (tmp_path / "settings.py").write_text(SCENARIO_SETTINGS, encoding="utf-8")
    migrated = served.iop_local("-m", str(tmp_path / "settings.py"), "-n", namespace)
    assert migrated.returncode == 0, migrated.stderr
    for name in set(os.environ) - set(clean_env()):  # a server, namespace or backend set
        monkeypatch.delenv(name)
    remote = {"IOP_URL": served.url, "IOP_USERNAME": ADMIN[0], "IOP_PASSWORD": ADMIN[1],
              "IOP_NAMESPACE": namespace, "IOP_HOME": str(tmp_path / "client-home")}
    for name, value in remote.items():
        monkeypatch.setenv(name, value)

    director = Director()
    assert (director.mode, director.namespace, director.store) == ("remote", namespace, None)
    try:
        director.start_production(SCENARIO_PRODUCTION)
        assert _server_status(served, namespace) == {"Production": SCENARIO_PRODUCTION,
                                                     "Status": "running"}
        first = _supervisors(namespace)
        assert len(first) == 1
        assert director.status_production() == {"production": SCENARIO_PRODUCTION,
                                                 "status": "running"}
        assert director.list_productions()[SCENARIO_PRODUCTION]["Status"] == "Running"

        production = Production(SCENARIO_PRODUCTION)  # no director given: a remote Director
        production.restart()
        assert _server_status(served, namespace)["Status"] == "running"
        restarted = _supervisors(namespace)
        assert len(restarted) == 1 and restarted != first

        production.stop()
        assert _server_status(served, namespace) == {"Production": SCENARIO_PRODUCTION,
                                                     "Status": "stopped"}
        assert _supervisors(namespace) == []
        assert production.status() == {"production": SCENARIO_PRODUCTION, "status": "stopped"}

        production.start()
        assert _server_status(served, namespace)["Status"] == "running"
        director.shutdown_production()  # remotely the server's kill, as IoP's remote director
        assert _server_status(served, namespace)["Status"] == "stopped"
        assert _supervisors(namespace) == []
    finally:
        served.iop_local("-k", "-n", namespace)
    assert not (tmp_path / "client-home").exists()  # nothing was stored client-side
