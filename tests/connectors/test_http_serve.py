"""HTTP services reached through `iop --serve` (/api/services/<namespace>/<item>/...): the
server authenticates first, needs the operator role, and relays to the item's listener."""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from http_support import free_port, wait_port
from remote_server import ADMIN, OPERATOR, VIEWER, ServedEngine, start_engine, stop_engine

COMPONENTS = '''
from iop import BusinessOperation, BusinessService
from iop.connectors.http.generic_message import GenericMessage


class Echo(BusinessService):
    """Sends each request to Keeper and answers 201 with the path and body it got."""

    @classmethod
    def get_adapter_type(cls):
        return "EnsLib.HTTP.InboundAdapter"

    def on_process_input(self, request):
        if request.url == "/fail":
            raise ValueError("refused by Echo")
        self.send_request_async("Keeper", request)
        return GenericMessage.response(201, f"{request.method} {request.url} {request.Stream}"
                                       .encode(), {"Content-Type": "text/plain"})


class Keeper(BusinessOperation):
    def on_message(self, request):
        return None
'''

SETTINGS = '''
from iop import Production
from served_http import Echo, Keeper

prod = Production("Http.Served")
prod.service("Echo", Echo).adapter_setting("EnableStandardRequests", "1") \
    .adapter_setting("Port", "{echo}").adapter_setting("LocalInterface", "127.0.0.1") \
    .adapter_setting("CallInterval", "0.5")
prod.service("Hidden", Echo).adapter_setting("Port", "{hidden}") \
    .adapter_setting("LocalInterface", "127.0.0.1")
prod.operation("Keeper", Keeper)
PRODUCTIONS = [prod]
'''


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedEngine]:
    engine = start_engine(tmp_path / "home")
    try:
        project = tmp_path / "project"
        project.mkdir()
        (project / "served_http.py").write_text(textwrap.dedent(COMPONENTS))
        echo = free_port()
        (project / "settings.py").write_text(textwrap.dedent(SETTINGS).format(
            echo=echo, hidden=free_port()))
        for args in (("-m", str(project / "settings.py")), ("-s", "Http.Served", "-D")):
            done = engine.iop_local(*args)
            assert done.returncode == 0, done.stderr
        wait_port(echo)
        yield engine
    finally:
        stop_engine(engine)


def _messages(engine: ServedEngine) -> list[dict[str, Any]]:
    listed = engine.iop_local("--messages")
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    return list(data if isinstance(data, list) else data.get("messages", []))


@pytest.mark.slow  # an `iop --serve` with its accounts, then a production: ~25 s
def test_a_service_through_the_server_needs_credentials_and_the_operator_role(served: ServedEngine) -> None:
    path = "/api/services/USER/Echo/orders/9"
    with served.http(user=None) as anonymous:
        refused = anonymous.post(path, content=b"x")
        assert refused.status_code == 401
        assert "www-authenticate" in refused.headers
    with served.http(user=VIEWER) as viewer:
        forbidden = viewer.post(path, content=b"x")
        assert forbidden.status_code == 403
        assert "needs the operator role" in forbidden.json()["error"]
    assert not _messages(served)  # nothing of it reached the production


@pytest.mark.slow
def test_a_service_through_the_server_answers_after_storing_its_sends(served: ServedEngine) -> None:
    with served.http(user=OPERATOR) as http:
        answer = http.post("/api/services/USER/Echo/orders/9?x=1", content=b"nine")
        assert (answer.status_code, answer.text) == (201, "POST /orders/9 nine")
        # Asked right after the answer: the service's send is already stored.
        sent = [m for m in _messages(served) if m.get("source") == "Echo"]
        assert len(sent) == 1 and sent[0]["target"] == "Keeper"
        assert sent[0]["body_class"] == "EnsLib.HTTP.GenericMessage"
    with served.http(None) as portal:  # the portal's message viewer shows it
        form = portal.get("/login")
        token = re.search(r'name="login_token" value="([^"]+)"', form.text)
        assert token, form.text
        assert portal.post("/login", data={"login_token": token.group(1), "username": ADMIN[0],
                                           "password": ADMIN[1]}).status_code == 303
        page = portal.get(f"/ns/USER/messages/{sent[0]['id']}", params={"view": "body"})
        assert page.status_code == 200, page.text[:300]
        assert "HttpRequest" in page.text and "/orders/9" in page.text and "nine" in page.text
    with served.http(user=OPERATOR) as http:
        failed = http.post("/api/services/USER/Echo/fail", content=b"")
        assert (failed.status_code, failed.text) == (500, "ValueError: refused by Echo\n")
        hidden = http.post("/api/services/USER/Hidden/orders", content=b"x")
        assert hidden.status_code == 404
        assert "EnableStandardRequests" in hidden.json()["error"]
        unknown = http.get("/api/services/USER/Nobody/x")
        assert unknown.status_code == 404
    # What the service got: the caller's address forwarded, not the caller's credentials.
    with served.http() as admin:
        stored = admin.get("/api/iop/message", params={"id": sent[0]["id"]}).json()
    headers = json.loads(stored["body"])["HTTPHeaders"] if isinstance(stored["body"], str) \
        else stored["body"]["HTTPHeaders"]
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert "authorization" not in headers and headers["URL"] == "/orders/9"
