"""Each supervisor's state in a small file beside the store, readable while the store is not.

A supervisor keeps ``<IOP_HOME>/<NAMESPACE>/hosts/<host>.json`` while it runs: its production,
pid and state (``running``, ``stopping``, ``stopped`` while the stop waits for the store to
record it) and the store outage it is waiting out, if any. ``iop -x``, the portal and an
``iop -S`` issued while the store is down read it: the runtime row cannot be written during a
PostgreSQL outage, and a full disk refuses new files. So the file is sized once at start and
then rewritten in place (no new block is needed), and removed when the supervisor exits. One
file per host name: several hosts of one production on one machine each have their own; a
host on another machine keeps its file there (only the store joins hosts).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass

from iop.engine.cluster import pid_alive
from iop.store import namespace_dir
from iop.store import records as r
from iop.store.private import confined, make_private_folder, name_in_path

__all__ = ["HostStatus", "HostStatusFile", "outage_view", "read_host_statuses"]

FILE_BYTES = 4096  # written whole each time: the JSON padded with spaces
_FOLDER = "hosts"
_REASON_CHARS = 1500  # a longer cause is cut so the record fits FILE_BYTES


@dataclass(frozen=True)
class HostStatus:
    """What one supervisor last said about itself; ``outage_since`` None when the store answers."""

    host: str
    production: str
    pid: int
    state: str
    outage_since: float | None = None
    outage_reason: str = ""
    stop_after: float = 0.0  # StoreOutageStopSeconds in force (0: never)


class HostStatusFile:
    """The writer's side, owned by one supervisor: :meth:`write` on each change, :meth:`remove`."""

    def __init__(self, namespace: str, host: str) -> None:
        folder = make_private_folder(os.path.join(namespace_dir(namespace), _FOLDER))
        self.path = confined(folder, f"{name_in_path(host)}.json")
        self.host = host
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        self._last: HostStatus | None = None
        # The blocks are taken now, while there is room: later writes only overwrite them.
        os.pwrite(self._fd, b" " * FILE_BYTES, 0)

    def write(self, status: HostStatus) -> None:
        """Record ``status`` (nothing is written when it did not change); never raises."""
        if status == self._last or self._fd < 0:
            return
        record = {"host": status.host, "production": status.production, "pid": status.pid,
                  "state": status.state, "outage_since": status.outage_since,
                  "outage_reason": status.outage_reason[:_REASON_CHARS],
                  "stop_after": status.stop_after, "written": time.time()}
        data = json.dumps(record).encode("utf-8")[:FILE_BYTES]
        try:
            os.pwrite(self._fd, data.ljust(FILE_BYTES), 0)
        except OSError:
            return  # a status is a convenience: the event log has what matters
        self._last = status

    def remove(self) -> None:
        if self._fd < 0:
            return
        os.close(self._fd)
        self._fd = -1
        with contextlib.suppress(OSError):
            os.unlink(self.path)


def _read(path: str) -> HostStatus | None:
    # A reader may meet a write half done: read again a few times before giving up.
    for _ in range(5):
        try:
            with open(path, "rb") as fh:
                record = json.loads(fh.read(FILE_BYTES))
            return HostStatus(str(record["host"]), str(record["production"]),
                              int(record["pid"]), str(record["state"]),
                              record.get("outage_since"), str(record.get("outage_reason", "")),
                              float(record.get("stop_after") or 0.0))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            time.sleep(0.01)
    return None


def read_host_statuses(namespace: str) -> list[HostStatus]:
    """The statuses of the live supervisors of ``namespace`` on this machine, by host name."""
    folder = os.path.join(namespace_dir(namespace), _FOLDER)
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    found = []
    for name in names:
        if not name.endswith(".json"):
            continue
        status = _read(os.path.join(folder, name))
        if status is not None and pid_alive(status.pid):
            found.append(status)
    return found


def outage_view(statuses: list[HostStatus], now: float | None = None) -> dict[str, object] | None:
    """The store outage the supervisors are waiting out, as ``iop -x`` and the portal show it:
    since when (the earliest host's), for how long, why, and on which hosts; None if none."""
    out = [s for s in statuses if s.outage_since is not None]
    if not out:
        return None
    first = min(out, key=lambda s: s.outage_since or 0.0)
    since = float(first.outage_since or 0.0)
    view: dict[str, object] = {
        "since": r.format_time(since),
        "seconds": round(max(0.0, (now or time.time()) - since), 1),
        "reason": first.outage_reason, "hosts": [s.host for s in out]}
    stop_after = min((s.stop_after for s in out if s.stop_after > 0), default=0.0)
    if stop_after:
        view["stop_after_seconds"] = stop_after
    return view
