"""A second process on the test's store, driven by the conformance suite.

``python store_worker.py NAMESPACE ROLE ARGS...`` opens the store named by the environment
(IOP_HOME / IOP_DATABASE_URL) and plays one role, reporting on stdout line by line:

* ``listen-item ITEM SLOT TIMEOUT URGENT_ONLY``: print ``ready``, then ``rung`` or ``timeout``;
* ``job-wait ITEM SLOT TIMEOUT [URGENT_ONLY]``: listen as a job of ITEM does (waits of at
  most a second), print ``ready relayed`` or ``ready direct`` once listening, then
  ``rung relayed``, ``rung direct`` or ``timeout``;
* ``listen-private TIMEOUT``: print the listener's address, then ``rung`` or ``timeout``;
* ``take-handoff ITEM SLOT OWNER TIMEOUT``: sleep as job OWNER that takes hand-overs, print
  ``ready``, then the requests handed to it as JSON once rung (or ``[]`` at the timeout);
  with TIMEOUT ``hold`` it only sleeps until killed;
* ``claim ITEM OWNER BATCH``: wait for a line on stdin, claim and finish until the queue
  stays empty, print the claimed header ids as JSON;
* ``duty NAME``: take the single-instance duty, print ``held`` or ``free``, then keep it
  until stdin closes.
"""

from __future__ import annotations

import json
import sys
import time

from iop.store import open_store


def main(namespace: str, role: str, *args: str) -> int:
    store = open_store(namespace, initialize=False)
    if role == "listen-item":
        item, slot, timeout, urgent_only = args
        listener = store.notifier.listen_item(item, int(slot))
        mark = getattr(listener, "set_asleep", None)  # as a job does before it waits
        if mark is not None:
            mark(True)
        print("ready", flush=True)
        rung = listener.wait(float(timeout), urgent_only=urgent_only == "1")
        print("rung" if rung else "timeout", flush=True)
    elif role == "take-handoff":
        item, slot, owner, timeout = args
        listener = store.notifier.listen_item(item, int(slot))
        offer = getattr(listener, "offer_handoffs", None)
        if offer is not None:
            offer(owner)
        mark = getattr(listener, "set_asleep", None)
        if mark is not None:
            mark(True)
        print("ready", flush=True)
        if timeout == "hold":
            sys.stdin.read()
            return 0
        listener.wait(float(timeout))
        take = getattr(listener, "take_handoffs", lambda: [])
        print(json.dumps([{"queue": d.queue_id, "header": d.header.id, "status": d.header.status,
                           "attempts": d.attempts, "body": d.body_text} for d in take()]),
              flush=True)
    elif role == "job-wait":
        item, slot, timeout, *urgent = args
        listener = store.notifier.listen_item(item, int(slot))
        relayed = getattr(listener, "relayed", lambda: False)
        if relayed():
            listener.wait(5.0)  # the relay's ring that says it listens for us
        print("ready", "relayed" if relayed() else "direct", flush=True)
        deadline = time.monotonic() + float(timeout)
        while time.monotonic() < deadline:
            if listener.wait(min(1.0, deadline - time.monotonic()),
                             urgent_only=urgent == ["1"]):
                print("rung", "relayed" if relayed() else "direct", flush=True)
                break
        else:
            print("timeout", flush=True)
        listener.close()
    elif role == "listen-private":
        listener = store.notifier.listen_private()
        print(listener.address, flush=True)
        print("rung" if listener.wait(float(args[0])) else "timeout", flush=True)
    elif role == "claim":
        item, owner, batch = args
        sys.stdin.readline()
        claimed: list[int] = []
        empty = 0
        while empty < 3:
            deliveries = store.claim(item, owner, int(batch), 60.0, check_first=False)
            if not deliveries:
                empty += 1
                continue
            empty = 0
            with store.transaction() as tx:
                for delivery in deliveries:
                    claimed.append(delivery.header.id)
                    assert tx.finish_delivery(delivery.queue_id, owner)
        print(json.dumps(claimed), flush=True)
    elif role == "duty":
        duty = store.duty(args[0])
        print("held" if duty.take() else "free", flush=True)
        sys.stdin.read()
    else:
        print(f"unknown role {role}", file=sys.stderr)
        return 2
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
