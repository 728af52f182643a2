"""Polling briefly before sleeping: a waiter about to be answered checks for the answer a few
hundred microseconds before it sleeps, unless another thread of its process already polls."""

from __future__ import annotations

import threading
import time

from iop.store.wakeups.sockets import SPIN_SECONDS, poll_briefly


def test_polling_stops_as_soon_as_the_answer_is_there() -> None:
    # Polling gives up early, on purpose, when another process takes the core during a yield
    # (a busy machine): so some of the tries may end False, but none may look past the answer
    # and on a machine that is not saturated all the time at least one finds it.
    outcomes = []
    for _ in range(50):
        calls = []

        def ready(calls: list[int] = calls) -> bool:
            calls.append(1)
            return len(calls) == 3

        found = poll_briefly(ready, 10.0)
        assert len(calls) <= 3
        outcomes.append((found, len(calls)))
        if found:
            break
    assert outcomes[-1] == (True, 3), outcomes


def test_polling_gives_up_when_nothing_comes() -> None:
    calls = []
    started = time.monotonic()
    assert poll_briefly(lambda: bool(calls.append(1)), 0.01) is False
    assert len(calls) >= 1
    assert time.monotonic() - started < 5.0  # then the caller sleeps on its socket instead


def test_only_one_thread_of_a_process_polls_at_a_time() -> None:
    inside = threading.Event()
    release = threading.Event()

    def first_ready() -> bool:
        # Held inside the first poll, so the second waiter meets it polling (a poll that
        # only looked would end at its first contended yield, which the test thread causes).
        inside.set()
        return release.wait(10)

    first = threading.Thread(target=poll_briefly, args=(first_ready, 30.0))
    first.start()
    try:
        assert inside.wait(10)
        looked = []
        # The second waiter does not poll at all: it goes straight to sleeping.
        assert poll_briefly(lambda: bool(looked.append(1)) or True, 1.0) is False
        assert looked == []
    finally:
        release.set()
        first.join(10)
    assert not first.is_alive()
    assert poll_briefly(lambda: True, 1.0) is True  # free again once the first one is done


def test_the_polling_moment_is_short() -> None:
    # A waiter that polls holds a core; it must fall back to sleeping within a millisecond.
    assert 0 < SPIN_SECONDS <= 0.001
