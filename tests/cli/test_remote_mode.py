"""Our own `iop` in remote mode against a real `iop --serve`: the same scenario as IoP's
client (tests/api/test_iop_client.py), mode selection in seed 000's order, and refusals."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
from remote_server import (
    ADMIN,
    PYTHON,
    SCENARIO_PRODUCTION,
    ServedEngine,
    clean_env,
)

NAME = SCENARIO_PRODUCTION


class OurClient:
    """`python -m iop` with IOP_URL set, a client-side IOP_HOME that must stay empty."""

    def __init__(self, served: ServedEngine, namespace: str, cwd: Path, home: Path,
                 **env: str) -> None:
        home.mkdir(mode=0o700, exist_ok=True)
        self.home = home
        self.cwd = cwd
        base = {"IOP_URL": served.url, "IOP_USERNAME": ADMIN[0], "IOP_PASSWORD": ADMIN[1],
                "IOP_NAMESPACE": namespace}
        base.update(env)
        self.env = clean_env(IOP_HOME=str(home), **{k: v for k, v in base.items() if v})

    def run(self, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([PYTHON, "-m", "iop", *args], env=self.env, cwd=self.cwd,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == code, (f"iop {' '.join(args)} exited {proc.returncode}\n"
                                         f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc

    def out(self, *args: str) -> str:
        return self.run(*args).stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.out(*args))

    def error(self, *args: str) -> str:
        proc = self.run(*args, code=1)
        lines = proc.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
        return lines[0]

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([PYTHON, "-m", "iop", *args], env=self.env, cwd=self.cwd,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def read_until(proc: subprocess.Popen[str], needle: str, timeout: float = 60) -> list[str]:
    """Lines of ``proc``'s stdout up to the first one containing ``needle``."""
    lines: list[str] = []
    found = threading.Event()

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if needle in line:
                found.set()
                return

    threading.Thread(target=reader, daemon=True).start()
    assert found.wait(timeout), f"{needle!r} not printed within {timeout} s: {lines}"
    return lines


