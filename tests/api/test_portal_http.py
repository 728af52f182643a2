"""The portal's doors over plain HTTP (no browser): login, sessions, CSRF, namespaces the
user may not use, and the pickers' roots. Runs on the directory's one `iop --serve`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from remote_server import ADMIN, LIMITED, LIMITED_NAMESPACE, ServedEngine


@contextmanager
def _login(served: ServedEngine, user: tuple[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.url, timeout=60) as http:
        form = http.get("/login")
        token = re.search(r'name="login_token" value="([^"]+)"', form.text)
        assert token, form.text
        done = http.post("/login", data={"login_token": token.group(1), "username": user[0],
                                         "password": user[1]})
        assert done.status_code == 303, done.text
        yield http


def _csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def test_pages_need_a_login_and_a_wrong_password_is_refused(served: ServedEngine) -> None:
    with httpx.Client(base_url=served.url, timeout=60) as http:
        page = http.get("/ns/USER/messages")
        assert page.status_code == 303
        assert page.headers["location"] == "/login?next=%2Fns%2FUSER%2Fmessages"
        assert http.get("/ns/USER/log/tail").status_code == 401
        assert http.get("/ns/USER/fs").json() == {"error": "not logged in"}
        form = http.get("/login")
        token = re.search(r'name="login_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        wrong = http.post("/login", data={"login_token": token, "username": ADMIN[0],
                                          "password": "wrong-password"})
        assert wrong.status_code == 401 and "Wrong user name or password" in wrong.text
        assert "iop_session" not in wrong.cookies
        # forget it, so that wrong passwords across the suite do not lock admin
        assert served.iop_local("--user-unlock", ADMIN[0]).returncode == 0
        # a login form posted from elsewhere (no token of ours) is refused before any check
        forged = httpx.post(served.url + "/login", data={"username": ADMIN[0],
                                                         "password": ADMIN[1]})
        assert forged.status_code == 400 and "expired" in forged.text
        # the API keeps its own Basic auth: a portal page is no way around it
        assert http.get("/api/iop/status").status_code == 401


def test_posts_need_the_session_csrf_token_and_our_origin(served: ServedEngine) -> None:
    with _login(served, ADMIN) as http:
        page = http.get("/ns/USER/productions")
        assert page.status_code == 200
        csrf = _csrf(page)
        missing = http.post("/ns/USER/productions/action", data={"action": "kill"})
        assert missing.status_code == 403 and "expired" in missing.text
        foreign = http.post("/ns/USER/productions/action", data={"action": "kill", "csrf": csrf},
                            headers={"Origin": "http://evil.example"})
        assert foreign.status_code == 403
        allowed = http.post("/ns/USER/productions/action", data={"action": "stop", "csrf": csrf},
                            headers={"Origin": served.url})
        assert allowed.status_code == 303
        assert "stopped" in http.get("/ns/USER/productions").text
        # logging out ends the session: the same cookie no longer opens a page
        assert http.post("/logout", data={"csrf": csrf}).status_code == 303
        assert http.get("/ns/USER/productions").status_code == 303


def test_operations_forms_need_the_csrf_token_too(served: ServedEngine) -> None:
    with _login(served, ADMIN) as http:
        page = http.get("/ns/USER/suspended")
        assert page.status_code == 200 and "No suspended messages" in page.text
        csrf = _csrf(page)
        for path, data in (("/ns/USER/suspended/action", {"action": "discard", "ids": "1"}),
                           ("/ns/USER/suspended/edit", {"id": "1", "body": "{}"}),
                           ("/ns/USER/purge", {"keep_days": "0", "include_incomplete": "1"}),
                           ("/ns/USER/config/production",
                            {"production": "P", "setting:PurgeKeepDays": "1"}),
                           ("/ns/USER/productions/action", {"action": "recover"})):
            assert http.post(path, data=data).status_code == 403, path
            foreign = http.post(path, data={**data, "csrf": csrf},
                                headers={"Origin": "http://evil.example"})
            assert foreign.status_code == 403, path
        # with the token: a purge keeping ten years deletes nothing, and says so
        done = http.post("/ns/USER/purge", data={"keep_days": "3650", "csrf": csrf})
        assert done.status_code == 303
        assert "0 session(s), 0 message(s)" in http.get("/ns/USER/purge").text
        refused = http.get("/ns/USER/purge", params={"review": "1", "keep_days": "-1"})
        assert refused.status_code == 400 and "days to keep must be 0 or more" in refused.text
        gone = http.get("/ns/USER/suspended", params={"id": "987654"})
        assert "Message 987654 is not suspended" in gone.text
        nothing = http.post("/ns/USER/suspended/action", data={"action": "resubmit",
                                                               "csrf": csrf})
        assert nothing.status_code == 303
        assert "Select the messages to resubmit first" in http.get("/ns/USER/suspended").text


def test_a_user_sees_only_the_namespaces_it_may_use(served: ServedEngine) -> None:
    with _login(served, LIMITED) as http:
        landing = http.get("/")
        assert landing.headers["location"] == f"/ns/{LIMITED_NAMESPACE}/productions"
        own = http.get(f"/ns/{LIMITED_NAMESPACE}/productions")
        assert own.status_code == 200 and "No production in namespace" in own.text
        other = http.get("/ns/USER/messages")
        assert other.status_code == 403
        assert f"user {LIMITED[0]} may not use namespace USER" in other.text
        reserved = http.get("/ns/%25SYS/productions")
        assert reserved.status_code == 404 and "reserved" in reserved.text


def test_pickers_list_only_the_allowed_roots(served: ServedEngine) -> None:
    with _login(served, ADMIN) as http:
        roots = http.get("/ns/USER/fs").json()
        assert roots["roots"] == [str((served.home / "USER").resolve())]
        refused = http.get("/ns/USER/fs", params={"path": "/etc"})
        assert refused.status_code == 403 and "outside the folders" in refused.json()["error"]
        sneaky = http.get("/ns/USER/fs", params={"path": str(served.home / "USER" / "..")})
        assert sneaky.status_code == 403
        inside = http.get("/ns/USER/fs", params={"path": str(served.home / "USER")}).json()
        assert all(not e["name"].startswith(".") for e in inside["entries"])
        assert inside["parent"] == ""  # no way up from a root
