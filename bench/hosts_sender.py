"""A load process for the multi-host scenarios: ``python -m bench.hosts_sender MODE NAMESPACE
THREADS AMOUNT FIRST``.

``async``: THREADS threads share one Director service and together send AMOUNT async
requests (each thread a burst; their sends share commits). ``sync``: each thread calls
send_request_sync in a loop for AMOUNT seconds. Prints ``ready``, starts on ``go`` (stdin),
then prints one JSON line: the round trips done, caller latencies (sync), time and CPU.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any


def main(argv: list[str]) -> int:
    mode, namespace, threads, amount, first = argv[0], argv[1], int(argv[2]), argv[3], int(argv[4])
    from bench.components import BenchRequest, Burst
    from bench.measure import peak_rss_mb
    from iop import Director
    from iop.store import open_store

    service = Director(store=open_store(namespace)).get_business_service("BenchService")
    if mode == "sync":
        service.on_process_input(BenchRequest(-1))  # warm up: imports, connections
    print("ready", flush=True)
    sys.stdin.readline()
    done = [0] * threads
    latencies: list[list[float]] = [[] for _ in range(threads)]
    failures: list[str] = []

    def send(index: int) -> None:
        try:
            if mode == "async":
                total = int(amount)
                share = total // threads if index < threads - 1 else \
                    total - (total // threads) * (threads - 1)
                service.on_process_input(Burst(count=share, first=first + index * (total // threads)))
                done[index] = share
                return
            perf = time.perf_counter
            end = perf() + float(amount)
            seq = first + index * 1_000_000
            while perf() < end:
                t0 = perf()
                service.on_process_input(BenchRequest(seq))
                latencies[index].append((perf() - t0) * 1000)
                seq += 1
                done[index] += 1
        except BaseException as exc:  # reported in the JSON line
            failures.append(f"{type(exc).__name__}: {exc}")

    workers = [threading.Thread(target=send, args=(i,)) for i in range(threads)]
    cpu0 = sum(os.times()[:2])
    t0 = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    report: dict[str, Any] = {
        "done": sum(done), "seconds": time.perf_counter() - t0,
        "cpu_seconds": sum(os.times()[:2]) - cpu0, "rss_mb": peak_rss_mb(),
        "latencies_ms": [x for per in latencies for x in per], "failures": failures[:3],
    }
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
