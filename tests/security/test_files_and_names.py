"""Private files and names checked at the edge (issue 22, findings 4, 5 and 6's namespace).

A fresh IOP_HOME made by the real CLI under umask 022 has no group or other permission on
anything; a looser home or store is tightened with a notice. Hostile item, production and
namespace names are refused by the DSL, `iop -m`, the API and the portal, and a hostile name
already stored never makes a job write outside IOP_HOME.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from remote_server import ADMIN, PYTHON, ServedEngine

from iop import OperationItem, Production
from iop.production.errors import ProductionError

ECHO = """\
class Echo(BusinessOperation):
    def on_message(self, request):
        return request
"""

HOSTILE_ITEMS = ["../../../../tmp/x", "/tmp/y", "a/b", "back\\slash", "x\n", "tab\there",
                 "nul\x00", "\x1b[31mred", "x" * 500, " leading", "trailing ", "..",
                 "a,b", "line\u2028separator"]


def _iop(home: Path, *args: Any, stdin: str | None = None, cwd: Path | None = None,
         timeout: float = 90, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """The real CLI with IOP_HOME=home, started under umask 022 (the usual default)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("IOP_") or k == "IOP_HOST_NAME"}
    env.update(extra_env, IOP_HOME=str(home))
    return subprocess.run([PYTHON, "-m", "iop", *[str(a) for a in args]], env=env, input=stdin,
                          capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          preexec_fn=lambda: os.umask(0o022))


def _loose(home: Path) -> list[str]:
    """Every folder or file under ``home`` (itself included) that group or others may use."""
    found = []
    for folder, dirs, files in os.walk(home):
        for path in [folder, *(os.path.join(folder, name) for name in dirs + files)]:
            mode = os.lstat(path).st_mode
            if not stat.S_ISLNK(mode) and mode & 0o077:
                found.append(f"{path} {stat.S_IMODE(mode):04o}")
    return sorted(set(found))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def fresh_home(iop_home: Path) -> Path:
    """The test's IOP_HOME, not yet created: the CLI makes it (the fixture still cleans up)."""
    iop_home.rmdir()
    return iop_home


@pytest.fixture
def echo_project(make_project: Callable[..., Any]) -> Any:
    return make_project(ECHO, """\
        prod = Production("Sec.Files")
        prod.operation("Echo Out", Echo)
        PRODUCTIONS = [prod]
    """)


# ------------------------------------------------------------------------- private files


def test_a_fresh_home_is_private_whatever_the_umask(fresh_home: Path, echo_project: Any,
                                                    wait_for: Callable[..., Any]) -> None:
    added = _iop(fresh_home, "--user-add", "alice", "--password-stdin",
                 stdin="alice-password-1\n")
    assert added.returncode == 0, added.stderr
    migrated = _iop(fresh_home, "-m", echo_project.settings)
    assert migrated.returncode == 0, migrated.stderr
    started = _iop(fresh_home, "-s", "Sec.Files", "-D")
    assert started.returncode == 0, started.stderr
    wait_for(lambda: list((fresh_home / "USER" / "jobs").glob("Echo%20Out.0.log")),
             what="the job's log file")
    assert (fresh_home / "USER" / "store.sqlite3-wal").exists()
    assert (fresh_home / "USER" / "store.sqlite3-shm").exists()
    assert _loose(fresh_home) == []  # while it runs: -wal, -shm, wake-up flags, locks, logs
    assert _iop(fresh_home, "-S").returncode == 0
    assert (fresh_home / "%SYS" / "store.sqlite3").exists()
    assert _loose(fresh_home) == []
    # no notice either: nothing had to be tightened
    assert "readable by other users" not in added.stderr + migrated.stderr + started.stderr


def test_with_postgresql_the_local_files_are_private_too(fresh_home: Path, echo_project: Any,
                                                         wait_for: Callable[..., Any]) -> None:
    import psycopg
    from psycopg import sql

    from iop.store.postgres.schema import schema_for

    url = os.environ.get("IOP_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.Error as exc:
        pytest.skip(f"PostgreSQL at {url} is not reachable: {exc}")
    namespace = f"SECPG{uuid.uuid4().hex[:8].upper()}"
    on_pg = {"IOP_DATABASE_URL": url, "IOP_NAMESPACE": namespace}
    try:
        assert _iop(fresh_home, "-m", echo_project.settings, **on_pg).returncode == 0
        started = _iop(fresh_home, "-s", "Sec.Files", "-D", **on_pg)
        assert started.returncode == 0, started.stderr
        wait_for(lambda: list((fresh_home / namespace / "jobs").glob("Echo%20Out.0.log")),
                 what="the job's log file")
        assert _loose(fresh_home) == []
        assert _iop(fresh_home, "-S", **on_pg).returncode == 0
    finally:
        _iop(fresh_home, "-k", **on_pg)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                sql.Identifier(schema_for(namespace))))
    assert not (fresh_home / namespace / "store.sqlite3").exists()
    assert _loose(fresh_home) == []


