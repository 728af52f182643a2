"""What every inbound adapter shares.

**Stored before acknowledged.** ``business_host_process_input`` returns once what the
service sent is committed (``iop.engine.input_batch``); an adapter acknowledges its source
(an ACK, a 200, a broker ack, a deleted row or file) only after it returned, so a crash
loses nothing the outside believes delivered: at least once.

**One thread handles input.** A listening adapter (TCP, HTTP, a broker consumer) receives
on threads of its own and hands each input over with ``InputHandoff.submit``, which blocks
until the job's thread, in the adapter's ``on_task``, has run the service on it
(``InputHandoff.drain``) and returns the service's result or raises its error. The service
and the store are only ever used from the job's thread.

**Back-pressure.** ``QueueLimit`` holds input back while a target of the service has more
than its limit of messages queued: a listener stops reading (its peer's sends block, a
broker keeps the messages), a poller skips its poll.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

from iop.components.settings import Category, setting
from iop.errors import ConnectorError

__all__ = ["InputHandoff", "InputNotTaken", "QueueLimit", "queue_limit_setting", "targets_of"]

# How often a waiting drain or limit looks whether its job is asked to stop.
_STOP_LOOK_SECONDS = 0.2


class _Input:
    __slots__ = ("data", "done", "result", "error", "_state", "_lock")

    def __init__(self, data: Any) -> None:
        self.data = data
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        self._state = "waiting"  # then "taken" (by the job) or "withdrawn" (by the submitter)
        self._lock = threading.Lock()

    def take(self) -> bool:
        """On the job's thread: whether the input is still wanted (then it is the job's)."""
        with self._lock:
            if self._state == "waiting":
                self._state = "taken"
            return self._state == "taken"

    def withdraw(self) -> bool:
        """On the submitter's thread: whether the input was withdrawn before the job took it
        (then it never runs: the submitter's refusal to the outside is the truth)."""
        with self._lock:
            if self._state == "waiting":
                self._state = "withdrawn"
            return self._state == "withdrawn"


class InputNotTaken(ConnectorError):
    """The job did not take an input (it is stopping, or busy past the wait): the input never
    ran, so the listener refuses it to the outside (a 503, a NACK) for a retry."""


class InputHandoff:
    """Inputs received on listener threads, run through the service on the job's thread."""

    def __init__(self, adapter: Any) -> None:
        self._adapter = adapter
        self._inputs: queue.Queue[_Input] = queue.Queue()
        self._closed = False

    def submit(self, data: Any, timeout: float | None = None) -> Any:
        """Run the service on ``data`` (from any thread but the job's) and return its
        result once stored; raise the service's error, or InputNotTaken when the job did
        not take the input within ``timeout`` seconds or is stopping."""
        if self._closed:
            raise InputNotTaken("the service is stopping; input refused")
        item = _Input(data)
        self._inputs.put(item)
        deadline = None if timeout is None else time.monotonic() + timeout
        while not item.done.wait(_STOP_LOOK_SECONDS):
            if self._closed and item.withdraw():
                raise InputNotTaken("the service stopped before it took the input")
            if deadline is not None and time.monotonic() >= deadline and item.withdraw():
                raise InputNotTaken(f"the service did not take the input within {timeout:g} s")
        if item.error is not None:
            raise item.error
        return item.result

    def drain(self, seconds: float, limit: QueueLimit | None = None) -> int:
        """On the job's thread (an adapter's ``on_task``): run the service on inputs as they
        arrive for up to ``seconds``; return how many were handled. Returns early when the
        job is asked to stop. With ``limit``, waits for room before each input."""
        deadline = time.monotonic() + max(seconds, 0.0)
        handled = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or _stop_asked(self._adapter):
                return handled
            if limit is not None and not limit.room():
                time.sleep(min(remaining, _STOP_LOOK_SECONDS))
                continue
            try:
                item = self._inputs.get(timeout=min(remaining, _STOP_LOOK_SECONDS))
            except queue.Empty:
                continue
            if not item.take():
                continue  # its submitter gave up waiting: it was refused, so it must not run
            try:
                item.result = self._adapter.business_host_process_input(item.data)
            except BaseException as exc:  # the submitter's to handle (a NACK, a 500)
                item.error = exc
                if not isinstance(exc, Exception):
                    item.done.set()
                    raise
            finally:
                item.done.set()
            handled += 1
            if limit is not None:
                limit.took()

    def close(self) -> None:
        """Refuse new input and fail what waits (the adapter is torn down)."""
        self._closed = True
        while True:
            try:
                item = self._inputs.get_nowait()
            except queue.Empty:
                return
            if item.withdraw():
                item.error = InputNotTaken("the service stopped before it took the input")
                item.done.set()


def queue_limit_setting() -> Any:
    """The ``QueueLimit`` setting an inbound adapter declares (0: no limit)."""
    return setting(0, category=Category.ADDITIONAL,
                   description="Hold input back while a target of the service has more than "
                               "this many messages queued; 0: no limit")


class QueueLimit:
    """Whether a service's targets have room: each has at most ``limit`` messages queued.
    The counts are read at most every ``every`` seconds (one store query for all items)."""

    def __init__(self, adapter: Any, limit: int, every: float = 0.5) -> None:
        self._adapter = adapter
        self.limit = int(limit or 0)
        self._every = every
        self._read_at = 0.0
        self._deepest = 0  # the longest target queue at the last read
        self._taken = 0    # inputs taken since that read (each may have queued a message)

    def room(self) -> bool:
        if self.limit <= 0:
            return True
        now = time.monotonic()
        if now - self._read_at >= self._every:
            self._read_at = now
            counts = _store(self._adapter).queue_counts()
            self._deepest = max((counts.get(t, 0) for t in targets_of(self._adapter)),
                                default=0)
            self._taken = 0
        # Between two reads, count what was taken meanwhile: a fast source would otherwise
        # overshoot the limit by all it delivers in ``every`` seconds.
        return self._deepest + self._taken < self.limit

    def took(self) -> None:
        """One input was handed to the service since the last read."""
        self._taken += 1

    @property
    def full(self) -> bool:
        """What the last reading said (no store query: safe from a listener's thread)."""
        return self.limit > 0 and self._deepest + self._taken >= self.limit

    def wait(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for room; whether there is room."""
        deadline = time.monotonic() + seconds
        while not self.room():
            if time.monotonic() >= deadline or _stop_asked(self._adapter):
                return False
            time.sleep(_STOP_LOOK_SECONDS)
        return True


def targets_of(adapter: Any) -> list[str]:
    """The items the adapter's service sends to, from its TargetConfigNames setting (or
    TargetConfigName, the one target of IRIS's generic HTTP and TCP services)."""
    host = getattr(adapter, "business_host", None)
    names = str(getattr(host, "TargetConfigNames", "") or getattr(host, "TargetConfigName", "")
                or "")
    return [name.strip() for name in names.split(",") if name.strip()]


def _runtime(adapter: Any) -> Any:
    return getattr(adapter, "_iop_runtime", None)


def _store(adapter: Any) -> Any:
    return _runtime(adapter).store


def _stop_asked(adapter: Any) -> bool:
    runtime = _runtime(adapter)
    stop_waiting = getattr(runtime, "stop_waiting", None)
    return bool(stop_waiting()) if callable(stop_waiting) else False
