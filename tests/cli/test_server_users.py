"""`iop --user-add/--user-password/--user-remove/--user-list`: accounts of `iop --serve`."""

from __future__ import annotations

import json
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
    assert added.stdout.strip() == "User alice added (namespaces: DEV)"
    assert iop(home, "--user-add", "bob", "--password-stdin",
               stdin="correct horse battery\n").returncode == 0

    meta = stored_meta(home)
    alice, bob = json.loads(meta["user:alice"]), json.loads(meta["user:bob"])
    assert alice["namespaces"] == ["DEV"] and bob["namespaces"] == ["*"]
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
