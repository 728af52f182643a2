"""Per-input accounting of a soak (bench/soak.py): every request the soak's inputs caused,
read back from the store by the input's number, must have reached a final status.

An acknowledged asynchronous input promises one request (service → operation), a round trip
two (service → process, process → operation). A refused input promises none, yet may have
been stored (its commit was cut by the outage after it reached the database, or its round
trip gave up waiting): what it stored is expected to finish too. A request stored twice (a
commit retried after an outage cut it: at least once) is expected as well and reported as a
duplicate. So ``expected = accounted + pending + lost``, where lost counts promised requests
that are not in the store at all.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.soak_components import fails_for_good

FINAL = ("completed", "error", "suspended", "discarded")
HOPS = {
    "async": (("SoakService", "SoakOperation"),),
    "sync": (("SoakService", "SoakProcess"), ("SoakProcess", "SoakOperation")),
}

# Read raw (as bench/harness.py reads request times): the store's API has no bulk body read,
# and one get_body per message would make the accounting of a long soak take minutes.
_REQUESTS = ("SELECT h.id, h.source, h.target, h.status, h.error, b.data FROM headers h "
             "LEFT JOIN bodies b ON b.id = h.body_id WHERE h.type = 'request' "
             "AND h.target IN ('SoakProcess', 'SoakOperation')")


@dataclass
class Accounting:
    expected: int = 0
    accounted: int = 0  # in a final status
    pending: int = 0  # stored, not final yet (queued or being delivered)
    lost: int = 0  # promised to an acknowledged input, not stored
    duplicates: int = 0  # stored more often than promised
    refused_stored: int = 0  # stored for inputs that were refused
    unreadable: int = 0  # requests whose body names no input
    unexpected_errors: int = 0  # in error although their input does not fail for good
    samples: list[str] = field(default_factory=list)  # a few of the above, for a person


def read_requests(store: Any) -> list[tuple[Any, ...]]:
    """(id, source, target, status, error, body text) of every request to the soak's items."""
    return store._rows(_REQUESTS)  # type: ignore[no-any-return]


def account(rows: list[tuple[Any, ...]], acked: dict[int, str], refused: set[int],
            failure_rate: float) -> Accounting:
    """Tally ``rows`` against what the inputs were promised (``acked``: seq → kind)."""
    result = Accounting()
    found: dict[int, Counter[tuple[str, str]]] = {}
    ids_of: dict[tuple[int, tuple[str, str]], list[int]] = {}
    for header_id, source, target, status, error, data in rows:
        try:
            seq = int(json.loads(data)["seq"])
        except (TypeError, ValueError, KeyError):
            result.unreadable += 1
            continue
        found.setdefault(seq, Counter())[(source, target)] += 1
        ids_of.setdefault((seq, (source, target)), []).append(header_id)
        if status in FINAL:
            result.accounted += 1
        else:
            result.pending += 1
        if status == "error" and not fails_for_good(seq, failure_rate):
            result.unexpected_errors += 1
            if len(result.samples) < 5:
                result.samples.append(f"request {header_id} ({source} → {target}, input {seq}) "
                                      f"in error: {error}")
    for seq in set(found) | set(acked):
        stored = found.get(seq, Counter())
        promised = Counter(HOPS[acked[seq]]) if seq in acked else Counter()
        for hop in set(stored) | set(promised):
            result.expected += max(stored[hop], promised[hop])
            missing = promised[hop] - stored[hop]
            if missing > 0:
                result.lost += missing
                if len(result.samples) < 5:
                    result.samples.append(f"input {seq} ({acked[seq]}, acknowledged): no "
                                          f"request {hop[0]} → {hop[1]} stored")
            elif promised[hop] and stored[hop] > promised[hop]:
                result.duplicates += stored[hop] - promised[hop]
                if len(result.samples) < 5:
                    ids = ", ".join(str(i) for i in ids_of[(seq, hop)])
                    result.samples.append(f"input {seq} ({acked[seq]}, acknowledged): request "
                                          f"{hop[0]} → {hop[1]} stored {stored[hop]} times "
                                          f"(headers {ids})")
            if seq in refused:
                result.refused_stored += stored[hop]
    return result
