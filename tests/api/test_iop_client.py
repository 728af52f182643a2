"""IoP's own remote client (PyPI iris-pex-embedded-python 4.1.1, unmodified) drives our server.

The client lives in .venv-iop-client (scripts/setup-test-tools.sh), so its `iop` never shadows ours. It
needs no IRIS in remote mode: it imports the `iris` module only for local-mode commands, and
its own dependencies make that module importable anyway.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

from remote_server import (
    DEVELOPER,
    IOP_CLIENT,
    SCENARIO_PRODUCTION,
    VIEWER,
    ServedEngine,
    clean_env,
)


class IoPClient:
    """Runs the real client's `iop` with IOP_URL and credentials, in the project folder; the
    account is a developer, the least role that migrates, starts and tests."""

    def __init__(self, served: ServedEngine, namespace: str, cwd: Path,
                 account: tuple[str, str] = DEVELOPER) -> None:
        assert IOP_CLIENT.exists(), (f"{IOP_CLIENT} is missing: run scripts/setup-test-tools.sh, which "
                                     "installs IoP's client in .venv-iop-client")
        self.env = clean_env(IOP_URL=served.url, IOP_USERNAME=account[0], IOP_PASSWORD=account[1],
                             IOP_NAMESPACE=namespace, HOME=str(cwd))
        self.cwd = cwd

    def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([str(IOP_CLIENT), *args], env=self.env, cwd=self.cwd,
                              capture_output=True, text=True, timeout=120)
        if ok:
            assert proc.returncode == 0, (f"iop {' '.join(args)} exited {proc.returncode}\n"
                                          f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
            assert "Traceback" not in proc.stderr, proc.stderr
        return proc

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args).stdout)


def test_real_iop_client_drives_the_whole_lifecycle(served: ServedEngine,
                                                    scenario_project: Path) -> None:
    ns = served.new_namespace("IOPCLI")
    iop = IoPClient(served, ns, scenario_project)
    name = SCENARIO_PRODUCTION

    # A fresh namespace: nothing running, nothing listed, no default.
    assert iop.json("-x") == {"production": "Not defined", "status": "stopped"}
    assert iop.json("-l") == {}
    assert iop.run("-d").stdout.strip() == "Not defined"

    # migrate uploads the folder's .py files; the server runs the migration.
    out = iop.run("-m", "settings.py").stdout
    assert f"Migration succeeded in namespace {ns}: {scenario_project / 'settings.py'}" in out
    project = served.home / ns / "projects" / "python"
    assert (project / "settings.py").read_text() == (scenario_project / "settings.py").read_text()
    assert not (project / "notes.txt").exists()
    listed = iop.json("-l")
    assert list(listed) == [name]
    assert listed[name]["Status"] == "Stopped"
    assert set(listed[name]) == {"Status", "LastStartTime", "LastStopTime", "AutoStart"}

    # default: the migration made it the default; setting it again is echoed back.
    assert iop.run("-d").stdout.strip() == name
    assert iop.run("-d", name).returncode == 0
    assert iop.run("-d").stdout.strip() == name

    # start -D returns once the production runs.
    assert iop.run("-s", name, "-D").stdout.strip() == f"Production {name} started"
    assert iop.json("-x") == {"production": name, "status": "running"}

    queues = iop.json("-q")
    assert queues["production"] == name
    assert [(i["item"], i["exists"], i["count"]) for i in queues["items"]] == [
        ("Router", True, 0), ("Echo", True, 0)]

    # test: the Python dotted class name is resolved against the uploaded project.
    out = iop.run("-t", "Router", "-C", "settings.PingMessage", "-B",
                  '{"text": "via router"}').stdout
    assert out.splitlines()[0] == "classname: settings.PongMessage"
    assert json.loads(out.split("body:", 1)[1]) == {"text": "VIA ROUTER"}
    assert "printed by EchoOperation" not in out
    unknown = iop.run("-t", "NoSuchItem", ok=False)
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == f"Error: item 'NoSuchItem' is not in production {name}"

    # export, JSON and Mermaid (the client rebuilds the production from our export shape).
    exported = iop.json("-e", name)
    assert list(exported) == [name]
    items = {i["@Name"]: i for i in exported[name]["Item"]}
    assert items["Router"]["@ClassName"] == "Python.settings.Router"
    assert {"@Target": "Host", "@Name": "Output", "#text": "Echo"} in items["Router"]["Setting"]
    mermaid = iop.run("-e", name, "--format", "mermaid").stdout
    assert mermaid.startswith("flowchart LR")
    assert 'node_Router["Router<br/>Python.settings.Router"]' in mermaid
    edge = [line for line in mermaid.splitlines() if "node_Router" in line and "node_Echo" in line
            and "Output" in line]
    assert edge, mermaid

    # log: -L N prints N entries oldest first, one line each.
    lines = iop.run("-L", "50").stdout.splitlines()
    texts = [line for line in lines if f"Production {name} started" in line]
    assert texts and lines.index(texts[0]) > next(
        i for i, line in enumerate(lines) if f"Starting production {name}" in line)

    bindings = iop.json("--bindings")
    assert [b["class"] for b in bindings] == ["Python.settings.EchoOperation",
                                              "Python.settings.Router"]
    assert all(b["used"] and b["classpaths"] == str(project) for b in bindings)
    assert iop.json("--bindings", "--unused") == []

    # update, restart, stop, kill.
    iop.run("-u")
    assert any(f"Production {name} updated" in line for line in iop.run("-L", "5").stdout.splitlines())
    starts_before = iop.run("-L", "200").stdout.count(f"Production {name} started")
    iop.run("-r")
    assert iop.json("-x") == {"production": name, "status": "running"}
    assert iop.run("-L", "200").stdout.count(f"Production {name} started") == starts_before + 1
    assert iop.run("-S").stdout.strip() == f"Production {name} stopped"
    assert iop.json("-x")["status"] == "stopped"
    iop.run("-s", name, "-D")
    iop.run("-k")
    assert iop.json("-x")["status"] == "stopped"

    # A refused command is the client's own one-line error, exit 1.
    failed = iop.run("-t", "Echo", ok=False)
    assert failed.returncode == 1
    assert failed.stderr.strip() == (f"Error: no production is running in namespace {ns}; "
                                     "start one before testing (iop -s NAME -D)")
    # A viewer's client reads but is refused a migration, with the role it lacks.
    viewer = IoPClient(served, ns, scenario_project, VIEWER)
    assert viewer.json("-x")["status"] == "stopped"
    refused = viewer.run("-m", "settings.py", ok=False)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "needs the developer role in namespace" in refused.stderr, refused.stderr


def test_real_iop_client_init_creates_the_namespace(served: ServedEngine, tmp_path: Path) -> None:
    ns = f"IOPINIT{uuid.uuid4().hex[:8].upper()}"
    assert not (served.home / ns).exists()
    iop = IoPClient(served, ns, tmp_path)
    served.namespaces.append(ns)
    out = iop.run("-i").stdout
    assert "Uploaded: IOP.BusinessOperation.cls" in out
    assert f"Namespace {ns} initialised by iop-engine" in out
    assert (served.home / ns / "store.sqlite3").exists()
    assert iop.json("-x") == {"production": "Not defined", "status": "stopped"}
