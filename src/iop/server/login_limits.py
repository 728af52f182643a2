"""Failed-login limits: a back-off per client address, then a lockout per account.

Per address (this process's memory, reset by a restart): after 5 failures within a minute,
each further attempt waits before its password is checked, 0.25 s more per failure (at most
2 s); after 30 it is refused at once (HTTP 429) until the minute has passed.

Per account (the %SYS store, so ``iop --user-unlock`` in another process clears it): 10
failures within 15 minutes, from any addresses, lock the account for 15 minutes. A locked
account is refused before its password is checked, the right password too (HTTP 429, saying
until when and how to clear it); credentials proven before the lockout (a portal session, a
Basic header verified within the last minute) keep working, so an attacker who knows an
admin's name cannot end the admin's work, only delay new logins by 15 minutes at a time.
Lockouts and unlocks are written to %SYS's event log (``iop -L 20 -n %SYS``), never with a
password. Names that are no account are counted in memory the same way and answered the same,
so a lockout does not tell which names exist.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from iop.errors import RequestRefused
from iop.server.users import UserStore

ADDRESS_WINDOW = 60.0
ADDRESS_FREE = 5  # failures per window before attempts are delayed
ADDRESS_DELAY_STEP = 0.25
ADDRESS_MAX_DELAY = 2.0
ADDRESS_REFUSE = 30  # failures per window from which attempts are refused at once
ACCOUNT_WINDOW = 15 * 60.0
ACCOUNT_LOCK_FAILURES = 10
LOCK_SECONDS = 15 * 60.0
MAX_TRACKED = 10_000  # addresses and unknown names kept in memory


def accounts(users: UserStore) -> list[dict[str, Any]]:
    """Each account's public fields, its lockout (``locked_until``, UTC, or None) and its
    failed logins of the last 15 minutes: what `--user-list` and the accounts API show."""
    now = time.time()
    listed = []
    for user in users.list():
        state = users.login_state(user.name)
        until = float(state.get("locked_until") or 0)
        recent = [t for t in state.get("failures", []) if isinstance(t, (int, float))
                  and t > now - ACCOUNT_WINDOW]
        listed.append({**user.public(), "locked_until": time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime(until)) if until > now else None,
            "failed_logins": len(recent)})
    return listed


class LoginRefused(RequestRefused):
    """Too many failed logins from this address or for this account (HTTP 429)."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after + 0.999))


def _clock(at: float) -> str:
    return time.strftime("%H:%M:%S UTC", time.gmtime(at))


class LoginLimits:
    """Counts failed logins and refuses or delays the next ones (see the module's text)."""

    def __init__(self, users: UserStore) -> None:
        self.users = users
        self._addresses: dict[str, deque[float]] = {}
        self._unknown: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float]:
        failures = self._addresses.get(address)
        if failures is None:
            return deque()
        while failures and failures[0] < now - ADDRESS_WINDOW:
            failures.popleft()
        if not failures:
            del self._addresses[address]
        return failures

    def delay(self, address: str) -> float:
        """Seconds to wait before checking a password from ``address``."""
        with self._lock:
            count = len(self._recent(address, time.time()))
        if count < ADDRESS_FREE:
            return 0.0
        return min(ADDRESS_MAX_DELAY, ADDRESS_DELAY_STEP * (count - ADDRESS_FREE + 1))

    def check(self, name: str, address: str, exists: bool) -> None:
        """Raise LoginRefused when ``address`` is over its limit or ``name`` is locked."""
        now = time.time()
        with self._lock:
            failures = self._recent(address, now)
            if len(failures) >= ADDRESS_REFUSE:
                raise LoginRefused(
                    f"too many failed logins from {address or 'this address'}; try again in "
                    f"a minute", failures[0] + ADDRESS_WINDOW - now)
            state = self._state(name, exists)
        locked_until = float(state.get("locked_until") or 0)
        if locked_until > now:
            raise LoginRefused(
                f"too many failed logins for user {name}: it is locked until "
                f"{_clock(locked_until)}; an admin can clear it with `iop --user-unlock "
                f"{name}`", locked_until - now)

    def _state(self, name: str, exists: bool) -> dict[str, Any]:
        if exists:
            return self.users.login_state(name)
        return self._unknown.get(name, {})

    def failed(self, name: str, address: str, exists: bool) -> None:
        """Count a wrong password of ``name`` from ``address``; lock ``name`` at the limit."""
        now = time.time()
        with self._lock:
            if len(self._addresses) >= MAX_TRACKED and address not in self._addresses:
                self._addresses.clear()  # a flood of addresses: forget rather than grow
            self._addresses.setdefault(address, deque()).append(now)
            state = self._state(name, exists)
            failures = [t for t in state.get("failures", []) if isinstance(t, (int, float))
                        and t > now - ACCOUNT_WINDOW] + [now]
            locked = len(failures) >= ACCOUNT_LOCK_FAILURES
            state = {"failures": [] if locked else failures,
                     "locked_until": now + LOCK_SECONDS if locked
                     else float(state.get("locked_until") or 0)}
            if exists:
                self.users.save_login_state(name, state)
            else:
                if len(self._unknown) >= MAX_TRACKED:
                    self._unknown.clear()
                self._unknown[name] = state
        if locked and exists:
            self.users.event("warning", f"account {name} locked until {_clock(now + LOCK_SECONDS)}"
                             f" after {ACCOUNT_LOCK_FAILURES} failed logins within "
                             f"{ACCOUNT_WINDOW / 60:g} minutes (the last from "
                             f"{address or 'an unknown address'})")

    def succeeded(self, name: str) -> None:
        """A right password: forget the account's earlier failures."""
        with self._lock:
            if self.users.login_state(name).get("failures"):
                self.users.save_login_state(name, {})
