"""The HTTP edge of `iop --serve` against a real server: bodies bounded as they stream,
caller mistakes answered 4xx with one JSON line, authentication before routing, foreign
origins and non-JSON bodies refused, no server banner.

Every refusal is checked for its status, its one-line JSON error and for having changed
nothing stored (files under the server's home and what the API reports).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from remote_server import (
    ADMIN,
    MAX_BODY_MB,
    SCENARIO_PRODUCTION,
    SCENARIO_SETTINGS,
    ServedEngine,
    basic,
    start_engine,
    stop_engine,
)

GIB = 1024 * 1024 * 1024
CHUNK = 1024 * 1024
RSS_MARGIN_KB = 50 * 1024  # the acceptance bound: a hostile body costs the server < 50 MB
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}


def files_under(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` with its content (store files excluded: reads touch them)."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and "store.sqlite3" not in path.name and "wake" not in path.parts \
                and not path.name.endswith((".lock", ".err", ".log")):
            found[str(path.relative_to(root))] = path.read_bytes()
    return found


def assert_error(answer: httpx.Response, status: int, *needles: str) -> str:
    assert answer.status_code == status, f"{answer.status_code}: {answer.text[:300]}"
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    # A message body its class or the JSON limits refuse also says so ("refused": "body").
    assert list(body) in (["error"], ["error", "refused"]) and "\n" not in body["error"], body
    assert body.get("refused", "body") == "body", body
    for needle in needles:
        assert needle in body["error"], body["error"]
    return str(body["error"])


@pytest.fixture(scope="module")
def ns(served: ServedEngine) -> str:
    """A namespace with a migrated production set as default: the state refusals keep."""
    namespace = served.new_namespace("EDGE")
    with served.http() as http:
        answer = http.put("/api/iop/migrate", params={"namespace": namespace}, json={
            "package": "python", "remote_folder": "", "settings_file": "settings.py",
            "strict_production_validation": False,
            "body": [{"name": "settings.py", "data": SCENARIO_SETTINGS}]})
        assert answer.status_code == 200, answer.text
        assert http.put("/api/iop/default", params={"namespace": namespace},
                        json={"production": SCENARIO_PRODUCTION}).status_code == 200
    return namespace


@pytest.fixture
def unchanged(served: ServedEngine, ns: str) -> Iterator[None]:
    """Fails the test if the server's files or what the namespace's store holds changed."""

    def state() -> Any:
        with served.http() as http:
            store = [http.get(f"/api/iop/{route}", params={"namespace": ns}).json()
                     for route in ("list", "bindings", "default", "status", "messages")]
        return files_under(served.home), sorted(p.name for p in served.home.iterdir()), store

    before = state()
    yield
    after = state()
    assert after[1] == before[1], "a namespace folder appeared or vanished"
    assert after[0] == before[0], "files under the server's home changed"
    assert after[2] == before[2], "the namespace's store changed"


# -- bodies are refused as they stream ---------------------------------------------------------


def _status_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def _stream(total: int) -> Iterator[bytes]:
    block = b"a" * CHUNK
    for _ in range(total // CHUNK):
        yield block


def _hostile_post(url: str, path: str, declared: bool, headers: dict[str, str]) -> int | None:
    """POST 1 GiB to ``path``; the status, or None when the server closed the connection
    before an answer could be read (it refused to read on)."""
    sent = dict(headers)
    if declared:
        sent["Content-Length"] = str(GIB)
    try:
        with httpx.Client(base_url=url, timeout=60) as http:
            return http.post(path, content=_stream(GIB), headers=sent).status_code
    except httpx.TransportError:
        return None


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedEngine]:
    """A server of its own, so that its memory figures are this module's alone."""
    engine = start_engine(tmp_path_factory.mktemp("edge-rss") / "home")
    try:
        yield engine
    finally:
        stop_engine(engine)


ADMIN_AUTH = {"Authorization": basic(*ADMIN)}