def test_a_looser_home_and_store_are_tightened_with_a_notice(fresh_home: Path,
                                                             echo_project: Any) -> None:
    assert _iop(fresh_home, "-m", echo_project.settings).returncode == 0
    store = fresh_home / "USER" / "store.sqlite3"
    # as an older version under umask 022 left them
    os.chmod(fresh_home, 0o755)
    os.chmod(fresh_home / "USER", 0o755)
    os.chmod(store, 0o644)
    listed = _iop(fresh_home, "-l")
    assert listed.returncode == 0, listed.stderr
    assert "Sec.Files" in json.loads(listed.stdout)  # the notice never mixes with the output
    notices = listed.stderr.splitlines()
    for path in (fresh_home, fresh_home / "USER", store):
        assert any(line.startswith(f"iop: {path} was readable by other users")
                   for line in notices), listed.stderr
    assert (_mode(fresh_home), _mode(fresh_home / "USER"), _mode(store)) == \
        (0o700, 0o700, 0o600)
    again = _iop(fresh_home, "-l")
    assert again.returncode == 0 and again.stderr == ""


# ------------------------------------------------------------------------- names: the DSL


@pytest.mark.parametrize("name", HOSTILE_ITEMS)
def test_the_dsl_refuses_hostile_item_names(name: str) -> None:
    prod = Production("Sec.Names")
    with pytest.raises(ProductionError) as fluent:
        prod.operation(name, "EnsLib.File.PassthroughOperation")
    with pytest.raises(ProductionError) as declared:
        OperationItem(name, "EnsLib.File.PassthroughOperation")
    for exc in (fluent.value, declared.value):
        text = str(exc)
        assert isinstance(exc, ValueError)  # what IoP raises for a bad argument
        assert text.startswith("invalid item name ") and "\n" not in text
        assert "an item name is 1-128 printable characters" in text
    assert prod.to_dict().popitem()[1].get("Item") in (None, [])


@pytest.mark.parametrize("name", ["../../tmp/p", "/tmp/p", "Demo.Production\n", "Demo/P",
                                  "My Production", "x" * 300])
def test_the_dsl_refuses_hostile_production_names(name: str) -> None:
    with pytest.raises(ProductionError, match=r"^invalid production name "):
        Production(name)


def test_names_users_really_use_are_accepted() -> None:
    prod = Production("Demo.Production")
    for name in ("Python.FileOperation", "File In", "HL7-Router_2", "Ünïcode Item", "EnsLib.X",
                 "x" * 128):
        prod.operation(name, "EnsLib.File.PassthroughOperation")
    assert len(prod.to_dict().popitem()[1]["Item"]) == 6


# ------------------------------------------------------------------------- names: iop -m


@pytest.mark.parametrize("declaration", [
    'prod.operation({name!r}, Echo)',
    'PRODUCTIONS.append({{"Production": {{"@Name": "Sec.Dict", "Item": [{{"@Name": {name!r}, '
    '"@ClassName": "EnsLib.File.PassthroughOperation"}}]}}}})',
])
@pytest.mark.parametrize("name", ["../../../../tmp/x", "/tmp/y", "a/b", "x\n", "bell\x07",
                                  "x" * 500])
def test_iop_m_refuses_hostile_item_names_in_one_line(
        name: str, declaration: str, iop_home: Path,
        make_project: Callable[..., Any]) -> None:
    project = make_project(ECHO, "prod = Production('Sec.Hostile')\nPRODUCTIONS = [prod]\n"
                           + declaration.format(name=name) + "\n")
    migrated = _iop(iop_home, "-m", project.settings)
    assert migrated.returncode == 1, migrated.stdout + migrated.stderr
    lines = migrated.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), migrated.stderr
    assert "invalid item name" in lines[0] and "Traceback" not in migrated.stderr
    assert json.loads(_iop(iop_home, "-l").stdout) == {}  # nothing was stored


def test_a_hostile_name_already_stored_never_writes_outside_iop_home(
        iop_home: Path, tmp_path: Path, echo_project: Any,
        wait_for: Callable[..., Any]) -> None:
    """A store written before names were checked: the job logs stay inside IOP_HOME."""
    from iop.store import open_store

    assert _iop(iop_home, "-m", echo_project.settings).returncode == 0
    outside = tmp_path / "outside"
    outside.mkdir()
    jobs = iop_home / "USER" / "jobs"
    climbing = os.path.relpath(outside, jobs) + "/x"  # where an unencoded name would land
    store = open_store()
    try:
        definition = store.get_production("Sec.Files")
        item = definition["Production"]["Item"][0]
        second = dict(item, **{"@Name": str(outside / "y")})
        item["@Name"] = climbing
        definition["Production"]["Item"] = [item, second]
        store.save_production("Sec.Files", definition)
    finally:
        store.close()
    started = _iop(iop_home, "-s", "Sec.Files", "-D")
    assert started.returncode == 0, started.stderr
    logs = wait_for(lambda: sorted(p.name for p in jobs.glob("*.log")) if len(
        list(jobs.glob("*.log"))) == 2 else None, what="both jobs' log files")
    assert all(name.startswith("%2") for name in logs), logs
    status = _iop(iop_home, "-x")
    assert status.returncode == 0 and "running" in status.stdout.lower(), status.stdout
    assert _iop(iop_home, "-S").returncode == 0
    assert list(outside.iterdir()) == []
    assert not (tmp_path / "x.0.log").exists()


