"""EnsLib.HTTP.OutboundAdapter in a running production, against a real HTTP server started
on a free loopback port (http_support.RecordingServer)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from http_support import RecordingServer, free_port

COMPONENTS = '''
from iop.messages.builtin import StringResponse


class Poster(BusinessOperation):
    """Posts each string under the adapter's URL; returns the server's answer."""

    @classmethod
    def get_adapter_type(cls):
        return "EnsLib.HTTP.OutboundAdapter"

    def on_message(self, request):
        response = self.adapter.post("orders", request.StringValue,
                                     headers={"X-Order": "1"}, params={"q": "a b"})
        return StringResponse(StringValue=f"{response.status_code} {response.text}")


class Former(BusinessOperation):
    """IRIS's method names: a form posted, a form as a GET query, JSON put, a delete."""

    @classmethod
    def get_adapter_type(cls):
        return "EnsLib.HTTP.OutboundAdapter"

    def on_message(self, request):
        self.adapter.SendFormData("POST", "form", {"name": request.StringValue, "n": "1"})
        self.adapter.send_form_data("GET", "/search", {"q": "a&b"})
        self.adapter.Put("items/1", {"name": request.StringValue})
        self.adapter.Delete("items/1")
        return None
'''


def _production(port: int, *, actions: str = "", retry: str = "5") -> str:
    return f'''
prod = Production("Http.Out")
prod.operation("Poster", Poster) \\
    .adapter_setting("HTTPServer", "127.0.0.1").adapter_setting("HTTPPort", "{port}") \\
    .adapter_setting("URL", "/api/") \\
    .host_setting("ReplyCodeActions", "{actions}").host_setting("RetryInterval", "{retry}")
prod.operation("Former", Former) \
    .adapter_setting("HTTPServer", "127.0.0.1").adapter_setting("HTTPPort", "{port}") \
    .adapter_setting("URL", "/api")
PRODUCTIONS = [prod]
'''


def _started(make_project: Any, port: int, **options: str) -> Any:
    project = make_project(COMPONENTS, _production(port, **options))
    project.migrate()
    project.start("Http.Out")
    return project


def test_operation_posts_to_a_real_server_and_returns_its_answer(
        make_project: Any, run_iop: Any, store: Any, tmp_path: Path) -> None:
    with RecordingServer(tmp_path / "received.jsonl") as server:
        _started(make_project, server.port)
        out = run_iop("-t", "Poster", "-C", "Ens.StringRequest", "-B",
                      '{"StringValue": "order 42"}').stdout
        answer = json.loads(out.split("body:", 1)[1])["StringValue"]
        status, _, text = answer.partition(" ")
        assert status == "200"
        assert json.loads(text) == {"received": "order 42", "path": "/api/orders?q=a+b",
                                    "method": "POST"}
        [record] = server.records()
        assert record["headers"]["x-order"] == "1"
        assert record["headers"]["host"] == f"127.0.0.1:{server.port}"


def test_503_is_retried_by_reply_code_actions_until_the_server_accepts(
        make_project: Any, run_iop: Any, store: Any, tmp_path: Path, wait_for: Any) -> None:
    with RecordingServer(tmp_path / "received.jsonl", fail_first=2) as server:
        _started(make_project, server.port, actions="E#503=R", retry="0.2")
        out = run_iop("-t", "Poster", "-C", "Ens.StringRequest", "-B",
                      '{"StringValue": "retry me"}').stdout
        assert '"StringValue": "200 ' in out
        assert [r["status"] for r in server.records()] == [503, 503, 200]
        assert server.bodies() == ["retry me"]
        request = store.query_headers(target="Poster", type="request", limit=1)[0]
        assert request.status == "completed"
        assert any(f"message {request.id} succeeded after 3 attempt(s)" in e.text
                   for e in store.log_since(0))


def test_a_status_not_2xx_is_the_message_error_naming_server_and_status(
        make_project: Any, run_iop: Any, store: Any, tmp_path: Path) -> None:
    with RecordingServer(tmp_path / "received.jsonl", fail_first=5) as server:
        _started(make_project, server.port)
        failed = run_iop("-t", "Poster", "-C", "Ens.StringRequest", "-B",
                         '{"StringValue": "x"}', check=False)
        assert failed.returncode != 0
        request = store.query_headers(target="Poster", type="request", limit=1)[0]
        assert request.status == "error"
        error = request.error or ""
        assert f"HTTP POST http://127.0.0.1:{server.port}/api/orders: the server answered " \
               "503 Service Unavailable" in error
        assert len(server.records()) == 1  # no rule: the error fails at once


def test_an_unreachable_server_is_a_one_line_error(make_project: Any, run_iop: Any,
                                                  store: Any) -> None:
    port = free_port()  # nothing listens there
    _started(make_project, port)
    failed = run_iop("-t", "Poster", "-C", "Ens.StringRequest", "-B", '{"StringValue": "x"}',
                     check=False)
    assert failed.returncode != 0
    assert "Traceback" not in failed.stderr + failed.stdout
    request = store.query_headers(target="Poster", type="request", limit=1)[0]
    assert request.status == "error"
    assert f"HTTP POST http://127.0.0.1:{port}/api/orders: " in (request.error or "")
    assert "ConnectError" in (request.error or "")


def test_a_restarted_server_is_reached_again_on_a_new_connection(
        make_project: Any, run_iop: Any, store: Any, tmp_path: Path) -> None:
    with RecordingServer(tmp_path / "received.jsonl") as server:
        _started(make_project, server.port)  # no ReplyCodeActions: any error fails the test
        run_iop("-t", "Poster", "-C", "Ens.StringRequest", "-B", '{"StringValue": "before"}')
        server.restart()  # the operation's kept-alive connection is now dead
        run_iop("-t", "Poster", "-C", "Ens.StringRequest", "-B", '{"StringValue": "after"}')
        assert server.bodies() == ["before", "after"]
    assert store.count_by_status(target="Poster", type="request") == {"completed": 2}


def test_forms_json_and_iris_method_names(make_project: Any, run_iop: Any,
                                          tmp_path: Path) -> None:
    with RecordingServer(tmp_path / "received.jsonl") as server:
        _started(make_project, server.port)
        run_iop("-t", "Former", "-C", "Ens.StringRequest", "-B", '{"StringValue": "Zoë"}')
        form, search, put, delete = server.records()
    assert (form["method"], form["path"]) == ("POST", "/api/form")
    assert form["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert form["body"] == "name=Zo%C3%AB&n=1"
    assert (search["method"], search["path"], search["body"]) == ("GET", "/search?q=a%26b", "")
    assert (put["method"], put["path"]) == ("PUT", "/api/items/1")
    assert put["headers"]["content-type"] == "application/json"
    assert json.loads(put["body"]) == {"name": "Zoë"}
    assert (delete["method"], delete["path"]) == ("DELETE", "/api/items/1")