@pytest.mark.parametrize("path,headers", [
    ("/login", FORM), ("/logout", FORM), ("/api/iop/migrate", JSON), ("/api/iop/start", JSON),
    ("/api/atelier/v1/USER/action/compile", JSON), ("/ns/USER/purge", FORM),
    ("/api/nothing", JSON), ("/", FORM),
    # With credentials the API reads the body: the middleware cuts it off as it streams.
    ("/api/iop/migrate", {**JSON, **ADMIN_AUTH}),
    ("/api/atelier/v1/USER/action/compile", {**JSON, **ADMIN_AUTH})],
    ids=lambda value: "admin" if value == {**JSON, **ADMIN_AUTH} else None)
def test_a_gigabyte_post_costs_the_server_under_50_mb(own_server: ServedEngine, path: str,
                                                      headers: dict[str, str]) -> None:
    pid = own_server.proc.pid
    with own_server.http(user=None) as http:  # warm the route up: its first answer's cost
        http.post(path, content=b"x=1", headers=headers)
    files = files_under(own_server.home)
    before = _status_kb(pid, "VmRSS")
    try:  # forget the peak so far, so that VmHWM is this test's peak
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        pass
    for declared in (True, False):
        started = time.monotonic()
        status = _hostile_post(own_server.url, path, declared, headers)
        # 413, or refused before the body mattered (401, 405, 303 to the login form), or the
        # connection closed.
        assert status in (None, 303, 401, 405, 413), f"{path} ({declared=}): {status}"
        assert time.monotonic() - started < 60
    peak = _status_kb(pid, "VmHWM")
    after = _status_kb(pid, "VmRSS")
    assert peak - before < RSS_MARGIN_KB, f"{path}: peak RSS grew by {(peak - before) // 1024} MB"
    assert after - before < RSS_MARGIN_KB, f"{path}: RSS kept {(after - before) // 1024} MB"
    assert files_under(own_server.home) == files, "files under the server's home changed"
    with own_server.http() as http:  # and the server still answers
        assert http.get("/api/iop/version").status_code == 200


@pytest.mark.parametrize("path,headers,limit", [
    ("/login", FORM, 1024 * 1024), ("/logout", FORM, 1024 * 1024),
    ("/api/iop/start", JSON, MAX_BODY_MB * 1024 * 1024),
    ("/api/atelier/v1/USER/action/compile", JSON, MAX_BODY_MB * 1024 * 1024)])
def test_an_oversized_body_gets_413_with_and_without_content_length(
        served: ServedEngine, ns: str, unchanged: None, path: str, headers: dict[str, str],
        limit: int) -> None:
    body = b"a" * (limit + 1)
    # With credentials, so that the API reads the body (a stranger's is not even read: 401).
    with served.http() as http:
        assert_error(http.post(path, content=body, headers=headers), 413,
                     f"limit of {limit} bytes")
        chunks = (body[i:i + 64 * 1024] for i in range(0, len(body), 64 * 1024))
        assert_error(http.post(path, content=chunks, headers=headers), 413,
                     f"limit of {limit} bytes")


# -- caller mistakes are 4xx, not 500 ----------------------------------------------------------


def _deep(levels: int) -> bytes:
    return b'{"production": "X", "deep": ' + b"[" * levels + b"]" * levels + b"}"


