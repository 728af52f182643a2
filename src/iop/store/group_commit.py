"""Group commit: concurrent senders in one process share transactions.

One caller at a time leads: it takes every send queued so far and commits them together;
the others sleep until theirs is in. A caller whose send was committed by a leader returns
at once, without waiting for the next commit, and nobody holds the store's write lock while
merely waiting, so the more threads send, the more messages each commit carries.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from iop.store import records as r


class PendingSend:
    """Messages (and log lines) waiting for the next group commit."""

    __slots__ = ("drafts", "logs", "ids", "error")

    def __init__(self, drafts: list[r.MessageDraft], logs: list[r.LogEntry]) -> None:
        self.drafts = drafts
        self.logs = logs
        self.ids: list[int] | None = None
        self.error: BaseException | None = None


# Writes a batch in one transaction and returns the header ids of all its drafts, in order.
CommitBatch = Callable[[list[PendingSend]], list[int]]


class GroupCommit:
    """Shares commits between the threads of one process that send at the same time."""

    def __init__(self, commit: CommitBatch) -> None:
        self._commit = commit
        self._queue: list[PendingSend] = []
        self._ready = threading.Condition()
        self._leading = False

    def reset(self) -> None:
        """Forget everything (in a forked child, which must not wait for its parent)."""
        self._queue = []
        self._ready = threading.Condition()
        self._leading = False

    def send(self, drafts: list[r.MessageDraft], logs: list[r.LogEntry]) -> list[int]:
        pending = PendingSend(drafts, logs)
        with self._ready:
            self._queue.append(pending)
            while pending.ids is None and pending.error is None and self._leading:
                self._ready.wait()
            if pending.ids is None and pending.error is None:
                self._leading = True
                batch, self._queue = self._queue, []
            else:
                batch = []
        if batch:
            try:
                ids = self._commit(batch)
            except BaseException as exc:
                for item in batch:
                    item.error = exc
            else:
                for item in batch:
                    item.ids, ids = ids[:len(item.drafts)], ids[len(item.drafts):]
            finally:
                with self._ready:
                    self._leading = False
                    self._ready.notify_all()
        if pending.error is not None:
            raise pending.error
        assert pending.ids is not None
        return pending.ids