@pytest.mark.slow  # over 20 s
def test_our_cli_drives_the_whole_lifecycle_remotely(served: ServedEngine,
                                                     scenario_project: Path,
                                                     tmp_path: Path) -> None:
    ns = served.new_namespace("OURCLI")
    iop = OurClient(served, ns, scenario_project, tmp_path / "client_home")

    assert iop.json("-x") == {"Production": "Not defined", "Status": "stopped"}
    assert iop.json("-l") == {}
    assert iop.out("-d").strip() == "default production: Not defined"

    out = iop.out("-m", "settings.py").splitlines()
    assert out[:2] == [f"Mode: REMOTE ({served.url})", f"Namespace: {ns}"]
    assert out[-1] == f"Migration succeeded in namespace {ns}: {scenario_project / 'settings.py'}"
    project = served.home / ns / "projects" / "python"
    assert (project / "settings.py").exists() and not (project / "notes.txt").exists()
    assert iop.out("-d").strip() == f"default production: {NAME}"
    assert list(iop.json("-l")) == [NAME]

    assert iop.out("-s", NAME, "-D").strip() == f"Production {NAME} started"
    assert iop.json("-x") == {"Production": NAME, "Status": "running"}
    assert [(i["item"], i["exists"]) for i in iop.json("-q")["items"]] == [("Router", True),
                                                                           ("Echo", True)]

    (tmp_path / "body.json").write_text('{"text": "from a file"}\n')
    out = iop.out("-t", "Router", "-C", "settings.PingMessage", "-B", f"@{tmp_path}/body.json")
    assert out.splitlines()[:2] == ["classname: settings.PongMessage", "body:"]
    assert json.loads(out.split("body:", 1)[1]) == {"text": "FROM A FILE"}
    assert "NoSuchItem" in iop.error("-t", "NoSuchItem")

    exported = iop.json("-e", NAME)
    assert exported["Production"]["@Name"] == NAME
    mermaid = iop.out("-e", NAME, "--format", "mermaid")
    assert mermaid.startswith("flowchart LR") and "Router" in mermaid and "Echo" in mermaid
    nodes = {name: node for node, name in re.findall(r"^\s*(\w+)\[\W*(Router|Echo)\b", mermaid,
                                                      re.M)}
    assert re.search(rf"^\s*{nodes['Router']} -->\|\W*Output\W*\| {nodes['Echo']}$", mermaid,
                     re.M), mermaid
    # The same drawing as on the server's own host: local and remote mode do not drift.
    assert served.iop_local("-e", NAME, "--format", "mermaid", "-n", ns).stdout == mermaid
    log = iop.out("-L", "50").splitlines()
    assert f"[{NAME}] INFO: Production {NAME} started" in "\n".join(log)
    bindings = iop.json("--bindings")
    assert [b["class"] for b in bindings] == ["Python.settings.EchoOperation",
                                              "Python.settings.Router"]
    assert iop.json("--bindings", "--unused") == []
    assert iop.json("--messages", "--count")["completed"] >= 2
    # A failed message: the counts then hold a status named "error", which is no failure.
    # (a str field given 5 is refused at the edge now: a message Echo cannot read instead)
    iop.run("-t", "Echo", "-C", "Ens.StringRequest", "-B", "no text field", code=1)
    counts = iop.json("--messages", "--count")
    assert counts["error"] >= 1
    assert iop.json("--messages", "--count", "--status", "error") == {"error": counts["error"]}
    echo = iop.json("--messages", "--count", "--target", "Echo")
    assert sum(echo.values()) == len(iop.json("--messages", "--target", "Echo"))
    assert iop.json("--messages", "--count", "--source", "NoSuchItem") == {}
    assert {m["target"] for m in iop.json("--messages", "--target", "Echo")} == {"Echo"}

    assert iop.out("-u").strip() == "Production updated"
    assert iop.out("-r").strip() == f"Production {NAME} restarted"
    assert iop.json("-x")["Status"] == "running"
    assert iop.out("-S").strip() == f"Production {NAME} stopped"
    assert iop.json("-x") == {"Production": NAME, "Status": "stopped"}

    # Foreground start: streams the server's log until Ctrl+C, then stops the production.
    proc = iop.popen("-s", NAME)
    try:
        read_until(proc, f"Production {NAME} started", timeout=60)
        assert iop.json("-x")["Status"] == "running"
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert f"Production {NAME} stopped" in stdout and "Traceback" not in stderr
    assert iop.json("-x")["Status"] == "stopped"

    iop.run("-s", NAME, "-D")
    follow = iop.popen("-L")
    try:
        read_until(follow, f"Production {NAME} started")
        follow.send_signal(signal.SIGINT)
        follow.communicate(timeout=30)
    finally:
        if follow.poll() is None:
            follow.kill()
    assert follow.returncode == 0
    assert iop.out("-k").strip() == f"Production {NAME} killed"
    assert iop.json("-x")["Status"] == "stopped"

    # Nothing was written on the client's side: remote mode never opens a local store.
    assert list(iop.home.iterdir()) == []


def test_help_init_and_refused_commands(served: ServedEngine, tmp_path: Path) -> None:
    ns = served.new_namespace("HELP")
    iop = OurClient(served, ns, tmp_path, tmp_path / "client_home")
    help_text = iop.out("-h")
    assert f"Mode: REMOTE ({served.url})" in help_text.splitlines()
    assert f"Namespace: {ns}" in help_text and "default production: Not defined" in help_text

    fresh = f"INIT{ns[-8:]}"
    served.namespaces.append(fresh)
    assert not (served.home / fresh).exists()
    assert f"Namespace {fresh} initialised" in iop.out("-i", "-n", fresh)
    assert (served.home / fresh / "store.sqlite3").exists()
    assert iop.json("-x", "-n", fresh) == {"Production": "Not defined", "Status": "stopped"}

    plan = tmp_path / "plan.json"
    plan.write_text("{}")
    assert "blocked in v1" in iop.error("--apply-plan", str(plan), "--settings", str(plan))
    assert "blocked in v1" in iop.error("--rollback-backup", str(tmp_path),
                                        "--allow-destructive")
    missing = f"MISSING{ns[-6:]}"
    assert f"namespace {missing} does not exist" in iop.error("-x", "-n", missing)

    wrong = OurClient(served, ns, tmp_path, tmp_path / "client_home", IOP_PASSWORD="wrong-pass")
    assert wrong.error("-x") == "error: 401 Unauthorized: wrong user name or password"
    # forget it, so that wrong passwords across the suite do not lock admin
    assert served.iop_local("--user-unlock", ADMIN[0]).returncode == 0
    assert list(iop.home.iterdir()) == []