@pytest.mark.parametrize("method,route,query,body,status,needle", [
    ("PUT", "default", {}, {"production": 5}, 400, "'production' must be a text"),
    ("POST", "start", {}, {"production": ["x"]}, 400, "'production' must be a text"),
    ("POST", "component/start", {}, {"component": {"a": 1}}, 400, "'component' must be a text"),
    ("POST", "component/stop", {}, {}, 400, "missing 'component'"),
    ("POST", "test", {}, {"target": 1}, 400, "'target' must be a text"),
    ("POST", "resend", {}, {"ids": "1"}, 400, "'ids' must be a non-empty list"),
    ("POST", "resend", {}, {"ids": [2**70]}, 400, "'ids' must be a non-empty list"),
    ("POST", "discard", {}, {"ids": [True]}, 400, "ids must be a non-empty list"),
    ("POST", "purge", {}, {"keep_days": "soon"}, 400, "keep_days"),
    ("POST", "purge", {}, {"keep_days": 1e308}, 400, "keep_days"),
    ("PUT", "item", {}, {"item": 3, "changes": {}}, 400, "'item'"),
    ("PUT", "production/settings", {}, {"settings": []}, 400, "'settings'"),
    ("PUT", "item", {}, {"production": 7, "item": "Echo", "changes": {}}, 400, "'production'"),
    ("GET", "export", {"production": "No.Such"}, None, 404, "does not exist"),
    ("GET", "message", {"id": "987654"}, None, 404, "message 987654 does not exist"),
    ("GET", "message", {"id": "0"}, None, 400, "id must be a whole number from 1"),
    ("GET", "trace", {"session_id": "x"}, None, 400, "session_id"),
    ("POST", "update", {}, {}, 409, "no production is running"),
    ("DELETE", "binding", {"classname": "Python.Nope"}, None, 404, "not bound"),
])
def test_caller_mistakes_get_a_4xx_and_change_nothing(
        served: ServedEngine, ns: str, unchanged: None, method: str, route: str,
        query: dict[str, str], body: Any, status: int, needle: str) -> None:
    with served.http() as http:
        answer = http.request(method, f"/api/iop/{route}", params={"namespace": ns, **query},
                              json=body)
    assert_error(answer, status, needle)


@pytest.mark.parametrize("namespace,status,needle", [
    ("NOPE12345", 404, "does not exist"), ("%SYS", 403, "reserved"), ("%sys", 403, "reserved"),
    ("../x", 400, "invalid namespace name")])
def test_namespaces_that_cannot_be_used_are_4xx(served: ServedEngine, ns: str, unchanged: None,
                                                namespace: str, status: int,
                                                needle: str) -> None:
    with served.http() as http:
        assert_error(http.get("/api/iop/status", params={"namespace": namespace}), status,
                     needle)
        assert_error(http.put("/api/iop/default", params={"namespace": ns},
                              json={"production": "X", "namespace": namespace}), status, needle)
        if status == 403:  # (Atelier's compile is how a namespace is created)
            assert_error(http.post(f"/api/atelier/v1/{namespace}/action/compile", json=[]),
                         status, needle)
    assert not (served.home / "NOPE12345").exists()


@pytest.mark.parametrize("levels", [65, 100_000])
def test_deeply_nested_json_is_refused_with_400(served: ServedEngine, ns: str, unchanged: None,
                                                levels: int) -> None:
    with served.http() as http:
        for method, path in (("PUT", "/api/iop/default"), ("POST", "/api/iop/test"),
                             ("POST", f"/api/atelier/v1/{ns}/action/compile")):
            answer = http.request(method, path, params={"namespace": ns},
                                  content=_deep(levels), headers=JSON)
            assert_error(answer, 400, "deeper than 64 levels")
        # JSON text inside the JSON (a message body) is bounded alike.
        for route, body in (("test", {"target": "Echo", "body": "[" * levels}),
                            ("resubmit", {"ids": [1], "body": "{\"a\": " * levels})):
            answer = http.post(f"/api/iop/{route}", params={"namespace": ns}, json=body)
            assert_error(answer, 400, "deeper than 64 levels")


@pytest.mark.parametrize("body,needle", [
    (b'{"production": ' + b"9" * 5000 + b"}", "digits"),
    (b'{"production": "\xff"}', "not valid JSON"), (b"{not json", "not valid JSON"),
    (b'{"production": NaN, "x": Infinity}', "'production' must be a text")])
