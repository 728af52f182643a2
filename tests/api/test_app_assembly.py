"""The app is built so the portal mounts with one line and reuses the API's accounts."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from remote_server import free_port
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from iop.server.app import Server, build_app
from iop.server.users import UserStore


@contextmanager
def serving(app: object) -> Iterator[httpx.Client]:
    """``app`` on uvicorn in a thread, on a free loopback port: real HTTP."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            yield http
    finally:
        server.should_exit = True
        thread.join(30)


def test_a_portal_mounted_at_root_does_not_shadow_the_api(iop_home: Path) -> None:
    users = UserStore()
    users.add("operator", "operator-password", ["USER"])

    async def portal_home(request: Request) -> PlainTextResponse:
        server: Server = request.app.state.server  # what a portal's login form would use
        user = server.auth.login("operator", "operator-password")
        wrong = server.auth.login("operator", "nope")
        return PlainTextResponse(f"portal for {user.name if user else None}, wrong={wrong}")

    portal = Mount("/", routes=[Route("/", portal_home)])
    app = build_app(Server(users), routes=[portal])
    with serving(app) as http:
        page = http.get("/")
        assert page.status_code == 200 and page.text == "portal for operator, wrong=None"
        assert http.get("/api/iop/status").status_code == 401
        answer = http.get("/api/iop/status", auth=("operator", "operator-password"))
        assert answer.json() == {"production": "", "status": "stopped"}
        assert http.get("/api/iop/status", params={"namespace": "OTHER"},
                        auth=("operator", "operator-password")).status_code == 403
        # Authentication comes before routing: only a caller with an account learns a 404.
        assert http.get("/api/iop/nothing").status_code == 401
        assert http.get("/api/iop/nothing", auth=("operator", "operator-password")).json() == {
            "error": "no route /api/iop/nothing"}