def settings_file(folder: Path, url: str, **extra: str) -> Path:
    fields = {"url": url, **extra}
    path = folder / f"remote_{abs(hash(url)) % 10_000}.py"
    path.write_text(f"from iop import Production\n\nREMOTE_SETTINGS = {fields!r}\n"
                    "PRODUCTIONS = []\n")
    return path


def mode_line(proc: subprocess.CompletedProcess[str]) -> str:
    return next(line for line in proc.stdout.splitlines() if line.startswith("Mode:"))


@pytest.fixture
def mode_dir(tmp_path: Path) -> Path:
    (tmp_path / "home").mkdir(mode=0o700)
    return tmp_path


def test_mode_selection_follows_seed_000_order(served: ServedEngine, mode_dir: Path) -> None:
    real = served.url
    other = "http://127.0.0.1:9"  # nothing listens: the help screen still shows the mode
    r_file = settings_file(mode_dir, real, username=ADMIN[0], password=ADMIN[1])
    env_file = settings_file(mode_dir, other)
    home = mode_dir / "home"

    def iop(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([PYTHON, "-m", "iop", *args], env=clean_env(IOP_HOME=str(home),
                                                                          **env),
                              cwd=mode_dir, capture_output=True, text=True, timeout=60)

    # 1. IOP_URL beats -R, IOP_SETTINGS and the -m file.
    assert mode_line(iop({"IOP_URL": other, "IOP_SETTINGS": str(r_file)}, "-h", "-R",
                         str(r_file))) == f"Mode: REMOTE ({other})"
    # 2. -R beats IOP_SETTINGS; its dict carries the credentials.
    proc = iop({"IOP_SETTINGS": str(env_file)}, "-x", "-R", str(r_file))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["Status"] in ("stopped", "running")
    # 3. IOP_SETTINGS alone.
    assert mode_line(iop({"IOP_SETTINGS": str(env_file)}, "-h")) == f"Mode: REMOTE ({other})"
    # 4. REMOTE_SETTINGS in the -m file (a dry run sends nothing).
    proc = iop({}, "-m", str(env_file), "--dry-run")
    assert proc.stdout.splitlines()[0] == f"Mode: REMOTE ({other})", proc.stderr
    # --force-local wins over everything; nothing selected means local.
    for env, args in (({"IOP_URL": real}, ()), ({"IOP_SETTINGS": str(r_file)}, ("-R",
                                                                              str(r_file)))):
        assert mode_line(iop(env, "-h", "--force-local", *args)).startswith("Mode: LOCAL")
    assert mode_line(iop({}, "-h")).startswith("Mode: LOCAL")
    # A settings file without credentials takes them from the environment.
    bare = settings_file(mode_dir, real + "/")
    proc = iop({"IOP_USERNAME": ADMIN[0], "IOP_PASSWORD": ADMIN[1]}, "-x", "-R", str(bare))
    assert proc.returncode == 0, proc.stderr
    # -R naming a file without REMOTE_SETTINGS is a clear error, not local mode.
    plain = mode_dir / "plain.py"
    plain.write_text("x = 1\n")
    proc = iop({}, "-x", "-R", str(plain))
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"error: {plain} has no literal REMOTE_SETTINGS dict with a \"url\""
