"""Wait until sockets have something to read, for any file descriptor number.

``select.select`` refuses descriptors numbered 1024 or more, which a process holding many
files or connections (a web app with a Director, a test run) reaches; ``poll`` has no such
limit. A hang-up or error counts as readable, as it does for ``select``: the read that
follows reports it.
"""

from __future__ import annotations

import math
import select
from collections.abc import Sequence
from typing import Protocol, TypeVar, Union


class _HasFileno(Protocol):
    def fileno(self) -> int: ...


Source = TypeVar("Source", bound=Union[int, _HasFileno])


def readable(sources: Sequence[Source], timeout: float) -> list[Source]:
    """Those of ``sources`` (descriptor numbers or objects with ``fileno()``) ready to read
    within ``timeout`` seconds (at most), in the order given; empty when the time ran out."""
    poller = select.poll()
    by_fd: dict[int, Source] = {}
    for source in sources:
        fd = source if isinstance(source, int) else source.fileno()
        by_fd[fd] = source
        poller.register(fd, select.POLLIN)
    events = {fd for fd, _ in poller.poll(math.ceil(max(timeout, 0) * 1000))}
    return [source for fd, source in by_fd.items() if fd in events]
