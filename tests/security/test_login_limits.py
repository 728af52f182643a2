"""Failed-login limits on a real `iop --serve` of its own (so its counters touch no other test):
back-off per client address, lockout per account cleared by the real `iop --user-unlock`,
the event log of %SYS, and memory kept bounded by parallel failed logins.

Each test speaks from its own loopback address (127.0.0.x, all this host's), so the
per-address counters of one test do not slow another.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from remote_server import ServedEngine, basic, start_engine, stop_engine

WRONG = "wrong-password-123"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedEngine]:
    served = start_engine(tmp_path_factory.mktemp("limits") / "home")
    try:
        yield served
    finally:
        stop_engine(served)


def from_address(engine: ServedEngine, address: str) -> httpx.Client:
    """An HTTP client whose connections come from ``address`` (a loopback address)."""
    return httpx.Client(base_url=engine.url, timeout=60,
                        transport=httpx.HTTPTransport(local_address=address))


def add_account(engine: ServedEngine, name: str, password: str) -> None:
    added = engine.iop_local("--user-add", name, "--password-stdin", stdin=password + "\n")
    assert added.returncode == 0, added.stderr


def portal_login(http: httpx.Client, name: str, password: str) -> httpx.Response:
    form = http.get("/login")
    token = re.search(r'name="login_token" value="([^"]+)"', form.text)
    assert token, form.text
    return http.post("/login", data={"login_token": token.group(1), "username": name,
                                     "password": password})


def accounts_log(engine: ServedEngine) -> str:
    shown = engine.iop_local("-L", "50", "-n", "%SYS")
    assert shown.returncode == 0, shown.stderr
    return shown.stdout


@pytest.mark.slow  # over 20 s
def test_twenty_wrong_passwords_lock_the_account_until_an_admin_unlocks_it(
        engine: ServedEngine) -> None:
    name, password = "nurse", "nurse-password-1"
    add_account(engine, name, password)
    answers: list[tuple[int, float, httpx.Response]] = []
    started = time.monotonic()
    with from_address(engine, "127.0.0.2") as http:
        for _ in range(20):
            began = time.monotonic()
            answer = http.get("/api/iop/status", headers={"Authorization": basic(name, WRONG)})
            answers.append((answer.status_code, time.monotonic() - began, answer))
    assert time.monotonic() - started < 60
    statuses = [status for status, _, _ in answers]
    assert statuses == [401] * 10 + [429] * 10, statuses
    # the address's back-off: the 9th attempt waited 1 s (4 failures past the 5 free ones)
    assert answers[8][1] >= 0.9 and answers[1][1] < 0.9, [round(t, 2) for _, t, _ in answers]
    last = answers[-1][2]
    assert last.text.count("\n") == 0 and int(last.headers["Retry-After"]) > 800
    assert re.fullmatch(r"too many failed logins for user nurse: it is locked until "
                        r"\d\d:\d\d:\d\d UTC; an admin can clear it with `iop --user-unlock "
                        r"nurse`", last.json()["error"]), last.text

    # Locked: the right password is refused too, from any address, over API and portal.
    with from_address(engine, "127.0.0.3") as http:
        right = http.get("/api/iop/status", headers={"Authorization": basic(name, password)})
        assert right.status_code == 429 and "is locked until" in right.json()["error"]
        page = portal_login(http, name, password)
        assert page.status_code == 429 and "is locked until" in page.text
        assert "iop_session" not in page.cookies
    listed = {u["name"]: u for u in json.loads(
        engine.iop_local("--user-list").stdout)}
    assert listed[name]["locked_until"] is not None and listed["admin"]["locked_until"] is None
    log = accounts_log(engine)
    assert re.search(r"\[accounts\] WARNING: account nurse locked until \d\d:\d\d:\d\d UTC "
                     r"after 10 failed logins within 15 minutes \(the last from 127\.0\.0\.2\)",
                     log), log

    unlocked = engine.iop_local("--user-unlock", name)
    assert unlocked.returncode == 0 and unlocked.stdout.strip() == "User nurse unlocked"
    with from_address(engine, "127.0.0.3") as http:
        right = http.get("/api/iop/status", headers={"Authorization": basic(name, password)})
        assert right.status_code == 200, right.text
        assert portal_login(http, name, password).status_code == 303
    log = accounts_log(engine)
    assert re.search(r"\[accounts\] INFO: account nurse unlocked by \S+ \(iop --user-unlock\)",
                     log), log
    assert WRONG not in log and password not in log
    assert WRONG not in engine.server_log() and password not in engine.server_log()
    missing = engine.iop_local("--user-unlock", "nobody")
    assert missing.returncode == 1 and missing.stderr.strip() == "error: user nobody does not exist"


def test_a_name_that_is_no_account_is_answered_like_a_locked_account(
        engine: ServedEngine) -> None:
    with from_address(engine, "127.0.0.4") as http:
        statuses = [http.get("/api/iop/status", headers={
            "Authorization": basic("no-such-user", WRONG)}).status_code for _ in range(11)]
        last = http.get("/api/iop/status", headers={"Authorization": basic("no-such-user",
                                                                            WRONG)})
    assert statuses == [401] * 10 + [429]
    assert "too many failed logins for user no-such-user: it is locked until" in last.text
    assert "no-such-user" not in accounts_log(engine)  # nothing stored for a non-account


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for process {pid}")


def test_parallel_failed_logins_keep_the_servers_memory_bounded(engine: ServedEngine) -> None:
    with engine.http() as http:  # one right login first: the server is warm
        assert http.get("/api/iop/status").status_code == 200
    before = _rss_kb(engine.proc.pid)
    statuses: list[int] = []
    for round_number in range(3):
        gate = threading.Barrier(32)
        address = f"127.0.1.{round_number + 1}"

        def attempt(index: int, address: str = address, gate: threading.Barrier = gate) -> int:
            header = basic(f"guess-{uuid.uuid4().hex[:8]}", WRONG)
            with from_address(engine, address) as http:
                gate.wait(30)
                return http.get("/api/iop/status", headers={"Authorization": header}
                                ).status_code

        with ThreadPoolExecutor(32) as pool:
            statuses += list(pool.map(attempt, range(32)))
    grown_mb = (_rss_kb(engine.proc.pid) - before) / 1024
    assert set(statuses) <= {401, 503}, statuses
    assert 503 in statuses  # the pool refused what it could not queue, at once
    assert grown_mb < 100, f"the server grew by {grown_mb:.0f} MB"
    busy = httpx.get(engine.url + "/api/iop/status", headers={"Authorization": basic(
        "admin", WRONG)}, timeout=60)
    assert busy.status_code == 401  # the pool is free again once the burst is over
