"""A service input's asynchronous sends, committed together.

What a service sends asynchronously while it handles one input (one ``on_process_input``
call, from an adapter's ``on_task`` or from a Director) is held and stored in one
transaction, at the latest:

* when the input returns (so nothing is acknowledged to the caller, and no adapter deletes
  its file, before every message the input sent is durable);
* before a synchronous send of the same input (which keeps the order of its sends);
* once ``MAX_DRAFTS`` messages or ``MAX_BYTES`` of bodies are held;
* ``LINGER_SECONDS`` after the oldest was held, by a background thread, so that an input
  that sends and then works on for a long time does not hold its messages back.

A job's handlers already commit their sends with their completion; this gives a service's
inputs the same one-commit-for-many economy (DESIGN.md, "Delivery semantics"). If the
process dies in the middle of an input, what that input sent since its last commit is lost
together with the input itself, which its source never saw acknowledged and offers again.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from iop.store import records as r

MAX_DRAFTS = 256
MAX_BYTES = 4 * 1024 * 1024
LINGER_SECONDS = 0.005

# Stores drafts (and whatever log lines are waiting) in one transaction.
CommitDrafts = Callable[[list[r.MessageDraft]], list[int]]


class InputScope:
    """One input being handled: its session and the sends not stored yet."""

    __slots__ = ("session", "opener", "drafts", "size", "since", "failed", "lock", "early_logs")

    def __init__(self) -> None:
        self.session = 0  # 0 until the input's first send is stored and names it
        self.opener: r.MessageDraft | None = None  # that first send, while not stored yet
        self.drafts: list[r.MessageDraft] = []
        self.size = 0
        self.since = 0.0  # when the oldest held draft was added (monotonic)
        self.failed = False  # the background commit failed; the input's thread retries
        # Re-entrant: a commit made under it may ride a store outage, and the event log line
        # noting that outage joins this input's session (note_log) in the same thread.
        self.lock = threading.RLock()
        self.early_logs: list[r.LogEntry] = []  # logged before the first send

    def note_log(self, entry: r.LogEntry) -> None:
        """Give a log line of this input the input's session, once there is one."""
        with self.lock:
            if self.session:
                entry.session_id = self.session
            elif self.opener is not None:
                entry.session_from = self.opener
            else:
                self.early_logs.append(entry)

    def join(self, draft: r.MessageDraft) -> None:
        """Put ``draft`` in this input's session (opening it when this is the first send)."""
        if self.session:
            draft.session_id = self.session
        elif self.opener is None:
            self.opener = draft
            for entry in self.early_logs:
                entry.session_from = draft
            self.early_logs = []
        else:
            draft.session_from = self.opener

    def stored(self) -> None:
        """After a commit: the session is known from now on."""
        opener = self.opener
        if not self.session and opener is not None and opener.header_id is not None:
            self.session = opener.session_for(opener.header_id)
            self.opener = None


class InputBatcher:
    """Holds the open inputs of one business host in one process and commits their sends."""

    def __init__(self, commit: CommitDrafts) -> None:
        self._commit = commit
        self._open: set[InputScope] = set()
        self._changed = threading.Condition()
        self._flusher: threading.Thread | None = None
        self._flusher_pid = 0

    def open(self) -> InputScope:
        scope = InputScope()
        with self._changed:
            self._open.add(scope)
        return scope

    def close(self, scope: InputScope) -> None:
        """The input returned: store what it still holds (raises if that fails)."""
        with self._changed:
            self._open.discard(scope)
        self.flush(scope)

    def add(self, scope: InputScope, draft: r.MessageDraft) -> None:
        """Hold an asynchronous send of this input."""
        with scope.lock:
            scope.join(draft)
            scope.drafts.append(draft)
            scope.size += len(draft.body_text or "")
            first = len(scope.drafts) == 1
            if first:
                scope.since = time.monotonic()
            full = len(scope.drafts) >= MAX_DRAFTS or scope.size >= MAX_BYTES
        if full or scope.failed:
            self.flush(scope)
        elif first:
            self._wake_flusher()

    def send_now(self, scope: InputScope, draft: r.MessageDraft) -> int:
        """Store ``draft`` at once, after what the input holds; returns its header id."""
        with scope.lock:
            scope.join(draft)
            ids = self._commit([*scope.drafts, draft])
            scope.drafts, scope.size, scope.failed = [], 0, False
            scope.stored()
        return ids[-1]

    def flush(self, scope: InputScope) -> None:
        with scope.lock:
            if not scope.drafts:
                return
            self._commit(scope.drafts)
            scope.drafts, scope.size, scope.failed = [], 0, False
            scope.stored()

    # ------------------------------------------------------------ the background thread
    def _wake_flusher(self) -> None:
        with self._changed:
            if self._flusher is None or self._flusher_pid != os.getpid():
                # (Re)started lazily: a forked child has no copy of its parent's thread.
                self._flusher_pid = os.getpid()
                self._flusher = threading.Thread(target=self._run, name="iop-input-flusher",
                                                 daemon=True)
                self._flusher.start()
            self._changed.notify()

    def _run(self) -> None:
        while True:
            with self._changed:
                now = time.monotonic()
                held = [s for s in self._open if s.drafts and not s.failed]
                due = [s for s in held if s.since + LINGER_SECONDS <= now]
                if not due:
                    oldest = min((s.since for s in held), default=None)
                    self._changed.wait(None if oldest is None else oldest + LINGER_SECONDS - now)
                    continue
            for scope in due:
                try:
                    self.flush(scope)
                except Exception:
                    # The input's own thread commits at its next send or when it returns,
                    # and raises the error there, where the service can see it.
                    scope.failed = True
