"""Messages and business hosts the benchmark productions are made of.

Jobs import this module as ``bench.components``; the runner puts the repository root on
``PYTHONPATH`` so they can.
"""

from __future__ import annotations

from dataclasses import dataclass

from iop import BusinessOperation, BusinessProcess, BusinessService, Message, setting


@dataclass
class BenchRequest(Message):
    seq: int = 0
    payload: str = ""


@dataclass
class BenchResponse(Message):
    seq: int = 0
    size: int = 0


@dataclass
class Burst(Message):
    """Asks a sender service to send ``count`` requests of ``size`` characters."""

    count: int = 0
    size: int = 0
    first: int = 0


class SyncSender(BusinessService):
    """Each input is one round trip: send it and wait for the answer."""

    Target = setting("BenchOperation")

    def on_process_input(self, message_input):
        return self.send_request_sync(self.Target, message_input)


class AsyncSender(BusinessService):
    """One input sends a whole burst of async requests."""

    Target = setting("BenchOperation")

    def on_process_input(self, message_input):
        payload = "x" * message_input.size
        target = self.Target
        for seq in range(message_input.first, message_input.first + message_input.count):
            self.send_request_async(target, BenchRequest(seq, payload))


class RelayProcess(BusinessProcess):
    """Calls the operation synchronously and returns its response to the caller."""

    Target = setting("BenchOperation")

    def on_request(self, request):
        return self.send_request_sync(self.Target, request)


class EchoOperation(BusinessOperation):
    """Answers with a small response naming the request and its payload size."""

    def on_message(self, request):
        return BenchResponse(request.seq, len(request.payload))


class SinkOperation(BusinessOperation):
    """Consumes a request and answers nothing (a one-way hop)."""

    def on_message(self, request):
        return None


def make_production(name: str, *, sender: type, operation: type, pool: int,
                    via_process: bool = False) -> object:
    """A production ``BenchService → [BenchProcess →] BenchOperation`` with ``pool`` operation jobs."""
    from iop import Production

    prod = Production(name)
    first = "BenchProcess" if via_process else "BenchOperation"
    prod.service("BenchService", sender, settings={"Target": first})
    if via_process:
        prod.process("BenchProcess", RelayProcess, settings={"Target": "BenchOperation"})
    prod.operation("BenchOperation", operation, pool_size=pool)
    return prod
