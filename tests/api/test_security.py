"""Refusals of the server: credentials, namespaces, uploads that try to escape, big bodies.

Each refusal is checked for its status and one-line JSON error, and for having written
nothing: the server's files and the namespace's store are compared before and after.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from remote_server import (
    ADMIN,
    LIMITED,
    LIMITED_NAMESPACE,
    MAX_BODY_MB,
    SCENARIO_SETTINGS,
    ServedEngine,
    basic,
)

REALM = 'Basic realm="iop"'


def files_under(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` with its content (store files excluded: reads touch them)."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and "store.sqlite3" not in path.name and "wake" not in path.parts \
                and not path.name.endswith((".lock", ".err", ".log")):
            found[str(path.relative_to(root))] = path.read_bytes()
    return found


def upload(files: list[dict[str, str]], **fields: Any) -> dict[str, Any]:
    return {"package": "python", "remote_folder": "", "settings_file": "settings.py",
            "strict_production_validation": False, "body": files, **fields}


GOOD_FILES = [{"name": "settings.py", "data": SCENARIO_SETTINGS}]


@pytest.fixture(scope="module")
def ns(served: ServedEngine) -> str:
    """A namespace holding a migrated project: the state refusals must not change."""
    namespace = served.new_namespace("SEC")
    with served.http() as http:
        answer = http.put("/api/iop/migrate", params={"namespace": namespace},
                          json=upload(GOOD_FILES, namespace=namespace))
    assert answer.status_code == 200, answer.text
    return namespace


@pytest.fixture
def unchanged(served: ServedEngine, ns: str) -> Iterator[None]:
    """Fails the test if the server's files or the namespace's store changed."""

    def state() -> Any:
        with served.http() as http:
            store = [http.get(f"/api/iop/{route}", params={"namespace": ns}).json()
                     for route in ("list", "bindings", "default", "status")]
        names = sorted(p.name for p in served.home.iterdir())
        return files_under(served.home), names, store

    before = state()
    yield
    after = state()
    assert after[1] == before[1], "a namespace folder appeared or vanished"
    assert after[0] == before[0], "files under the server's home changed"
    assert after[2] == before[2], "the namespace's store changed"


def assert_error(answer: Any, status: int, *needles: str) -> str:
    assert answer.status_code == status, f"{answer.status_code}: {answer.text}"
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert list(body) == ["error"] and "\n" not in body["error"], body
    for needle in needles:
        assert needle in body["error"], body["error"]
    return str(body["error"])


# -- authentication ---------------------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, basic("", ""), "Basic !!!notbase64",
                                           "Bearer abc", basic("admin", "")])
def test_missing_or_malformed_credentials_get_401(served: ServedEngine, ns: str, unchanged: None,
                                                  authorization: str | None,
                                                  admin_failures_forgotten: None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    with served.http(user=None) as http:
        for method, route, body in (("GET", "status", None), ("POST", "start", {}),
                                    ("PUT", "migrate", upload(GOOD_FILES))):
            answer = http.request(method, f"/api/iop/{route}", params={"namespace": ns},
                                  json=body, headers=headers)
            assert_error(answer, 401)
            assert answer.headers["www-authenticate"] == REALM
        answer = http.post(f"/api/atelier/v1/{ns}/action/compile", json=[], headers=headers)
        assert_error(answer, 401)


def test_wrong_password_and_unknown_user_get_401(served: ServedEngine, ns: str,
                                                 unchanged: None,
                                                 admin_failures_forgotten: None) -> None:
    for user in (("admin", "not-the-password"), ("nobody", ADMIN[1]),
                 ("admin", ADMIN[1] + " ")):
        with served.http(user=user) as http:
            error = assert_error(http.post("/api/iop/start", params={"namespace": ns},
                                           json={"production": "Remote.Demo"}), 401,
                                 "wrong user name or password")
            assert ADMIN[1] not in error
            assert_error(http.put("/api/iop/migrate", params={"namespace": ns},
                                  json=upload([{"name": "settings.py", "data": "x = 1\n"}])),
                         401)
            assert_error(http.get("/api/iop/openapi.json"), 401)


def test_right_password_is_accepted(served: ServedEngine, ns: str) -> None:
    with served.http() as http:
        assert http.get("/api/iop/status", params={"namespace": ns}).json() == {
            "production": "", "status": "stopped"}


# -- namespaces -------------------------------------------------------------------------------


def test_a_user_cannot_use_a_namespace_it_was_not_given(served: ServedEngine, ns: str,
                                                        unchanged: None) -> None:
    fresh = f"NEW{uuid.uuid4().hex[:8].upper()}"
    with served.http(user=LIMITED) as http:
        assert http.get("/api/iop/status",
                        params={"namespace": LIMITED_NAMESPACE}).status_code == 200
        assert_error(http.get("/api/iop/status", params={"namespace": ns}), 403,
                     f"user {LIMITED[0]} may not use namespace {ns}")
        assert_error(http.get("/api/iop/export", params={"namespace": ns.lower(),
                                                         "production": "Remote.Demo"}), 403)
        # On POST/PUT the body's namespace wins over the query's (IRIS's rule).
        assert_error(http.put("/api/iop/default", params={"namespace": LIMITED_NAMESPACE},
                              json={"production": "Hijack", "namespace": ns}), 403)
        assert_error(http.put("/api/iop/migrate", params={"namespace": LIMITED_NAMESPACE},
                              json=upload(GOOD_FILES, namespace=ns)), 403)
        assert_error(http.post(f"/api/atelier/v1/{fresh}/action/compile", json=[]), 403)
    assert not (served.home / fresh).exists()


def test_unknown_and_reserved_namespaces_are_errors_that_create_nothing(
        served: ServedEngine, unchanged: None) -> None:
    fresh = f"NOPE{uuid.uuid4().hex[:8].upper()}"
    with served.http() as http:
        assert_error(http.get("/api/iop/status", params={"namespace": fresh}), 404,
                     f"namespace {fresh} does not exist")
        assert_error(http.get("/api/iop/status", params={"namespace": "%SYS"}), 403, "reserved")
        assert_error(http.get("/api/iop/status", params={"namespace": "../x"}), 400,
                     "invalid namespace name")
    assert not (served.home / fresh).exists()


# -- uploads that try to leave the project folder ---------------------------------------------


def escape_cases(tmp: Path) -> list[tuple[dict[str, Any], str]]:
    outside = tmp / "outside.py"
    return [
        (upload([*GOOD_FILES, {"name": str(outside), "data": "x = 1\n"}]), str(outside)),
        (upload([*GOOD_FILES, {"name": "../evil.py", "data": "x = 1\n"}]), "../evil.py"),
        (upload([*GOOD_FILES, {"name": "pkg/../../evil.py", "data": ""}]), "pkg/../../evil.py"),
        (upload([*GOOD_FILES, {"name": "..\\evil.py", "data": ""}]), "evil.py"),
        (upload([*GOOD_FILES, {"name": "ok\x00.py", "data": ""}]), "ok"),
        (upload(GOOD_FILES, settings_file="../settings.py"), "../settings.py"),
        (upload(GOOD_FILES, settings_file=str(outside)), str(outside)),
        (upload(GOOD_FILES, package="../escape"), "../escape"),
        (upload(GOOD_FILES, package="."), "package"),
        (upload(GOOD_FILES, package="/tmp"), "/tmp"),
        (upload([{"name": "settings.py", "data": 5}]), "data"),
        (upload({"settings.py": "x"}), "body"),
    ]


def test_migrate_refuses_names_that_escape_and_writes_nothing(served: ServedEngine, ns: str,
                                                              unchanged: None,
                                                              tmp_path: Path) -> None:
    with served.http() as http:
        for body, needle in escape_cases(tmp_path):
            answer = http.put("/api/iop/migrate", params={"namespace": ns}, json=body)
            assert_error(answer, 400, needle)
    assert list(tmp_path.iterdir()) == []
    assert not (served.home / ns / "evil.py").exists()
    assert not (served.home / ns / "escape").exists()


def test_remote_folder_cannot_choose_a_server_path(served: ServedEngine, ns: str,
                                                   tmp_path: Path) -> None:
    outside = tmp_path / "chosen-by-client"
    files = [{"name": "settings.py", "data": SCENARIO_SETTINGS},
             {"name": "lib/helpers.py", "data": "VALUE = 42\n"}]
    with served.http() as http:
        answer = http.put("/api/iop/migrate", params={"namespace": ns},
                          json=upload(files, remote_folder=str(outside)))
    assert answer.status_code == 200, answer.text
    assert f"remote_folder {str(outside)!r} ignored" in answer.json()["warnings"][0]
    assert not outside.exists()
    project = served.home / ns / "projects" / "python"
    assert (project / "lib" / "helpers.py").read_text() == "VALUE = 42\n"


def test_a_failing_migration_keeps_the_previous_project_and_store(served: ServedEngine, ns: str,
                                                                  unchanged: None) -> None:
    broken = [{"name": "settings.py", "data": "from iop import Production\nPRODUCTIONS = [3]\n"}]
    with served.http() as http:
        assert_error(http.put("/api/iop/migrate", params={"namespace": ns},
                              json=upload(broken)), 400, "PRODUCTIONS[0]")
        assert_error(http.put("/api/iop/migrate", params={"namespace": ns},
                              json=upload([{"name": "other.py", "data": ""}])), 400,
                     "the upload has no settings.py")


# -- request size -----------------------------------------------------------------------------


def test_oversized_bodies_get_413_and_write_nothing(served: ServedEngine, ns: str,
                                                    unchanged: None) -> None:
    big = "#" * (MAX_BODY_MB * 1024 * 1024 + 1)
    body = json.dumps(upload([*GOOD_FILES, {"name": "big.py", "data": big}])).encode()
    with served.http() as http:
        answer = http.put("/api/iop/migrate", params={"namespace": ns}, content=body,
                          headers={"Content-Type": "application/json"})
        assert_error(answer, 413, "larger than the server's limit")

        def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while reading
            for start in range(0, len(body), 256 * 1024):
                yield body[start:start + 256 * 1024]

        answer = http.put("/api/iop/migrate", params={"namespace": ns}, content=chunks(),
                          headers={"Content-Type": "application/json"})
        assert_error(answer, 413)
        assert_error(http.post("/api/iop/test", params={"namespace": ns},
                               content=b'{"target": "' + b"x" * len(body) + b'"}'), 413)


def test_a_project_of_a_megabyte_is_accepted(served: ServedEngine) -> None:
    namespace = served.new_namespace("BIG")
    data = "# padding\n" * 100_000
    with served.http() as http:
        answer = http.put("/api/iop/migrate", params={"namespace": namespace},
                          json=upload([*GOOD_FILES, {"name": "pad.py", "data": data}]))
    assert answer.status_code == 200, answer.text
    assert os.path.getsize(served.home / namespace / "projects" / "python" / "pad.py") == len(data)


# -- malformed requests -----------------------------------------------------------------------


def test_malformed_requests_get_one_json_error_line(served: ServedEngine, ns: str,
                                                    unchanged: None) -> None:
    with served.http() as http:
        params = {"namespace": ns}
        assert_error(http.post("/api/iop/start", params=params, content=b"{not json",
                               headers={"Content-Type": "application/json"}), 400,
                     "not valid JSON")
        assert_error(http.post("/api/iop/start", params=params, content=b"{not json"), 415,
                     "application/json")
        assert_error(http.post("/api/iop/start", params=params, json=["a"]), 400, "JSON object")
        assert_error(http.get("/api/iop/nothing", params=params), 404, "/api/iop/nothing")
        assert_error(http.delete("/api/iop/status", params=params), 405)
        assert_error(http.get("/api/iop/log", params={**params, "top": "ten"}), 400, "top")
