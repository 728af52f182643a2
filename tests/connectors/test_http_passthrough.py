"""The generic HTTP/REST hosts end to end: requests from httpx into EnsLib.HTTP.GenericService
(or the REST one), through EnsLib.HTTP.GenericOperation, to a real recording server; the
trace in the store; and the remote server killed and restarted mid-stream, nothing lost."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import httpx
from http_support import RecordingServer, free_port, wait_port


def _production(port_in: int, port_out: int, *, kind: str = "HTTP", url: str = "/remote/in",
                one_way: bool = False) -> str:
    return f'''
prod = Production("Http.Pass")
prod.service("HttpIn", class_name="EnsLib.{kind}.GenericService") \\
    .adapter_setting("Port", "{port_in}").adapter_setting("LocalInterface", "127.0.0.1") \\
    .adapter_setting("CallInterval", "0.5").adapter_setting("ReadTimeout", "30") \\
    .host_setting("TargetConfigName", "HttpOut").host_setting("OneWay", "{int(one_way)}")
prod.operation("HttpOut", class_name="EnsLib.{kind}.GenericOperation") \\
    .adapter_setting("HTTPServer", "127.0.0.1").adapter_setting("HTTPPort", "{port_out}") \\
    .adapter_setting("URL", "{url}").adapter_setting("ConnectTimeout", "2") \\
    .host_setting("ReplyCodeActions", "E=R").host_setting("RetryInterval", "0.3") \\
    .host_setting("FailureTimeout", "-1")
PRODUCTIONS = [prod]
'''


def _start(make_project: Any, source: str, port_in: int) -> None:
    project = make_project("", source)
    project.migrate()
    project.start("Http.Pass")
    wait_port(port_in)


def test_http_in_to_http_out_answers_with_the_remote_response_and_is_traced(
        make_project: Any, store: Any, tmp_path: Path) -> None:
    port_in = free_port()
    with RecordingServer(tmp_path / "received.jsonl") as server:
        _start(make_project, _production(port_in, server.port), port_in)
        answer = httpx.put(f"http://127.0.0.1:{port_in}/anything?a=1", content=b"hello",
                           headers={"X-Trace": "t1", "Content-Type": "text/plain"})
        assert answer.status_code == 200
        assert answer.json() == {"received": "hello", "path": "/remote/in?a=1",
                                 "method": "PUT"}
        assert answer.headers["x-recorded"] == "1"
        [record] = server.records()
        assert record["headers"]["x-trace"] == "t1"
        assert record["headers"]["host"] == f"127.0.0.1:{server.port}"
    # The trace: service -> operation request and its response, both GenericMessages.
    [request] = store.query_headers(source="HttpIn", target="HttpOut", type="request", limit=0)
    session = store.query_headers(session_id=request.session_id, oldest_first=True, limit=0)
    assert [(h.source, h.target, h.type, h.status, h.body_class) for h in session] == [
        ("HttpIn", "HttpOut", "request", "completed", "EnsLib.HTTP.GenericMessage"),
        ("HttpOut", "HttpIn", "response", "completed", "EnsLib.HTTP.GenericMessage"),
    ]
    response = json.loads(store.get_body(session[1]) or "{}")
    assert response["HTTPHeaders"]["StatusLine"] == "HTTP/1.1 200 OK"
    assert json.loads(response["Stream"])["received"] == "hello"


def test_rest_passthrough_appends_the_path_and_relays_a_4xx(make_project: Any, store: Any,
                                                              tmp_path: Path) -> None:
    port_in = free_port()
    with RecordingServer(tmp_path / "received.jsonl") as server:
        _start(make_project, _production(port_in, server.port, kind="REST", url="/base/"),
               port_in)
        answer = httpx.delete(f"http://127.0.0.1:{port_in}/patients/12")
        assert answer.status_code == 200
        assert answer.json()["path"] == "/base/patients/12"
        # A 4xx is the server's answer to the request: relayed as it is, not retried.
        missing = httpx.get(f"http://127.0.0.1:{port_in}/missing/3")
        assert (missing.status_code, missing.text) == (404, "no such thing")
        assert [r["path"] for r in server.records()] == ["/base/patients/12", "/base/missing/3"]
    assert store.count_by_status(target="HttpOut", type="request") == {"completed": 2}


def test_remote_server_restarted_mid_stream_loses_nothing(make_project: Any, store: Any,
                                                          tmp_path: Path, wait_for: Any) -> None:
    port_in = free_port()
    server = RecordingServer(tmp_path / "received.jsonl").start()
    try:
        _start(make_project, _production(port_in, server.port, one_way=True), port_in)
        total = 60
        accepted: list[str] = []
        errors: list[str] = []

        def send_all() -> None:
            with httpx.Client(timeout=60) as client:
                for n in range(total):
                    body = f"message-{n}"
                    answer = client.post(f"http://127.0.0.1:{port_in}/in", content=body)
                    if answer.status_code == 202:
                        accepted.append(body)
                    else:
                        errors.append(f"{body}: {answer.status_code} {answer.text}")

        sender = threading.Thread(target=send_all)
        sender.start()
        wait_for(lambda: len(server.bodies()) >= 15, what="15 messages at the remote server")
        server.kill()  # mid-stream: the operation's kept-alive connection dies with it
        # While it is down the operation fails and retries (E=R); input is still accepted.
        wait_for(lambda: any(e.item == "HttpOut" and "failed (attempt 2)" in e.text
                             for e in store.log_since(0)), what="the operation retrying")
        wait_for(lambda: len(accepted) >= 30, what="more input accepted while it is down")
        server.start()  # same port, same record file
        sender.join(timeout=120)
        assert not errors
        assert len(accepted) == total
        wait_for(lambda: set(server.bodies()) >= set(accepted), timeout=60,
                 what="every accepted message at the restarted server")
        received = server.bodies()
        # At least once: nothing lost; a message in flight at the kill may come twice.
        assert set(received) == set(accepted)
        assert len(received) - len(set(received)) <= 1
        wait_for(lambda: store.count_by_status(target="HttpOut", type="request")
                 == {"completed": total}, what="every request completed")
    finally:
        server.kill()


def test_a_generic_message_typed_on_the_cli_goes_out_through_the_operation(
        make_project: Any, run_iop: Any, tmp_path: Path) -> None:
    port_in = free_port()
    with RecordingServer(tmp_path / "received.jsonl") as server:
        _start(make_project, _production(port_in, server.port, kind="REST", url="/v2"),
               port_in)
        body = {"HTTPHeaders": {"HttpRequest": "PATCH", "URL": "/items/5", "X-Key": "k"},
                "Stream": "typed"}
        out = run_iop("-t", "HttpOut", "-C", "EnsLib.HTTP.GenericMessage", "-B",
                      json.dumps(body)).stdout
        assert out.splitlines()[0] == "classname: EnsLib.HTTP.GenericMessage"
        answer = json.loads(out.split("body:", 1)[1])
        assert answer["HTTPHeaders"]["StatusLine"] == "HTTP/1.1 200 OK"
        assert json.loads(answer["Stream"]) == {"received": "typed", "path": "/v2/items/5",
                                                "method": "PATCH"}
        assert server.records()[0]["headers"]["x-key"] == "k"
