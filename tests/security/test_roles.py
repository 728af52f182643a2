"""Roles per namespace on a real `iop --serve`: each role is refused (403, one JSON line naming
the role needed) what it may not do and allowed what it may, over the API, Atelier and the
portal; the portal hides what a role may not use; roles change with `--user-set-roles`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from remote_server import ADMIN, DEVELOPER, OPERATOR, VIEWER, ServedEngine

from iop.server import api, roles

ACCOUNT_ROLES = {VIEWER: roles.Role.VIEWER, OPERATOR: roles.Role.OPERATOR,
                 DEVELOPER: roles.Role.DEVELOPER, ADMIN: roles.Role.ADMIN}


def assert_refused(answer: httpx.Response, needed: str, namespace: str) -> None:
    assert answer.status_code == 403, (answer.status_code, answer.text)
    assert answer.text.count("\n") == 0
    error = answer.json()["error"]
    assert f"needs the {needed} role in namespace {namespace}" in error, error


@pytest.fixture(scope="module")
def loaded(served: ServedEngine, scenario_project: Path) -> str:
    """A namespace holding the scenario production (stopped), loaded by the local CLI."""
    namespace = served.new_namespace("ROLES")
    done = served.iop_local("-m", str(scenario_project / "settings.py"), "-n", namespace)
    assert done.returncode == 0, done.stderr
    return namespace


def test_each_role_is_refused_every_api_route_above_it(served: ServedEngine,
                                                       loaded: str) -> None:
    # The check comes before the route runs: nothing here starts, stops or changes anything.
    for account, held in ACCOUNT_ROLES.items():
        with served.http(account) as http:
            for (method, route), needed in roles.API.items():
                if needed <= held:
                    continue
                answer = http.request(method, f"/api/iop/{route}",
                                      params={"namespace": loaded},
                                      json={} if method in ("POST", "PUT") else None)
                assert_refused(answer, needed.label, loaded)
            if held < roles.ATELIER:
                assert_refused(http.post(f"/api/atelier/v1/{loaded}/action/compile", json=[]),
                               roles.ATELIER.label, loaded)
            # v1 paths are the same routes with the same roles
            if held < roles.Role.OPERATOR:
                assert_refused(http.post("/api/iop/v1/kill", params={"namespace": loaded},
                                         json={}), "operator", loaded)


def test_each_role_may_do_its_own_work(served: ServedEngine, loaded: str) -> None:
    ns = {"namespace": loaded}
    with served.http(VIEWER) as http:
        for route in ("status", "list", "default", "log", "messages", "bindings", "export",
                      "queues", "overview", "suspended", "jobs"):
            assert http.get(f"/api/iop/{route}", params=ns).status_code == 200, route
        assert http.get("/api/iop/openapi.json").status_code == 200
    with served.http(OPERATOR) as http:
        assert http.post("/api/iop/stop", params=ns, json={}).json() == {"status": "stopped"}
        assert http.post("/api/iop/kill", params=ns, json={}).status_code == 200
        purged = http.post("/api/iop/purge", params=ns, json={"keep_days": 30})
        assert purged.status_code == 200, purged.text
    with served.http(DEVELOPER) as http:
        default = http.put("/api/iop/default", params=ns, json={"production": "Remote.Demo"})
        assert default.json() == {"production": "Remote.Demo"}
        fresh = f"DEVNEW{loaded[-6:]}"
        assert http.post(f"/api/atelier/v1/{fresh}/action/compile", json=[]).status_code == 200
        served.namespaces.append(fresh)
        # developer includes operator
        assert http.post("/api/iop/stop", params=ns, json={}).status_code == 200


def test_a_role_in_one_namespace_adds_to_the_role_in_all(served: ServedEngine,
                                                        loaded: str) -> None:
    name, password = "mixed", "mixed-password-1"
    added = served.iop_local("--user-add", name, "--password-stdin", "--user-role", "viewer",
                             "--user-role", f"{loaded}=operator", stdin=password + "\n")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == f"User mixed added (roles: *=viewer, {loaded}=operator)"
    with served.http((name, password)) as http:
        assert http.post("/api/iop/stop", params={"namespace": loaded}, json={}).status_code \
            == 200
        assert_refused(http.post("/api/iop/stop", params={"namespace": "USER"}, json={}),
                       "operator", "USER")
        assert http.get("/api/iop/status", params={"namespace": "USER"}).status_code == 200
        # a role change by the local CLI applies to the next request, with no new login
        changed = served.iop_local("--user-set-roles", name, "--user-role", f"{loaded}=viewer")
        assert changed.returncode == 0, changed.stderr
        assert changed.stdout.strip() == f"User mixed now has roles {loaded}=viewer"
        assert_refused(http.post("/api/iop/stop", params={"namespace": loaded}, json={}),
                       "operator", loaded)
        refused = http.get("/api/iop/status", params={"namespace": "USER"})
        assert refused.status_code == 403 and "may not use namespace USER" in refused.text
    bad = served.iop_local("--user-set-roles", name, "--user-role", "root")
    assert bad.returncode == 1 and bad.stderr.strip() == (
        "error: unknown role 'root': use one of viewer, operator, developer, admin")


@contextmanager
def portal_login(served: ServedEngine, user: tuple[str, str]) -> Iterator[httpx.Client]:
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


def test_the_portal_hides_and_refuses_what_a_viewer_may_not_do(served: ServedEngine,
                                                              loaded: str) -> None:
    base = f"/ns/{loaded}"
    with portal_login(served, VIEWER) as http:
        page = http.get(f"{base}/productions")
        assert page.status_code == 200 and "Remote.Demo" in page.text
        assert 'value="start"' not in page.text and "productions/action" not in page.text
        assert 'data-nav="purge"' not in page.text and 'data-nav="messages"' in page.text
        config = http.get(f"{base}/config", params={"production": "Remote.Demo"})
        assert config.status_code == 200 and 'id="production-save"' not in config.text
        assert "fieldset data-section" in config.text and " disabled>" in config.text
        assert "needs the developer role" in config.text
        for path in ("messages", "suspended", "log", "queues", "jobs", "bindings"):
            assert http.get(f"{base}/{path}").status_code == 200, path
        csrf = _csrf(page)
        refused = http.post(f"{base}/productions/action",
                            data={"csrf": csrf, "action": "start", "production": "Remote.Demo"})
        assert refused.status_code == 403
        assert "this action needs the operator role in namespace" in refused.text
        assert http.get(f"{base}/purge").status_code == 403
        assert http.post(f"{base}/purge", data={"csrf": csrf, "keep_days": "0"}).status_code \
            == 403
        assert http.post(f"{base}/suspended/action", data={"csrf": csrf, "action": "discard",
                                                          "ids": "1"}).status_code == 403
        fs = http.get(f"{base}/fs")
        assert fs.status_code == 403 and "developer" in fs.json()["error"]
        assert http.get(f"{base}/log/tail").status_code == 200
    status = served.http().get("/api/iop/status", params={"namespace": loaded}).json()
    assert status["status"] == "stopped"  # the refused Start did nothing


def test_the_portal_shows_each_role_its_own_buttons(served: ServedEngine, loaded: str) -> None:
    base = f"/ns/{loaded}"
    with portal_login(served, OPERATOR) as http:
        page = http.get(f"{base}/productions")
        assert 'value="start"' in page.text and 'data-nav="purge"' in page.text
        assert http.get(f"{base}/purge").status_code == 200
        config = http.get(f"{base}/config", params={"production": "Remote.Demo"})
        assert 'id="production-save"' not in config.text
        refused = http.post(f"{base}/config/production", data={
            "csrf": _csrf(page), "production": "Remote.Demo", "setting:ShutdownTimeout": "5"})
        assert refused.status_code == 403 and "needs the developer role" in refused.text
    with portal_login(served, DEVELOPER) as http:
        config = http.get(f"{base}/config", params={"production": "Remote.Demo"})
        assert 'id="production-save"' in config.text and " disabled>" not in config.text
        assert http.get(f"{base}/fs").status_code == 200


def test_every_api_and_portal_route_has_a_role() -> None:
    from iop.server.portal import portal_routes

    assert set(roles.API) == set(api.ROUTES)
    portal = {(method, route.path.removeprefix("/ns/{ns}")) for route in portal_routes()
              if route.path.startswith("/ns/")  # type: ignore[attr-defined]
              for method in route.methods - {"HEAD"}}  # type: ignore[attr-defined]
    assert portal == set(roles.PORTAL)


def test_docs_show_the_route_table_of_the_code() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "security.md").read_text()
    assert roles.markdown_table() in docs
