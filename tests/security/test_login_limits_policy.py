"""The failed-login policy on a real %SYS store in a temporary IOP_HOME (no server): the
per-address back-off and refusal, the per-account lockout that another process sees and
clears, and the bounded password pool."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from iop.server.login_limits import (
    ACCOUNT_LOCK_FAILURES,
    ADDRESS_MAX_DELAY,
    ADDRESS_REFUSE,
    LoginLimits,
    LoginRefused,
)
from iop.server.password_pool import HashPool, HashPoolBusy
from iop.server.users import UserStore


def test_an_address_is_slowed_down_then_refused_and_others_are_not(iop_home: Path) -> None:
    limits = LoginLimits(UserStore())
    delays = []
    for attempt in range(ADDRESS_REFUSE):
        limits.check(f"name-{attempt}", "10.0.0.9", exists=False)  # not refused yet
        delays.append(limits.delay("10.0.0.9"))
        limits.failed(f"name-{attempt}", "10.0.0.9", exists=False)
    assert delays[:5] == [0.0] * 5 and delays[5] == 0.25
    assert delays == sorted(delays) and delays[-1] == ADDRESS_MAX_DELAY
    with pytest.raises(LoginRefused, match=r"too many failed logins from 10\.0\.0\.9") as refused:
        limits.check("someone-else", "10.0.0.9", exists=False)
    assert 1 <= refused.value.retry_after <= 60
    limits.check("someone-else", "10.0.0.10", exists=False)  # another address: untouched
    assert limits.delay("10.0.0.10") == 0.0


def test_an_account_lockout_is_seen_and_cleared_by_another_process(iop_home: Path) -> None:
    users = UserStore()
    users.add("ann", "ann-password-1")
    limits = LoginLimits(users)
    for attempt in range(ACCOUNT_LOCK_FAILURES - 1):
        limits.failed("ann", f"10.0.1.{attempt}", exists=True)
    limits.check("ann", "10.0.2.1", exists=True)  # nine failures: not locked
    limits.succeeded("ann")
    assert users.login_state("ann") == {}  # a right password forgets earlier failures
    for attempt in range(ACCOUNT_LOCK_FAILURES):
        limits.failed("ann", f"10.0.1.{attempt}", exists=True)
    # A fresh view of the store (what another server process or host would have) refuses too.
    elsewhere = LoginLimits(UserStore())
    with pytest.raises(LoginRefused, match="user ann: it is locked until") as refused:
        elsewhere.check("ann", "10.0.3.1", exists=True)
    assert refused.value.retry_after > 14 * 60
    assert UserStore().unlock("ann", "a test") is True
    limits.check("ann", "10.0.3.1", exists=True)
    assert UserStore().unlock("ann", "a test") is False
    texts = [entry.text for entry in users.store.log_top(10)]
    assert any(t.startswith("account ann locked until") for t in texts)
    assert "account ann unlocked by a test" in texts


def test_the_password_pool_refuses_at_once_when_full() -> None:
    pool = HashPool(workers=1, waiting=0)
    inside, release = threading.Event(), threading.Event()

    def slow_check() -> bool:
        inside.set()
        return release.wait(30)

    holder = threading.Thread(target=pool.run, args=(slow_check,))
    holder.start()
    try:
        assert inside.wait(30)
        with pytest.raises(HashPoolBusy, match="busy checking other logins"):
            pool.run(lambda: True)
    finally:
        release.set()
        holder.join(30)
    assert pool.run(lambda: True) is True  # the slot is free again
