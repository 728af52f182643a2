"""InputBatcher: when a service input's held sends are committed, and what a failed commit does."""

from __future__ import annotations

import threading
import time

import pytest

from iop.engine.input_batch import LINGER_SECONDS, MAX_DRAFTS, InputBatcher
from iop.store import records as r


class Ledger:
    """Stands in for the store's send: numbers drafts, or fails while told to."""

    def __init__(self) -> None:
        self.commits: list[list[r.MessageDraft]] = []
        self.failing: Exception | None = None
        self.next_id = 100
        self.attempted = threading.Event()

    def __call__(self, drafts: list[r.MessageDraft]) -> list[int]:
        self.attempted.set()
        if self.failing is not None:
            raise self.failing
        ids = []
        for d in drafts:
            d.header_id = self.next_id
            ids.append(self.next_id)
            self.next_id += 1
        self.commits.append(list(drafts))
        return ids


def draft(n: int) -> r.MessageDraft:
    return r.MessageDraft(source="Svc", target="Op", body_class="M", body_text=f'{{"n": {n}}}')


def test_a_full_batch_commits_at_once_and_the_rest_when_the_input_returns() -> None:
    ledger = Ledger()
    batcher = InputBatcher(ledger)
    scope = batcher.open()
    for n in range(MAX_DRAFTS):
        batcher.add(scope, draft(n))
    assert ledger.commits, "a full batch does not wait for the input to return"
    for n in range(MAX_DRAFTS, MAX_DRAFTS + 3):
        batcher.add(scope, draft(n))
    batcher.close(scope)
    stored = [d for c in ledger.commits for d in c]
    assert [d.body_text for d in stored] == [f'{{"n": {n}}}' for n in range(MAX_DRAFTS + 3)]
    # One session: the first draft's id, for every draft, across commits.
    assert {d.session_for(d.header_id or 0) for d in stored} == {100}
    assert scope.session == 100


def test_held_drafts_are_committed_by_the_background_thread_after_the_linger() -> None:
    ledger = Ledger()
    batcher = InputBatcher(ledger)
    scope = batcher.open()
    batcher.add(scope, draft(1))
    deadline = time.monotonic() + 5
    while not ledger.commits and time.monotonic() < deadline:
        time.sleep(LINGER_SECONDS)
    assert [len(c) for c in ledger.commits] == [1], "the input never returned, yet it is stored"
    batcher.close(scope)
    assert [len(c) for c in ledger.commits] == [1]  # nothing twice


def test_a_failed_background_commit_keeps_the_drafts_and_the_input_sees_the_error() -> None:
    ledger = Ledger()
    ledger.failing = OSError("disk full")
    batcher = InputBatcher(ledger)
    scope = batcher.open()
    batcher.add(scope, draft(1))
    assert ledger.attempted.wait(5)
    deadline = time.monotonic() + 5
    while not scope.failed and time.monotonic() < deadline:
        time.sleep(0.001)
    assert scope.failed and scope.drafts, "the drafts stay held after the failure"
    with pytest.raises(OSError, match="disk full"):
        batcher.add(scope, draft(2))  # the input's own thread retries, and hears why
    ledger.failing = None
    batcher.close(scope)
    assert [[d.body_text for d in c] for c in ledger.commits] == [['{"n": 1}', '{"n": 2}']]


def test_a_sync_send_goes_after_what_the_input_holds_in_one_commit() -> None:
    ledger = Ledger()
    batcher = InputBatcher(ledger)
    scope = batcher.open()
    batcher.add(scope, draft(1))
    header_id = batcher.send_now(scope, draft(2))
    assert header_id == 101
    assert [[d.body_text for d in c] for c in ledger.commits] == [['{"n": 1}', '{"n": 2}']]
    assert scope.session == 100 and not scope.drafts
