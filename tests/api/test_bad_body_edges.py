"""Issue 25, "bad input never gives a traceback", through a real `iop --serve`: bodies too
deep, not JSON or not UTF-8, a message class whose constructor raises and a value of the wrong
type for a dataclass field, sent by our CLI in remote mode, to the API's test and resubmit
routes and to the portal's edited resubmit. Each is refused in one line (4xx for the API, the
page with the reason for the portal) and nothing is stored or changed."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from bad_input_support import DEEP, DEEP_ARG, MESSAGES, one_line, run_raw
from remote_server import ADMIN, ServedEngine, clean_env

SERVED_SETTINGS = '''\
from dataclasses import dataclass

from iop import BusinessOperation, Message, Production
''' + MESSAGES + '''

class Gate(BusinessOperation):
    def on_message(self, request):
        raise ConnectionError("remote system down")


prod = Production("Edges.Served", testing_enabled=True)
prod.operation("Echo", Echo)
prod.operation("Gate", Gate).host_setting("ReplyCodeActions", "E=S")
PRODUCTIONS = [prod]
'''


@contextmanager
def portal_login(served: ServedEngine) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.url, timeout=60) as http:
        token = re.search(r'name="login_token" value="([^"]+)"', http.get("/login").text)
        assert token is not None
        done = http.post("/login", data={"login_token": token.group(1), "username": ADMIN[0],
                                         "password": ADMIN[1]})
        assert done.status_code in (200, 303), done.text
        yield http


def test_api_remote_cli_and_portal_refuse_bad_bodies_in_one_line(served: ServedEngine,
                                                                 tmp_path: Path) -> None:
    ns = served.new_namespace("EDGES")
    project = tmp_path / "project"
    project.mkdir()
    (project / "settings.py").write_text(SERVED_SETTINGS)
    home = tmp_path / "client_home"
    home.mkdir(mode=0o700)
    env = clean_env(IOP_HOME=str(home), IOP_URL=served.url, IOP_USERNAME=ADMIN[0],
                    IOP_PASSWORD=ADMIN[1], IOP_NAMESPACE=ns)
    assert run_raw(home, "-m", "settings.py", cwd=project, env=env).returncode == 0
    assert run_raw(home, "-s", "Edges.Served", "-D", cwd=project, env=env).returncode == 0

    # Remote CLI: the same decoding, before anything is sent.
    one_line(run_raw(home, "-t", "Echo", "-C", "settings.Ping", "-B", DEEP_ARG, env=env), 2,
             "argument -B/--body", "deeper than")
    one_line(run_raw(home, "-t", "Echo", "-C", "settings.Ping", "-B", b"\xff", env=env), 2,
             "not valid UTF-8")
    # A body the class refuses on the server: its 400 answer is marked, the CLI exits 2.
    for klass, body, needles in (
            ("settings.Boom", '{"n": 1}', ("settings.Boom", "RuntimeError",
                                           "constructor refused n")),
            ("settings.Ping", '{"uid": 12345}', ("settings.Ping", "Ping.uid expects str")),
            ("settings.Quote", '{"symbol": "X"}', ("settings.Quote", "price",
                                                  "Field required"))):
        line = one_line(run_raw(home, "-t", "Echo", "-C", klass, "-B", body, env=env), 2,
                        *needles)
        assert line.startswith(f"error: test body does not fit {klass}: "), line
    one_line(run_raw(home, "-t", "NoSuchItem", "-C", "settings.Ping", env=env), 1,
             "NoSuchItem")  # not a body: the engine's refusal, exit 1

    # API: one-line JSON errors with 4xx, for request bodies and message bodies inside them.
    def refused(http: httpx.Client, status: int, content: bytes | None = None,
                **body: Any) -> str:
        answer = http.post("/api/iop/test", params={"namespace": ns},
                           content=content if content is not None else json.dumps(body),
                           headers={"Content-Type": "application/json"})
        assert answer.status_code == status, answer.text[:500]
        error = answer.json()["error"]
        assert "\n" not in error and "Traceback" not in error, error
        if status == 400 and "target" in body:  # a message body (not the request) refused
            assert answer.json().get("refused") == "body", answer.text[:500]
        return str(error)

    with served.http() as http:
        assert "deeper than 64" in refused(http, 400, target="Echo",
                                           classname="settings.Ping", body=DEEP)
        assert "deeper than 64" in refused(http, 400, content=(
            b'{"target": "Echo", "classname": "settings.Ping", "body": ' + DEEP.encode() + b"}"))
        assert "not valid JSON" in refused(http, 400, content=b'{"target": "Echo\xff\xfe"}')
        assert "not valid JSON" in refused(http, 400, target="Echo", classname="settings.Ping",
                                           body='{"uid": ')
        assert "lone surrogate" in refused(http, 400, target="Echo", classname="settings.Ping",
                                           body={"uid": "caf\udce9"})
        error = refused(http, 400, target="Echo", classname="settings.Boom", body='{"n": 1}')
        assert "settings.Boom" in error and "constructor refused n" in error
        assert "Ping.uid expects str" in refused(http, 400, target="Echo",
                                                 classname="settings.Ping", body={"uid": 12345})
        # Gate suspends the request and never answers: the caller stops waiting at once.
        try:
            http.post("/api/iop/test", params={"namespace": ns}, timeout=2,
                      json={"target": "Gate", "classname": "settings.Ping",
                            "body": '{"uid": "down"}', "restart": False})
        except httpx.ReadTimeout:
            pass
        deadline = time.monotonic() + 30
        suspended: list[Any] = []
        while not suspended and time.monotonic() < deadline:
            suspended = http.get("/api/iop/suspended", params={"namespace": ns}).json()
            time.sleep(0.1)
        assert suspended, "the Gate request was never suspended"
        message_id = suspended[0]["id"]
        answer = http.post("/api/iop/resubmit", params={"namespace": ns},
                           json={"ids": [message_id], "body": DEEP})
        assert answer.status_code == 400 and "deeper than 64" in answer.json()["error"]
        answer = http.post("/api/iop/resubmit", params={"namespace": ns},
                           json={"ids": [message_id], "body": '{"uid": 12345}'})
        assert answer.status_code == 400 and "Ping.uid expects str" in answer.json()["error"]
        assert answer.json()["refused"] == "body"
    # The remote CLI's edited resubmit: the server's refusal of the body, exit 2.
    for body, needles in (('{"uid": 12345}', ("settings.Ping", "Ping.uid expects str")),
                          ("[1]", ("a JSON object",))):
        one_line(run_raw(home, "--resubmit", str(message_id), "-B", body, env=env), 2,
                 *needles)

    # Portal: the edited resubmit shows the refusal on the page; the message stays suspended.
    with portal_login(served) as http:
        page = http.get(f"/ns/{ns}/suspended", params={"id": message_id})
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None, page.text[:500]
        for body, needle in ((DEEP, "deeper than 64"), ('{"uid": 12345}', "Ping.uid expects str"),
                             ('{"uid": ', "not valid JSON")):
            shown = http.post(f"/ns/{ns}/suspended/edit",
                              data={"id": str(message_id), "body": body, "csrf": csrf.group(1)},
                              headers={"Origin": served.url})
            assert shown.status_code == 400, shown.text[:500]
            assert needle in shown.text, (needle, shown.text[:2000])
            assert "Traceback" not in shown.text
    with served.http() as http:
        still = http.get("/api/iop/suspended", params={"namespace": ns}).json()
        assert [m["id"] for m in still] == [message_id]
    run_raw(home, "-k", env=env)
