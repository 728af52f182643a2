"""A separate sender process: ``python -m bench.sender NAMESPACE COUNT SIZE FIRST``.

Prints ``ready`` once its Director service exists, sends its burst when it reads ``go`` on
stdin, then prints one JSON line with its send time and peak RSS.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main(argv: list[str]) -> int:
    namespace, count, size, first = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    from bench.components import Burst
    from bench.measure import peak_rss_mb
    from iop import Director
    from iop.store import open_store

    service = Director(store=open_store(namespace)).get_business_service("BenchService")
    print("ready", flush=True)
    sys.stdin.readline()
    cpu0 = sum(os.times()[:2])
    t0 = time.perf_counter()
    service.on_process_input(Burst(count=count, size=size, first=first))
    elapsed = time.perf_counter() - t0
    print(json.dumps({"seconds": elapsed, "rss_mb": peak_rss_mb(),
                      "cpu_seconds": sum(os.times()[:2]) - cpu0}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
