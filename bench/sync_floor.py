"""The store's own limit for a synchronous round trip: what the engine can never beat.

Two processes and no engine: the caller stores a request (header, body, queue entry leased
to the responder, as a hand-over does) and sends its ids in a datagram; the responder
completes it (deletes the queue entry, marks the request completed, stores the response)
and answers with a datagram. Each side commits once per round trip, with the store's own
transactions and schema, exactly the durable writes a synchronous call needs, and waits for
a datagram as the engine does (polling for a moment before sleeping). Python runs only to
call the store and move the datagrams, so the rate is an upper bound for ``sync_operation``
on the same machine at the same moment.

``python -m bench.sync_floor responder NAMESPACE ADDRESS`` is the responder process.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.harness import progress  # noqa: E402
from bench.measure import percentile  # noqa: E402
from bench.scenarios import Budget, row  # noqa: E402

_OWNER = "floor-responder"
_BODY = '{"n":1}'


def _bind(address: bytes) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    return sock


def _receive(sock: socket.socket, size: int) -> tuple[bytes, Any]:
    """Poll for a moment, then sleep: the engine's own way of waiting for an answer."""
    from iop.store.wakeups.sockets import SPIN_SECONDS, poll_briefly

    received: list[tuple[bytes, Any]] = []

    def ready() -> bool:
        try:
            received.append(sock.recvfrom(size, socket.MSG_DONTWAIT))
            return True
        except BlockingIOError:
            return False

    if poll_briefly(ready, SPIN_SECONDS):
        return received[0]
    return sock.recvfrom(size)


def respond(namespace: str, address: str) -> int:
    """Complete each request named by a datagram, then answer the caller."""
    from iop.store import open_store
    from iop.store import records as r

    store = open_store(namespace, initialize=False)
    sock = _bind(b"\0" + address.encode())
    print("ready", flush=True)
    while True:
        data, caller = _receive(sock, 64)
        if data == b"stop":
            return 0
        queue_id, header_id = (int(part) for part in data.split(b","))
        response = r.MessageDraft("Floor", "Caller", "floor.Reply", _BODY, type=r.RESPONSE,
                                  priority=r.SYNC, corresponding_id=header_id,
                                  status=r.COMPLETED, enqueue=False)
        with store.transaction() as tx:
            tx.finish_delivery(queue_id, _OWNER)
            tx.set_status(header_id, r.COMPLETED)
            tx.insert_message(response)
        sock.sendto(b"done", caller)


def sync_floor(budget: Budget) -> dict[str, Any]:
    """Round trips/s of store writes and wake-ups alone (see the module docstring)."""
    from iop.store import open_store
    from iop.store import records as r
    from iop.store.sqlite.tx import SQLiteTx

    namespace = "SYNC_FLOOR"
    progress("sync_floor: the store's own synchronous round trip, no engine")
    store = open_store(namespace)
    address = f"iop-bench-floor-{os.getpid()}"
    responder = subprocess.Popen([sys.executable, "-m", "bench.sync_floor", "responder",
                                  namespace, address], stdout=subprocess.PIPE, text=True,
                                 cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert responder.stdout is not None
    if responder.stdout.readline().strip() != "ready":
        raise RuntimeError("the sync_floor responder did not start")
    sock = _bind(b"\0" + f"{address}-caller".encode())
    target = b"\0" + address.encode()
    perf = time.perf_counter

    def round_trip() -> None:
        with store.transaction() as tx:
            assert isinstance(tx, SQLiteTx)
            tx.reserve = lambda item: (0, _OWNER)  # leased to the responder, as a hand-over
            tx.insert_messages([r.MessageDraft("Caller", "Floor", "floor.Ask", _BODY,
                                               priority=r.SYNC)])
            (_, _, delivery), = tx.handoffs
        sock.sendto(f"{delivery.queue_id},{delivery.header.id}".encode(), target)
        _receive(sock, 16)

    try:
        for _ in range(200):
            round_trip()
        latencies: list[float] = []
        start = perf()
        end = start + budget.sync_seconds
        while True:
            t0 = perf()
            if t0 >= end:
                break
            round_trip()
            latencies.append((perf() - t0) * 1000)
        elapsed = perf() - start
    finally:
        sock.sendto(b"stop", target)
        responder.wait(timeout=30)
        sock.close()
    rate = len(latencies) / elapsed
    progress(f"  {rate:,.0f} round trips/s, p50 {percentile(latencies, 50):.2f} ms")
    return row("sync_floor", {"path": "store writes + datagrams, no engine", "callers": 1},
               rate, "round trips/s", p50_ms=percentile(latencies, 50),
               p99_ms=percentile(latencies, 99),
               extra={"round_trips": len(latencies), "seconds": elapsed,
                      "note": "upper bound for sync_operation on this machine"})


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "responder":
        sys.exit(respond(sys.argv[2], sys.argv[3]))
    print("usage: python -m bench.sync_floor responder NAMESPACE ADDRESS", file=sys.stderr)
    sys.exit(2)