def test_bodies_that_are_not_usable_json_get_400(served: ServedEngine, ns: str,
                                                 unchanged: None, body: bytes,
                                                 needle: str) -> None:
    with served.http() as http:
        answer = http.put("/api/iop/default", params={"namespace": ns}, content=body,
                          headers=JSON)
    assert_error(answer, 400, needle)


def test_json_nested_64_deep_is_read(served: ServedEngine, ns: str) -> None:
    # The same call as above with 64 levels passes the reader: the route itself answers.
    with served.http() as http:
        answer = http.post("/api/iop/discard", params={"namespace": ns},
                           content=b'{"ids": [987654], "pad": ' + b"[" * 63 + b"]" * 63 + b"}",
                           headers=JSON)
    assert_error(answer, 409, "987654")


@pytest.mark.parametrize("route,query,needle", [
    ("messages", {"limit": "-1"}, "limit must be a whole number from 1 to 10000"),
    ("messages", {"limit": "0"}, "limit"), ("messages", {"limit": "10001"}, "limit"),
    ("messages", {"limit": "ten"}, "limit"), ("messages", {"session_id": "-3"}, "session_id"),
    ("messages", {"session_id": str(2**64)}, "session_id"),
    ("log", {"top": "-1"}, "top"), ("log", {"top": "ten"}, "top"),
    ("log", {"since_id": "-1"}, "since_id"), ("log", {"since_id": str(2**80)}, "since_id"),
    ("messages/search", {"limit": "-5"}, "limit"), ("messages/search", {"limit": "1001"}, "limit"),
    ("messages/search", {"before_id": "-1"}, "before_id"),
    ("messages/search", {"session_id": "99999999999999999999"}, "session_id"),
    ("log/search", {"after_id": "x"}, "after_id"), ("log/search", {"limit": "0"}, "limit"),
])
def test_numeric_query_values_are_checked(served: ServedEngine, ns: str, route: str,
                                          query: dict[str, str], needle: str) -> None:
    with served.http() as http:
        answer = http.get(f"/api/iop/{route}", params={"namespace": ns, **query})
    assert_error(answer, 400, needle)


def test_messages_limit_is_obeyed_within_its_range(served: ServedEngine, ns: str) -> None:
    with served.http() as http:
        for limit in ("1", "10000"):
            answer = http.get("/api/iop/messages", params={"namespace": ns, "limit": limit})
            assert answer.status_code == 200 and len(answer.json()) <= int(limit)


def test_put_default_without_production_is_refused_and_empty_clears(served: ServedEngine,
                                                                     ns: str) -> None:
    params = {"namespace": ns}
    with served.http() as http:
        for body in ({}, {"namespace": ns}, {"Production": "X"}):
            assert_error(http.put("/api/iop/default", params=params, json=body), 400,
                         "missing 'production'")
            assert http.get("/api/iop/default", params=params).json() == {
                "production": SCENARIO_PRODUCTION}
        # Clearing is explicit, as IoP's client does it.
        assert http.put("/api/iop/default", params=params,
                        json={"production": ""}).json() == {"production": ""}
        assert http.get("/api/iop/default", params=params).json() == {"production": ""}
        assert http.put("/api/iop/default", params=params,
                        json={"production": SCENARIO_PRODUCTION}).status_code == 200


# -- authentication comes before routing -------------------------------------------------------


ROUTE_PROBES = [("GET", "/api/iop/nothing"), ("DELETE", "/api/iop/status"),
                ("PATCH", "/api/iop/status"), ("POST", "/api/iop/openapi.json"),
                ("GET", "/api/iop/v1/nothing"), ("GET", "/api/other"),
                ("OPTIONS", "/api/iop/start"), ("GET", "/api/atelier/v1/USER/nothing"),
                ("HEAD", "/api/iop/status"), ("GET", "/api/")]


