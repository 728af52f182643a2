"""Hosts of the soak production (bench/soak.py); jobs import this as ``bench.soak_components``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from iop import BusinessOperation, BusinessProcess, BusinessService, Message, setting


@dataclass
class SoakRequest(Message):
    seq: int = 0


@dataclass
class SoakResponse(Message):
    seq: int = 0


class SoakService(BusinessService):
    """Input ("sync", request) is a round trip through the process; ("async", request) a hop."""

    def on_process_input(self, message_input: Any) -> Any:
        kind, request = message_input
        if kind == "sync":
            return self.send_request_sync("SoakProcess", request, timeout=120)
        self.send_request_async("SoakOperation", request)
        return None


class SoakProcess(BusinessProcess):
    def on_request(self, request: Any) -> Any:
        return self.send_request_sync("SoakOperation", request)


def _slot(seq: int) -> int:
    return (seq * 2654435761) % 100000


def fails_for_good(seq: int, failure_rate: float) -> bool:
    """Whether every attempt of message ``seq`` fails (a tenth of the failing share)."""
    return _slot(seq) < failure_rate * 10000


class SoakOperation(BusinessOperation):
    """Fails the first attempt of FailureRate of the messages, and every attempt of a tenth
    of those (chosen by sequence number, so each run injects the same faults)."""

    FailureRate = setting(0.01)

    def on_init(self) -> None:
        self.attempts: dict[int, int] = {}

    def on_message(self, request: Any) -> Any:
        if _slot(request.seq) < self.FailureRate * 100000:
            tries = self.attempts.get(request.seq, 0) + 1
            self.attempts[request.seq] = tries
            if fails_for_good(request.seq, self.FailureRate) or tries == 1:
                raise ConnectionError(f"injected failure of message {request.seq}")
            del self.attempts[request.seq]
        return SoakResponse(request.seq)


def make_production(failure_rate: float) -> object:
    from iop import Production

    prod = Production("Bench.Soak")
    prod.service("SoakService", SoakService)
    prod.process("SoakProcess", SoakProcess, pool_size=2)
    prod.operation("SoakOperation", SoakOperation, pool_size=2).host_settings_update({
        "FailureRate": failure_rate, "ReplyCodeActions": "E=R", "RetryInterval": 0.2,
        "FailureTimeout": 1})
    return prod