@pytest.mark.parametrize("name", ["../../tmp/p", "Demo.Production\n", "a/b"])
def test_a_hostile_default_production_is_refused(name: str, iop_home: Path) -> None:
    refused = _iop(iop_home, "-d", name)
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: invalid production name ")
    assert len(refused.stderr.splitlines()) == 1
    assert "Not defined" in _iop(iop_home, "-d").stdout


# ------------------------------------------------------------------------- names: namespaces


@pytest.mark.parametrize("namespace", ["%SYS\n", "USER\n", "A/B", "../USER", "X" * 65,
                                       "US ER"])
def test_hostile_namespace_names_are_refused_and_make_no_folder(
        namespace: str, fresh_home: Path) -> None:
    listed = _iop(fresh_home, "-l", "-n", namespace)
    assert listed.returncode == 1, listed.stdout + listed.stderr
    assert listed.stderr.startswith("error: invalid namespace name")
    assert len(listed.stderr.splitlines()) == 1
    made = [p.name for p in fresh_home.iterdir()] if fresh_home.exists() else []
    assert all(name in ("USER", "%SYS") for name in made), made


# ------------------------------------------------------------------------- names: server


@pytest.fixture(scope="module")
def names_namespace(served: ServedEngine) -> Iterator[str]:
    ns = served.new_namespace("NAMES")
    with served.http() as http:
        answer = http.put("/api/iop/migrate", params={"namespace": ns}, json={
            "namespace": ns, "package": "python", "settings_file": "settings.py",
            "body": [{"name": "settings.py", "data": (
                "from iop import Production\n"
                "prod = Production('Sec.Served')\n"
                "prod.operation('Out', 'EnsLib.File.PassthroughOperation')\n"
                "PRODUCTIONS = [prod]\n")}]})
        assert answer.status_code == 200, answer.text
    yield ns


@pytest.mark.parametrize("name", ["../../../../tmp/x", "/tmp/y", "x\n", "x" * 500])
def test_remote_migration_refuses_hostile_item_names(name: str, served: ServedEngine,
                                                     names_namespace: str) -> None:
    settings = ("from iop import Production\n"
                "prod = Production('Sec.Remote')\n"
                f"prod.operation({name!r}, 'EnsLib.File.PassthroughOperation')\n"
                "PRODUCTIONS = [prod]\n")
    with served.http() as http:
        answer = http.put("/api/iop/migrate", params={"namespace": names_namespace}, json={
            "namespace": names_namespace, "package": "hostile", "settings_file": "settings.py",
            "body": [{"name": "settings.py", "data": settings}]})
        assert answer.status_code in (400, 500), answer.text
        error = answer.json()["error"]
        assert "invalid item name" in error and "\n" not in error
        listed = http.get("/api/iop/list", params={"namespace": names_namespace}).json()
    assert "Sec.Remote" not in listed


@pytest.mark.parametrize("name", ["../../../../tmp/x", "/tmp/y", "x\n", "x" * 500])
def test_the_api_item_save_refuses_hostile_item_names(name: str, served: ServedEngine,
                                                      names_namespace: str) -> None:
    with served.http() as http:
        answer = http.put("/api/iop/item", params={"namespace": names_namespace},
                          json={"production": "Sec.Served", "item": name,
                                "changes": {"comment": "x"}})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"].startswith("invalid item name ")


def test_the_portal_save_refuses_a_hostile_item_name(served: ServedEngine,
                                                     names_namespace: str) -> None:
    with httpx.Client(base_url=served.url, timeout=60) as http:
        form = http.get("/login")
        token = re.search(r'name="login_token" value="([^"]+)"', form.text)
        assert token, form.text
        assert http.post("/login", data={"login_token": token.group(1), "username": ADMIN[0],
                                         "password": ADMIN[1]}).status_code == 303
        page = http.get(f"/ns/{names_namespace}/config", params={"production": "Sec.Served"})
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf, page.text
        saved = http.post(f"/ns/{names_namespace}/config/save", data={
            "csrf": csrf.group(1), "production": "Sec.Served", "item": "../../../../tmp/x",
            "comment": "hostile"})
    assert saved.status_code == 400
    assert "invalid item name" in saved.text


def test_a_namespace_with_a_newline_is_refused_by_the_api(served: ServedEngine) -> None:
    with served.http() as http:
        answer = http.get("/api/iop/status", params={"namespace": "%SYS\n"})
    assert answer.status_code != 200
    assert answer.json()["error"].startswith("invalid namespace name '%SYS\\n'")
    assert not any("\n" in p.name for p in served.home.iterdir())


def test_the_servers_home_stays_private(served: ServedEngine, names_namespace: str) -> None:
    """Accounts, namespaces made over Atelier, uploaded projects: nothing open to others."""
    assert (served.home / names_namespace / "projects").is_dir()
    assert _loose(served.home) == []