@pytest.mark.parametrize("authorization", [None, basic("admin", "wrong"), "Bearer x"])
def test_strangers_get_401_on_every_api_path_whatever_it_is(served: ServedEngine,
                                                            authorization: str | None,
                                                            admin_failures_forgotten: None
                                                            ) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    with served.http(user=None) as http:
        for method, path in ROUTE_PROBES:
            answer = http.request(method, path, headers=headers)
            assert answer.status_code == 401, f"{method} {path}: {answer.status_code}"
            if method != "HEAD":
                assert_error(answer, 401)


def test_authenticated_callers_learn_404_and_405(served: ServedEngine) -> None:
    with served.http() as http:
        assert_error(http.get("/api/iop/nothing"), 404, "no route /api/iop/nothing")
        assert_error(http.get("/api/other"), 404, "no route /api/other")
        assert_error(http.delete("/api/iop/status"), 405, "DELETE is not allowed")
        assert_error(http.request("PATCH", "/api/iop/start"), 405)
        assert_error(http.post("/api/iop/openapi.json"), 405)
        assert_error(http.get("/api/atelier/v1/USER/nothing"), 404, "no Atelier route")


# -- cross-site calls and non-JSON bodies ------------------------------------------------------


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1",
                                    "https://localhost"])
def test_state_changing_calls_from_a_foreign_origin_get_403(served: ServedEngine, ns: str,
                                                            unchanged: None,
                                                            origin: str) -> None:
    with served.http() as http:
        http.headers["Origin"] = origin
        params = {"namespace": ns}
        assert_error(http.put("/api/iop/default", params=params, json={"production": "Evil"}),
                     403, "cross-site request refused")
        assert_error(http.post("/api/iop/start", params=params, json={}), 403, "cross-site")
        assert_error(http.delete("/api/iop/binding", params={**params, "class": "X"}), 403)
        assert_error(http.post(f"/api/atelier/v1/{ns}/action/compile", json=[]), 403)
        # Reading is not a state change: a foreign Origin may read what its credentials allow.
        assert http.get("/api/iop/status", params=params).status_code == 200


def test_own_origin_is_accepted(served: ServedEngine, ns: str) -> None:
    with served.http() as http:
        own = served.url
        answer = http.put("/api/iop/default", params={"namespace": ns},
                          json={"production": SCENARIO_PRODUCTION}, headers={"Origin": own})
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", None])
def test_non_json_bodies_get_415(served: ServedEngine, ns: str, unchanged: None,
                                 content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    body = b'{"production": "Evil"}'
    with served.http() as http:
        params = {"namespace": ns}
        for method, path in (("PUT", "/api/iop/default"), ("POST", "/api/iop/start"),
                             ("POST", f"/api/atelier/v1/{ns}/action/compile")):
            answer = http.request(method, path, params=params, content=body, headers=headers)
            assert_error(answer, 415, "Content-Type: application/json")


def test_bodiless_posts_and_json_with_charset_are_accepted(served: ServedEngine,
                                                           ns: str) -> None:
    with served.http() as http:
        params = {"namespace": ns}
        assert http.post("/api/iop/stop", params=params).json() == {"status": "stopped"}
        assert http.post("/api/iop/kill", params=params, content=b"",
                         headers={"Content-Type": "text/plain"}).status_code == 200
        answer = http.put("/api/iop/default", params=params,
                          content=f'{{"production": "{SCENARIO_PRODUCTION}"}}'.encode(),
                          headers={"Content-Type": "application/json; charset=utf-8"})
        assert answer.status_code == 200, answer.text


# -- no banner ---------------------------------------------------------------------------------


def test_no_server_banner(served: ServedEngine) -> None:
    with served.http(user=None) as http:
        for answer in (http.get("/api/iop/status"), http.get("/login"),
                       http.post("/login", content=b"a" * (2 * 1024 * 1024), headers=FORM)):
            assert "server" not in answer.headers, answer.headers
    with served.http(user=ADMIN) as http:
        assert "server" not in http.get("/api/iop/version").headers
