"""Accounts stored before roles existed (format 1) keep working on a real `iop --serve`: they
become developer in their namespaces, are written back as format 2, and lose nothing."""

from __future__ import annotations

import json
import sqlite3
import uuid

from remote_server import ServedEngine, basic

from iop.server.users import hash_password


def store_old_account(served: ServedEngine, name: str, password: str,
                      namespaces: list[str], roles: list[str]) -> dict[str, object]:
    """Write an account exactly as the server stored it before roles (asdict of the old
    User: name, password_hash, namespaces, roles, created) into the %SYS store."""
    record = {"name": name, "password_hash": hash_password(password), "namespaces": namespaces,
              "roles": roles, "created": 1_700_000_000.5}
    with sqlite3.connect(served.home / "%SYS" / "store.sqlite3", timeout=30) as conn:
        index = json.loads(conn.execute("SELECT value FROM meta WHERE key = 'users'"
                                        ).fetchone()[0])
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                     (f"user:{name}", json.dumps(record)))
        conn.execute("UPDATE meta SET value = ? WHERE key = 'users'",
                     (json.dumps(sorted({*index, name})),))
    return record


def stored(served: ServedEngine, name: str) -> dict[str, object]:
    with sqlite3.connect(served.home / "%SYS" / "store.sqlite3", timeout=30) as conn:
        return dict(json.loads(conn.execute("SELECT value FROM meta WHERE key = ?",
                                            (f"user:{name}",)).fetchone()[0]))


def test_an_old_account_becomes_developer_in_its_namespaces(served: ServedEngine) -> None:
    namespace = f"OLD{uuid.uuid4().hex[:6].upper()}"
    old = store_old_account(served, "legacy", "legacy-password-1", [namespace], ["kept"])
    auth = {"Authorization": basic("legacy", "legacy-password-1")}
    with served.http(None) as http:
        created = http.post(f"/api/atelier/v1/{namespace}/action/compile", json=[],
                            headers=auth)
        assert created.status_code == 200, created.text
        served.namespaces.append(namespace)
        ns = {"namespace": namespace}
        assert http.get("/api/iop/status", params=ns, headers=auth).status_code == 200
        assert http.post("/api/iop/stop", params=ns, json={}, headers=auth).status_code == 200
        assert http.put("/api/iop/default", params=ns, json={"production": "Some.Production"},
                        headers=auth).json() == {"production": "Some.Production"}
        other = http.get("/api/iop/status", params={"namespace": "USER"}, headers=auth)
        assert other.status_code == 403 and "may not use namespace USER" in other.text
    now = stored(served, "legacy")
    assert now["format"] == 2 and now["roles"] == {namespace: "developer"}
    for key in ("name", "password_hash", "namespaces", "created"):
        assert now[key] == old[key], key
    assert now["legacy_roles"] == ["kept"]


def test_an_old_account_of_every_namespace_logs_in_to_the_portal(served: ServedEngine) -> None:
    store_old_account(served, "legacy-all", "legacy-password-2", ["*"], [])
    listed = {u["name"]: u for u in json.loads(served.iop_local("--user-list").stdout)}
    assert listed["legacy-all"]["roles"] == {"*": "developer"}
    assert "password_hash" not in listed["legacy-all"]
    assert stored(served, "legacy-all")["format"] == 2  # the CLI wrote the upgrade back
    with served.http(("legacy-all", "legacy-password-2")) as http:
        form = http.get("/login")
        token = form.text.split('name="login_token" value="', 1)[1].split('"', 1)[0]
        done = http.post("/login", data={"login_token": token, "username": "legacy-all",
                                         "password": "legacy-password-2"})
        assert done.status_code == 303, done.text
        page = http.get("/ns/USER/config")
        assert page.status_code == 200 and "needs the developer role" not in page.text
