"""Credentials over a real `iop --serve` on 127.0.0.1: /api/iop/credentials and the CLI's
`--credentials-*` in remote mode. Least privilege: developers list names and user names,
an admin of the namespace sets and removes them, viewers and operators see nothing. Inputs
are bounded; the password is sealed with the server's key and shows in no answer, no
server log line, no event log, no export and no stored byte."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator

import pytest
from credentials_support import in_any
from remote_server import (
    ADMIN,
    DEVELOPER,
    OPERATOR,
    PYTHON,
    VIEWER,
    ServedEngine,
    clean_env,
    start_engine,
    stop_engine,
)

PASSWORD = "pw-Vb63-over-the-wire"
API_PASSWORD = "pw-Ne44-put-by-api"
NS_ADMIN = ("nsadmin", "nsadmin-password-1")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedEngine]:
    served = start_engine(tmp_path_factory.mktemp("credentials") / "home")
    try:
        yield served
    finally:
        stop_engine(served)


def _remote(engine: ServedEngine, user: tuple[str, str], namespace: str, *args: str,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Our CLI in remote mode (IOP_URL), as ``user``, from a home of its own."""
    env = clean_env(IOP_URL=engine.url, IOP_USERNAME=user[0], IOP_PASSWORD=user[1],
                    IOP_NAMESPACE=namespace, IOP_HOME=str(engine.home.parent / "client-home"))
    return subprocess.run([PYTHON, "-m", "iop", *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=90)


def test_remote_cli_by_role(engine: ServedEngine) -> None:
    ns = engine.new_namespace("CR")
    added = _remote(engine, ADMIN, ns, "--credentials-add", "Mail.Out", "--username", "olivia",
                    stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == (f"Credentials Mail.Out saved in namespace {ns} (user name "
                                    "'olivia')")
    # Sealed with the server's key, made 0600 in the server's IOP_HOME on this first add.
    key = engine.home / "credentials.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert not (engine.home.parent / "client-home" / "credentials.key").exists()
    opened = subprocess.run(
        [PYTHON, "-c", "import sys; from iop.store import open_store; "
                       "from iop.connectors.credentials import load_credentials; "
                       "c = load_credentials(open_store(sys.argv[1]), 'Mail.Out'); "
                       "print(c.username, c.password == sys.argv[2])", ns, PASSWORD],
        env=engine.server_env, capture_output=True, text=True, timeout=60)
    assert opened.stdout.strip() == "olivia True", opened.stderr

    listed = _remote(engine, DEVELOPER, ns, "--credentials-list")
    assert listed.returncode == 0, listed.stderr
    assert '"name": "Mail.Out"' in listed.stdout and '"username": "olivia"' in listed.stdout
    for user in (VIEWER, OPERATOR):
        refused = _remote(engine, user, ns, "--credentials-list")
        assert refused.returncode == 1
        assert refused.stderr.strip() == (
            f"error: 403 Forbidden: GET /api/iop/credentials needs the developer role in "
            f"namespace {ns}; user {user[0]} has {'viewer' if user == VIEWER else 'operator'} "
            "there")
    for args in (("--credentials-add", "Other", "--username", "x"),
                 ("--credentials-remove", "Mail.Out")):
        refused = _remote(engine, DEVELOPER, ns, *args, stdin="secret-of-developer\n")
        assert refused.returncode == 1
        assert "needs the admin role in namespace" in refused.stderr
        assert "secret-of-developer" not in refused.stderr

    removed = _remote(engine, ADMIN, ns, "--credentials-remove", "Mail.Out")
    assert removed.returncode == 0, removed.stderr
    gone = _remote(engine, ADMIN, ns, "--credentials-remove", "Mail.Out")
    assert gone.returncode == 1
    assert gone.stderr.strip() == (f"error: 404 Not Found: credentials Mail.Out do not exist "
                                   f"in namespace {ns}")
    for done in (added, listed, removed, gone):
        assert not in_any(PASSWORD, done.stdout, done.stderr)


def test_admin_of_one_namespace_manages_only_its_own(engine: ServedEngine) -> None:
    ns = engine.new_namespace("CA")
    made = engine.iop_local("--user-add", NS_ADMIN[0], "--user-namespace", ns, "--user-role",
                            "admin", "--password-stdin", stdin=NS_ADMIN[1] + "\n")
    assert made.returncode == 0, made.stderr
    body = {"name": "Own", "username": "u", "password": API_PASSWORD}
    with engine.http(NS_ADMIN) as http:
        assert http.put("/api/iop/credentials", params={"namespace": ns},
                        json=body).status_code == 200
        elsewhere = http.put("/api/iop/credentials", params={"namespace": "USER"}, json=body)
        assert elsewhere.status_code == 403
        # Account management still needs admin on every namespace.
        assert http.get("/api/iop/accounts").status_code == 403


def test_api_bounds_inputs_and_never_answers_a_password(engine: ServedEngine) -> None:
    ns = engine.new_namespace("CB")
    url = "/api/iop/credentials"
    with engine.http(ADMIN) as http:
        saved = http.put(url, params={"namespace": ns},
                         json={"name": "Db_1", "username": "dba", "password": API_PASSWORD})
        assert saved.status_code == 200, saved.text
        assert set(saved.json()) == {"name", "username", "updated"}
        refused = [
            ({"name": "has space", "username": "u", "password": "p"},
             "credentials name 'has space' is refused: a credentials name is 1-128 ASCII "
             "letters, digits, '.', '_', '@' or '-', starting with a letter or digit"),
            ({"name": "é", "username": "u", "password": "p"}, "credentials name 'é' is refused"),
            ({"name": "N" * 129, "username": "u", "password": "p"}, "is refused"),
            ({"name": "N", "username": "u" * 257, "password": "p"},
             "the user name is 257 characters long; at most 256"),
            ({"name": "N", "username": "u", "password": "p" * 4097},
             "the password is over 4096 characters long"),
            ({"name": "N", "username": "u", "password": "line\nbreak"},
             "the password holds a line break or a NUL character"),
            ({"name": "N", "username": "u", "password": 12345}, "'password' must be a text"),
            ({"name": "N", "username": "u"}, "'password' must be a text, got NoneType"),
            ({"name": ["N"], "username": "u", "password": "p"}, "'name' must be a text"),
        ]
        for body, said in refused:
            answer = http.put(url, params={"namespace": ns}, json=body)
            assert answer.status_code == 400, (body, answer.text)
            assert said in answer.json()["error"], answer.text
            assert "line\nbreak" not in answer.text and "p" * 50 not in answer.text
        assert http.delete(url, params={"namespace": ns}).status_code == 400
        assert http.delete(url, params={"namespace": ns, "name": "Nope"}).status_code == 404
        listed = http.get(url, params={"namespace": ns}).json()
        assert [(c["name"], c["username"]) for c in listed] == [("Db_1", "dba")]
        spec = http.get("/api/iop/openapi.json").json()["paths"]["/api/iop/credentials"]
        assert set(spec) == {"get", "put", "delete"}

        # Nowhere else either: event log, export, accounts log, server log, stored bytes.
        log = http.get("/api/iop/log", params={"namespace": ns, "top": 100}).text
        assert "credentials Db_1 saved (user name 'dba') by admin (API)" in log
        export = http.get("/api/iop/export", params={"namespace": ns,
                                                     "production": "Not.There"}).text
        accounts = http.get("/api/iop/accounts/log", params={"top": 200}).text
    stored = b"".join(p.read_bytes() for p in engine.home.rglob("*")
                      if p.is_file() and p.name != "credentials.key")
    assert not in_any(API_PASSWORD, log, export, accounts, engine.server_log(), stored)
    assert os.path.getsize(engine.home / "credentials.key") == 45  # 44 characters and \n
