"""`iop --credentials-add/-list/-remove` in local mode, on SQLite and PostgreSQL: the real
CLI, the real store. Passwords go in from standard input or IOP_CREDENTIALS_PASSWORD, are
stored sealed (never in clear in the SQLite file or the PostgreSQL rows) with a key file
made 0600 under IOP_HOME, and never come back out: not listed, not logged, not exported."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from credentials_support import BACKENDS, Namespace, in_any, namespace_on
from remote_server import PYTHON

PASSWORD = "pw-Zq81-never-shown"
OTHER_PASSWORD = "pw-Kx07-second-one"

Run = Callable[..., Any]


@pytest.fixture(params=BACKENDS)
def namespace(request: pytest.FixtureRequest, iop_home: Path,
              monkeypatch: pytest.MonkeyPatch) -> Iterator[Namespace]:
    yield from namespace_on(request.param, iop_home, monkeypatch)


def _add(run_iop: Run, name: str, username: str, password: str,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`iop --credentials-add NAME --username USER` with the password on standard input."""
    return subprocess.run([PYTHON, "-m", "iop", "--credentials-add", name, "--username",
                           username], input=password + "\n", env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=60)


def test_added_credentials_are_listed_without_password_and_removed(
        namespace: Namespace, run_iop: Run, iop_json: Run, iop_home: Path) -> None:
    added = _add(run_iop, "Db.Main", "alice", PASSWORD)
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == (f"Credentials Db.Main saved in namespace {namespace.name} "
                                    "(user name 'alice')")
    key = iop_home / "credentials.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    # From the environment variable, for scripts: no prompt, nothing on the command line.
    env_added = _add(run_iop, "mq_1@site", "bob", "", env={
        "IOP_CREDENTIALS_PASSWORD": OTHER_PASSWORD})
    assert env_added.returncode == 0, env_added.stderr

    listed = iop_json("--credentials-list")
    assert [(c["name"], c["username"]) for c in listed] == [("Db.Main", "alice"),
                                                             ("mq_1@site", "bob")]
    assert all(set(c) == {"name", "username", "updated"} for c in listed)

    # Changing the password keeps one entry; the user name may change with it.
    changed = _add(run_iop, "Db.Main", "alice2", OTHER_PASSWORD)
    assert changed.returncode == 0, changed.stderr
    assert [(c["name"], c["username"]) for c in iop_json("--credentials-list")] == [
        ("Db.Main", "alice2"), ("mq_1@site", "bob")]

    removed = run_iop("--credentials-remove", "Db.Main")
    assert removed.stdout.strip() == f"Credentials Db.Main removed from namespace {namespace.name}"
    again = run_iop("--credentials-remove", "Db.Main", check=False)
    assert again.returncode == 1
    assert again.stderr.strip() == (f"error: credentials Db.Main do not exist in namespace "
                                    f"{namespace.name}")
    assert [c["name"] for c in iop_json("--credentials-list")] == ["mq_1@site"]

    # Who did what is in the event log; no password is, nor in any store byte.
    log = run_iop("-L", "20").stdout
    assert "credentials Db.Main saved (user name 'alice')" in log
    assert "credentials Db.Main removed by" in log
    outputs = [p.stdout + p.stderr for p in (added, env_added, changed, removed, again)]
    assert not in_any(PASSWORD, log, *outputs, namespace.raw_bytes())
    assert not in_any(OTHER_PASSWORD, log, *outputs, namespace.raw_bytes())
    # ...while the store does hold the (sealed) entry that is left.
    from iop.store import open_store

    store = open_store(namespace.name)
    try:
        username, secret = store.get_credential("mq_1@site")
        assert username == "bob" and len(secret) > len(OTHER_PASSWORD)
    finally:
        store.close()


def test_refused_input_is_one_line_and_saves_nothing(namespace: Namespace, run_iop: Run,
                                                      iop_json: Run) -> None:
    cases = [
        (("bad name", "u", PASSWORD), "credentials name 'bad name' is refused"),
        ((".lead", "u", PASSWORD), "credentials name '.lead' is refused"),
        (("x" * 129, "u", PASSWORD), "is refused: a credentials name is 1-128"),
        (("Ok", "u" * 257, PASSWORD), "the user name is 257 characters long; at most 256"),
        (("Ok", "a\tb", PASSWORD), "the user name holds a control character"),
        (("Ok", "u", "p" * 4097), "the password is over 4096 characters long"),
    ]
    for (name, username, password), said in cases:
        done = _add(run_iop, name, username, password)
        assert done.returncode == 1, (name, done.stdout)
        assert done.stderr.count("\n") == 1 and said in done.stderr, done.stderr
        assert "Traceback" not in done.stderr and password not in done.stderr
    # No password at all: standard input empty and no variable.
    empty = subprocess.run([PYTHON, "-m", "iop", "--credentials-add", "Ok", "--username", "u"],
                           input="", capture_output=True, text=True, timeout=60,
                           env={k: v for k, v in os.environ.items()
                                if k != "IOP_CREDENTIALS_PASSWORD"})
    assert empty.returncode == 1
    assert empty.stderr.strip() == ("error: --credentials-add Ok: no password: standard input "
                                    "is empty and IOP_CREDENTIALS_PASSWORD is not set")
    missing_user = run_iop("--credentials-add", "Ok", check=False)
    assert missing_user.returncode == 1 and "needs --username USER" in missing_user.stderr
    assert iop_json("--credentials-list") == []


def _on_a_terminal(args: list[str], answers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    """Run ``iop ARGS`` with a pseudo-terminal as its controlling terminal; type each answer
    once its prompt shows. Returns the exit code and everything the terminal displayed."""
    import select
    import time

    pid, fd = os.forkpty()
    if pid == 0:  # the child: the terminal is its stdin, stdout, stderr and /dev/tty
        os.execve(PYTHON, [PYTHON, "-m", "iop", *args], dict(os.environ))
    shown = b""
    pending = list(answers)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # the child closed the terminal: it is done
                    break
                if not chunk:
                    break
                shown += chunk
            if pending and pending[0][0] in shown:
                os.write(fd, pending.pop(0)[1])
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    return os.waitstatus_to_exitcode(status), shown


def test_the_password_prompt_does_not_echo(namespace: Namespace, iop_json: Run) -> None:
    code, shown = _on_a_terminal(
        ["--credentials-add", "Tty.Entry", "--username", "tina"],
        [(b"Password for credentials Tty.Entry: ", PASSWORD.encode() + b"\n"),
         (b"Repeat the password: ", PASSWORD.encode() + b"\n")])
    assert code == 0, shown
    assert b"Credentials Tty.Entry saved" in shown
    assert PASSWORD.encode() not in shown  # typed, never displayed
    from iop.connectors.credentials import load_credentials
    from iop.store import open_store

    store = open_store(namespace.name)
    try:
        assert load_credentials(store, "Tty.Entry").password == PASSWORD
    finally:
        store.close()
    # Two different passwords save nothing.
    code, shown = _on_a_terminal(
        ["--credentials-add", "Tty.Other", "--username", "tina"],
        [(b"Password for credentials Tty.Other: ", b"first\n"),
         (b"Repeat the password: ", b"second\n")])
    assert code == 1
    assert b"error: the two passwords differ; nothing was saved" in shown
    assert [c["name"] for c in iop_json("--credentials-list")] == ["Tty.Entry"]
