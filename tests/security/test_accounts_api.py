"""/api/iop/accounts on a real `iop --serve`: only an admin of every namespace manages
accounts remotely; what it does takes effect at once and is in the accounts' event log."""

from __future__ import annotations

from remote_server import ADMIN, DEVELOPER, LIMITED, OPERATOR, VIEWER, ServedEngine


def test_only_an_admin_of_every_namespace_manages_accounts(served: ServedEngine) -> None:
    added = served.iop_local("--user-add", "dev-admin", "--password-stdin", "--user-role",
                             "DEV=admin", stdin="dev-admin-password\n")
    assert added.returncode == 0, added.stderr
    for account in (VIEWER, OPERATOR, DEVELOPER, LIMITED, ("dev-admin", "dev-admin-password")):
        with served.http(account) as http:
            for method, path in (("GET", "accounts"), ("GET", "v1/accounts"),
                                 ("GET", "accounts/log"), ("DELETE", "accounts?name=viewer")):
                answer = http.request(method, f"/api/iop/{path}")
                assert answer.status_code == 403, (account, path, answer.text)
                assert "needs the admin role in every namespace" in answer.json()["error"]
            refused = http.post("/api/iop/accounts", json={
                "name": "intruder", "password": "intruder-password", "roles": {"*": "admin"}})
            assert refused.status_code == 403
    with served.http(None) as http:
        assert http.get("/api/iop/accounts").status_code == 401
    listed = served.iop_local("--user-list").stdout
    assert "intruder" not in listed


def test_an_admin_adds_changes_unlocks_and_removes_an_account(served: ServedEngine) -> None:
    name, password = "remote-ops", "remote-ops-password"
    with served.http(ADMIN) as admin:
        listed = admin.get("/api/iop/accounts")
        assert listed.status_code == 200 and "hash" not in listed.text
        assert {"name": "viewer", "roles": {"*": "viewer"}}.items() <= next(
            u for u in listed.json() if u["name"] == "viewer").items()
        added = admin.post("/api/iop/accounts", json={"name": name, "password": password,
                                                      "roles": {"*": "operator"}})
        assert added.status_code == 200 and added.json()["roles"] == {"*": "operator"}
        with served.http((name, password)) as ops:
            assert ops.post("/api/iop/stop", json={}).status_code == 200
            changed = admin.put("/api/iop/accounts/roles", json={"name": name,
                                                                 "roles": {"*": "viewer"}})
            assert changed.json()["roles"] == {"*": "viewer"}
            assert ops.post("/api/iop/stop", json={}).status_code == 403
            unlocked = admin.post("/api/iop/accounts/unlock", json={"name": name})
            assert unlocked.json() == {"name": name, "was_locked": False}
            assert admin.delete("/api/iop/accounts", params={"name": name}).json() == {
                "name": name, "removed": True}
            assert ops.get("/api/iop/status").status_code == 401
        # the caller's mistakes: 400 with one line, nothing stored
        for body, needle in (({"name": "x1", "password": "long-enough-1", "roles": ["admin"]},
                              "'roles' must be an object"),
                             ({"name": "x1", "password": "long-enough-1",
                               "roles": {"*": "root"}}, "unknown role 'root'"),
                             ({"name": "x1", "password": "short", "roles": {"*": "viewer"}},
                              "at least 8 characters"),
                             ({"name": "viewer", "password": "long-enough-1",
                               "roles": {"*": "viewer"}}, "already exists"),
                             ({"password": "long-enough-1"}, "'name' must be a non-empty text")):
            answer = admin.post("/api/iop/accounts", json=body)
            assert answer.status_code == 400 and needle in answer.json()["error"], answer.text
        assert admin.delete("/api/iop/accounts", params={"name": "nobody"}).status_code == 400
        itself = admin.delete("/api/iop/accounts", params={"name": ADMIN[0]})
        assert itself.status_code == 403 and "its own account" in itself.text
        assert admin.put("/api/iop/accounts/roles", json={
            "name": ADMIN[0], "roles": {"*": "viewer"}}).status_code == 403
        assert admin.patch("/api/iop/accounts").status_code == 405
        log = admin.get("/api/iop/accounts/log", params={"top": 200})
        texts = [entry["text"] for entry in log.json()]
    assert f"account {name} added by admin (API) with roles {{'*': 'operator'}}" in texts
    assert f"account {name} removed by admin (API)" in texts
    assert not any(password in text for text in texts)
    assert "x1" not in served.iop_local("--user-list").stdout
