"""The sending side of the soak (bench/soak.py): synchronous caller threads and one paced
asynchronous sender, each input numbered and its outcome kept for the accounting.

An input is *acknowledged* when the call returned (a round trip answered, with a response or
with the error of a message that fails for good) and *refused* when the engine said it took
nothing for now: InputsPaused (disk nearly full), StoreUnavailable (store out), or a
MessageTimeout on the way in. A refused input was promised nothing: the soak counts it as
not acknowledged, never as lost, and sends the next one.
"""

from __future__ import annotations

import threading
import time
from typing import Any

REFUSALS = ("inputs_paused", "store_unavailable", "timed_out", "other")


def refusal_of(exc: BaseException) -> str | None:
    """The refusal ``exc`` stands for, or None when it is the answer of a failed message."""
    from iop.engine.errors import MessageTimeout, TargetFailed
    from iop.errors import InputsPaused, StoreUnavailable

    if isinstance(exc, InputsPaused):
        return "inputs_paused"
    if isinstance(exc, StoreUnavailable):
        return "store_unavailable"
    if isinstance(exc, MessageTimeout):
        return "timed_out"
    if isinstance(exc, TargetFailed):
        return None  # the operation failed the message for good: the answer is an error
    return "other"


class Load:
    """Sync caller threads and one async sender thread, each input numbered by ``seq``."""

    def __init__(self, service: Any, callers: int, async_rate: float) -> None:
        self.service = service
        self.callers = callers
        self.async_rate = async_rate
        self.stop = threading.Event()
        self.sent = {"sync": 0, "async": 0}  # acknowledged inputs
        self.acked: dict[int, str] = {}  # seq → "sync" | "async"
        self.sync_failed = 0  # round trips whose answer was an error (the injected failures)
        self.refused = dict.fromkeys(REFUSALS, 0)
        self.refused_seqs: set[int] = set()
        self.other_errors: list[str] = []  # the first few unexpected exceptions, verbatim
        self._lock = threading.Lock()
        self._seq = 0

    def _next(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    def acknowledged(self) -> int:
        with self._lock:
            return len(self.acked)

    def refused_total(self) -> int:
        with self._lock:
            return sum(self.refused.values())

    def _send(self, kind: str) -> None:
        """One input of ``kind``: its outcome is recorded; a refusal backs off briefly."""
        from bench.soak_components import SoakRequest

        seq = self._next()
        try:
            self.service.on_process_input((kind, SoakRequest(seq)))
        except Exception as exc:  # noqa: BLE001 - every outcome is counted, none is fatal
            refusal = refusal_of(exc)
            with self._lock:
                if refusal is None:
                    self.sync_failed += 1
                else:
                    self.refused[refusal] += 1
                    self.refused_seqs.add(seq)
                    if refusal == "other" and len(self.other_errors) < 5:
                        self.other_errors.append(f"{type(exc).__name__}: {exc}")
            if refusal is not None:
                time.sleep(0.05)  # the engine said not now: do not spin on it
                return
        with self._lock:
            self.acked[seq] = kind
            self.sent[kind] += 1

    def _caller(self) -> None:
        while not self.stop.is_set():
            self._send("sync")

    def _sender(self) -> None:
        period = 1.0 / self.async_rate
        next_at = time.monotonic()
        while not self.stop.is_set():
            self._send("async")
            next_at += period
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif delay < -1.0:
                next_at = time.monotonic()  # fell behind: do not burst to catch up

    def start(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self._caller, daemon=True) for _ in range(self.callers)]
        threads.append(threading.Thread(target=self._sender, daemon=True))
        for thread in threads:
            thread.start()
        return threads
