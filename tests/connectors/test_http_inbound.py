"""EnsLib.HTTP.InboundAdapter in a running production, called with real requests (httpx and
raw sockets) on a free loopback port."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from http_support import free_port, wait_port

COMPONENTS = '''
from iop.connectors.http.generic_message import GenericMessage


class Orders(BusinessService):
    """Stores each request (async to its target) and answers 201 with a header of its own."""

    TargetConfigNames = setting("Keeper")

    @classmethod
    def get_adapter_type(cls):
        return "EnsLib.HTTP.InboundAdapter"

    def on_process_input(self, request):
        if request.url == "/fail":
            raise ValueError("no such order\\nsecond line never shown")
        if request.url == "/slow":  # holds the job's thread until the test removes the file
            with open(request.Stream, "w"):
                pass
            while os.path.exists(request.Stream):
                time.sleep(0.05)
        self.send_request_async(self.TargetConfigNames, request)
        return GenericMessage.response(201, ("got " + request.Stream).encode(),
                                       {"Content-Type": "text/plain", "X-Order": request.query})


class Keeper(BusinessOperation):
    def on_message(self, request):
        return None


class SlowKeeper(BusinessOperation):
    def on_message(self, request):
        time.sleep(2)
'''


def _production(port: int, extra: str = "", keeper: str = "Keeper") -> str:
    return f'''
prod = Production("Http.In")
prod.service("Orders", Orders).adapter_setting("Port", "{port}") \\
    .adapter_setting("LocalInterface", "127.0.0.1").adapter_setting("CallInterval", "0.5") \\
    .adapter_setting("MaxBodySize", "1000"){extra}
prod.operation("Keeper", {keeper})
PRODUCTIONS = [prod]
'''


@pytest.fixture
def orders(make_project: Any) -> int:
    port = free_port()
    project = make_project(COMPONENTS, _production(port))
    project.migrate()
    project.start("Http.In")
    wait_port(port)
    return port


def test_a_request_is_stored_before_its_answer_and_answered_with_the_service_reply(
        orders: int, store: Any) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{orders}") as client:
        # Headers named like the request line's entries cannot pass for them.
        answer = client.post("/orders/7", content=b"seven", params={"id": "7"},
                             headers={"HttpRequest": "DELETE", "URL": "/evil"})
        # Asked at once, no waiting: the 201 came after the service's send was committed.
        [sent] = store.query_headers(source="Orders", target="Keeper", limit=0)
        assert (answer.status_code, answer.text) == (201, "got seven")
        assert answer.headers["x-order"] == "id=7"
        assert sent.body_class == "EnsLib.HTTP.GenericMessage"
        body = json.loads(store.get_body(sent) or "{}")
        assert body["Stream"] == "seven"
        assert {k: body["HTTPHeaders"][k] for k in ("HttpRequest", "URL", "RawParams")} == \
            {"HttpRequest": "POST", "URL": "/orders/7", "RawParams": "id=7"}
        assert not {"httprequest", "url"} & set(body["HTTPHeaders"])
        # The same connection serves a second request (keep-alive).
        assert client.post("/orders/8", content=b"eight").status_code == 201
    assert len(store.query_headers(source="Orders", target="Keeper", limit=0)) == 2


def test_a_failing_service_answers_500_with_one_line_and_logs_the_error(
        orders: int, store: Any, wait_for: Any) -> None:
    answer = httpx.post(f"http://127.0.0.1:{orders}/fail", content=b"x")
    assert answer.status_code == 500
    assert answer.text == "ValueError: no such order\n"
    wait_for(lambda: [e for e in store.log_since(0)
                      if "HTTP request POST /fail failed: ValueError: no such order" in e.text],
             what="the failure in the event log")
    assert not store.query_headers(source="Orders", target="Keeper", limit=0)


def test_hostile_and_oversized_requests_are_refused_with_one_line(orders: int,
                                                                  store: Any) -> None:
    base = f"http://127.0.0.1:{orders}"
    big = httpx.post(base + "/orders", content=b"x" * 1001)
    assert big.status_code == 413
    assert big.text == "request body of 1001 bytes is over the limit of 1000\n"

    def raw(data: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", orders), timeout=10) as sock:
            sock.sendall(data)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
            return b"".join(chunks)

    garbage = raw(b"\x16\x03\x01 not http at all\r\n\r\n")
    assert garbage.startswith(b"HTTP/1.1 400 ")
    assert garbage.split(b"\r\n\r\n", 1)[1].count(b"\n") == 1
    chunked = raw(b"POST /orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"5\r\nhello\r\n0\r\n\r\n")
    assert chunked.startswith(b"HTTP/1.1 411 ")
    lying = raw(b"POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\nabc")
    assert lying.startswith(b"HTTP/1.1 413 ")
    headers = b"".join(b"X-H%d: v\r\n" % n for n in range(200))
    flood = raw(b"GET / HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
    assert flood.startswith(b"HTTP/1.1 431 ")
    # None of it reached the service; the listener still serves.
    assert not store.query_headers(source="Orders", limit=0)
    assert httpx.post(base + "/orders", content=b"ok").status_code == 201


def test_queue_limit_answers_503_with_retry_after(make_project: Any, store: Any,
                                                  wait_for: Any) -> None:
    port = free_port()
    project = make_project(COMPONENTS, _production(
        port, ' \\\n    .adapter_setting("QueueLimit", "2")', keeper="SlowKeeper"))
    project.migrate()
    project.start("Http.In")
    wait_port(port)
    url = f"http://127.0.0.1:{port}/orders"
    # Keeper takes 2 s a message: requests sent faster fill its queue up to the limit.
    refused = wait_for(lambda: (lambda a: a if a.status_code == 503 else None)(
        httpx.post(url, content=b"more")), what="a 503 once Keeper has 2 queued")
    assert refused.headers["retry-after"] == "1"
    assert refused.text.startswith("service busy, retry later: a target of the service has 2")
    queued = len(store.query_headers(source="Orders", target="Keeper", limit=0))
    assert queued >= 2  # at most a few got in before the limit was read, none after a 503


def test_a_peer_not_allowed_is_disconnected_and_stopping_closes_the_port(
        make_project: Any, store: Any, run_iop: Any, wait_for: Any) -> None:
    port = free_port()
    project = make_project(COMPONENTS, _production(
        port, ' \\\n    .adapter_setting("AllowedIPAddresses", "192.0.2.7, localhost:99")'))
    project.migrate()
    project.start("Http.In")
    wait_port(port)
    # localhost resolves to 127.0.0.1 (a :port suffix is ignored): allowed.
    assert httpx.post(f"http://127.0.0.1:{port}/a", content=b"x").status_code == 201
    project.write_settings(_production(
        port, ' \\\n    .adapter_setting("AllowedIPAddresses", "192.0.2.7")'))
    project.migrate()
    run_iop("-u")
    wait_for(lambda: _refused(port), what="the restarted listener disconnecting 127.0.0.1")
    assert len(store.query_headers(source="Orders", limit=0)) == 1
    run_iop("-S")
    wait_for(lambda: not _listening(port), timeout=15, what="the port closed by the stop")


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _refused(port: int) -> bool:
    """A listener is there, and it hangs up on us without an answer."""
    if not _listening(port):
        return False
    try:
        httpx.post(f"http://127.0.0.1:{port}/b", content=b"y", timeout=5)
        return False
    except httpx.HTTPError:
        return True


def test_a_port_in_use_is_one_logged_line_and_listening_starts_once_it_is_free(
        make_project: Any, store: Any, wait_for: Any) -> None:
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    port = squatter.getsockname()[1]
    try:
        project = make_project(COMPONENTS, _production(port))
        project.migrate()
        project.start("Http.In")
        logged = wait_for(lambda: [e for e in store.log_since(0) if e.item == "Orders"
                                   and "cannot listen" in e.text], what="the listen error")
        assert logged[0].text == (f"cannot listen: ConnectorError: HTTP listener on "
                                  f"127.0.0.1:{port}: Address already in use")
    finally:
        squatter.close()
    answer = wait_for(lambda: _listening(port) and httpx.post(
        f"http://127.0.0.1:{port}/late", content=b"x"), what="the listener once the port is free")
    assert answer.status_code == 201
    orders_log = [e.text for e in store.log_since(0) if e.item == "Orders"]
    assert len([t for t in orders_log if "cannot listen" in t]) == 1  # said once, not per try
    assert not [t for t in orders_log if "Traceback" in t]


def test_a_request_the_busy_job_did_not_take_in_time_is_refused_and_never_runs(
        make_project: Any, store: Any, tmp_path: Path, wait_for: Any) -> None:
    port = free_port()
    project = make_project(COMPONENTS, _production(
        port, ' \\\n    .adapter_setting("ReadTimeout", "1")'))
    project.migrate()
    project.start("Http.In")
    wait_port(port)
    url = f"http://127.0.0.1:{port}"
    holding = tmp_path / "holding"
    answers: list[int] = []
    slow = threading.Thread(target=lambda: answers.append(
        httpx.post(url + "/slow", content=str(holding).encode(), timeout=60).status_code))
    slow.start()
    wait_for(holding.exists, what="the job busy with the slow request")
    refused = httpx.post(url + "/refused", content=b"late", timeout=30)
    assert refused.status_code == 503
    assert refused.text == "service busy, retry later: the service did not take the input " \
                           "within 1 s\n"
    holding.unlink()  # the job is free again
    slow.join(timeout=30)
    assert answers == [201]
    assert httpx.post(url + "/after", content=b"x").status_code == 201
    urls = [json.loads(store.get_body(h) or "{}")["HTTPHeaders"]["URL"]
            for h in store.query_headers(source="Orders", limit=0, oldest_first=True)]
    assert urls == ["/slow", "/after"]  # the refused one never ran
