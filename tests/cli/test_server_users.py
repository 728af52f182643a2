"""`iop --user-add/--user-password/--user-remove/--user-list`: accounts of `iop --serve`."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from remote_server import PYTHON, clean_env


def iop(home: Path, *args: str, stdin: str | None = "") -> subprocess.CompletedProcess[str]:
    """The CLI with ``stdin`` as its input; None gives it /dev/null (no terminal)."""
    feed: dict[str, Any] = {"input": stdin} if stdin is not None else {
        "stdin": subprocess.DEVNULL}
    return subprocess.run([PYTHON, "-m", "iop", *args], env=clean_env(IOP_HOME=str(home)),
                          capture_output=True, text=True, timeout=60, **feed)


def one_error(proc: subprocess.CompletedProcess[str], needle: str) -> None:
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr.count("\n") == 1 and needle in proc.stderr, proc.stderr


def stored_meta(home: Path) -> dict[str, str]:
    with sqlite3.connect(home / "%SYS" / "store.sqlite3") as conn:
        return dict(conn.execute("SELECT key, value FROM meta"))


def test_users_are_stored_with_salted_slow_hashes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    added = iop(home, "--user-add", "alice", "--password-stdin", "--user-namespace", "dev",
                stdin="correct horse battery\n")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "User alice added (roles: DEV=viewer)"
    assert iop(home, "--user-add", "bob", "--password-stdin",
               stdin="correct horse battery\n").returncode == 0

    meta = stored_meta(home)
    alice, bob = json.loads(meta["user:alice"]), json.loads(meta["user:bob"])
    assert alice["namespaces"] == ["DEV"] and bob["namespaces"] == ["*"]
    assert alice["roles"] == {"DEV": "viewer"} and bob["roles"] == {"*": "viewer"}
    for account in (alice, bob):
        scheme, n, _r, _p, salt, digest = account["password_hash"].split("$")
        assert scheme == "scrypt" and int(n) >= 2**14 and len(salt) == 32 and len(digest) == 64
    assert alice["password_hash"] != bob["password_hash"]  # same password, different salts
    assert "correct horse battery" not in (home / "%SYS" / "store.sqlite3").read_bytes().decode(
        errors="replace")

    listed: list[dict[str, Any]] = json.loads(iop(home, "--user-list").stdout)
    assert [(u["name"], u["namespaces"]) for u in listed] == [("alice", ["DEV"]),
                                                             ("bob", ["*"])]
    assert all("password_hash" not in u for u in listed)

    changed = iop(home, "--user-password", "alice", "--password-stdin", stdin="another-secret\n")
    assert changed.returncode == 0, changed.stderr
    new = json.loads(stored_meta(home)["user:alice"])
    assert new["password_hash"] != alice["password_hash"] and new["namespaces"] == ["DEV"]
    assert new["roles"] == {"DEV": "viewer"}  # a new password keeps the roles

    assert iop(home, "--user-remove", "bob").stdout.strip() == "User bob removed"
    assert [u["name"] for u in json.loads(iop(home, "--user-list").stdout)] == ["alice"]


def test_bad_user_commands_are_one_line_errors_and_store_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    one_error(iop(home, "--user-add", "carol", "--password-stdin", stdin="short\n"),
              "at least 8 characters")
    one_error(iop(home, "--user-add", "carol", "--password-stdin", stdin=""),
              "standard input is empty")
    # No terminal and no --password-stdin: never a default or empty password.
    one_error(iop(home, "--user-add", "carol", stdin=None), "no terminal")
    one_error(iop(home, "--user-add", "bad:name", "--password-stdin", stdin="long-enough-1\n"),
              "invalid user name")
    one_error(iop(home, "--user-add", "carol", "--password-stdin", "--user-namespace", "../x",
                  stdin="long-enough-1\n"), "invalid namespace name")
    assert json.loads(iop(home, "--user-list").stdout) == []
    assert iop(home, "--user-add", "carol", "--password-stdin",
               stdin="long-enough-1\n").returncode == 0
    one_error(iop(home, "--user-add", "carol", "--password-stdin", stdin="long-enough-2\n"),
              "already exists")
    one_error(iop(home, "--user-remove", "nobody"), "does not exist")
    one_error(iop(home, "--user-password", "nobody", "--password-stdin", stdin="long-enough\n"),
              "does not exist")


def test_roles_are_given_per_namespace_and_changed_later(tmp_path: Path) -> None:
    home = tmp_path / "home"
    added = iop(home, "--user-add", "bob", "--password-stdin", "--user-role", "viewer",
                "--user-role", "dev=developer", "--user-role", "TEST=operator",
                stdin="long-enough-1\n")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "User bob added (roles: *=viewer, DEV=developer, " \
                                   "TEST=operator)"
    assert iop(home, "--user-add", "ci", "--password-stdin", "--user-namespace", "DEV",
               "--user-namespace", "QA", "--user-role", "developer", stdin="long-enough-1\n"
               ).stdout.strip() == "User ci added (roles: DEV=developer, QA=developer)"
    changed = iop(home, "--user-set-roles", "bob", "--user-role", "admin")
    assert changed.stdout.strip() == "User bob now has roles *=admin"
    listed = {u["name"]: u for u in json.loads(iop(home, "--user-list").stdout)}
    assert listed["bob"]["roles"] == {"*": "admin"}
    assert listed["bob"]["locked_until"] is None and listed["bob"]["failed_logins"] == 0
    assert not any("hash" in key for u in listed.values() for key in u)
    # a wrong role is said before any password prompt (there is no terminal here)
    one_error(iop(home, "--user-add", "eve", "--user-role", "root", stdin=None),
              "unknown role 'root': use one of viewer, operator, developer, admin")
    one_error(iop(home, "--user-add", "eve", "--user-role", "viewer", "--user-role",
                  "operator", stdin=None), "give one --user-role ROLE")
    one_error(iop(home, "--user-add", "eve", "--user-role", "=viewer", stdin=None),
              "name the namespace before '='")
    one_error(iop(home, "--user-add", "eve", "--user-role", "%SYS=admin", stdin=None),
              "namespace %SYS is reserved")
    one_error(iop(home, "--user-set-roles", "bob"), "--user-set-roles needs --user-role")
    one_error(iop(home, "--user-set-roles", "nobody", "--user-role", "viewer"),
              "user nobody does not exist")
    one_error(iop(home, "--user-unlock", "nobody"), "user nobody does not exist")
    assert set(json.loads(iop(home, "--user-list").stdout)[0]) >= {"name", "roles"}
    assert [u["name"] for u in json.loads(iop(home, "--user-list").stdout)] == ["bob", "ci"]
    events = iop(home, "-L", "20", "-n", "%SYS").stdout
    assert re.search(r"\[accounts\] INFO: account bob added by .+ \(iop --user-add\) with roles "
                     r"\{'\*': 'viewer', 'DEV': 'developer', 'TEST': 'operator'\}", events)
    assert re.search(r"roles of account bob set to \{'\*': 'admin'\} by .+ "
                     r"\(iop --user-set-roles\)", events)
    assert "long-enough" not in events
