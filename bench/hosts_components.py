"""Business hosts only the multi-host scenarios use (jobs import ``bench.hosts_components``)."""

from __future__ import annotations

import time

from iop import BusinessOperation

WAIT_SECONDS = 0.005


class OutsideCallOperation(BusinessOperation):
    """Stands for an operation that calls an outside system: each message waits 5 ms on it.

    Such work is bound by waiting, not by this machine's CPUs, so it shows how throughput
    grows with more hosts' jobs even when every "host" shares one machine.
    """

    def on_message(self, request):
        time.sleep(WAIT_SECONDS)
        return None
