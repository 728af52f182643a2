"""What a process of ours does when its work is done and only the interpreter's exit is left.

The interpreter's exit runs the cyclic garbage collector over every object the process made,
the many classes and schemas of the imported modules included: about a quarter of a second
of CPU for an `iop` command or an engine job, which `iop -s -D` (waiting for its own exit)
and `iop -S` (waiting for its jobs') paid each time. Freezing the heap first leaves those
objects to the end of the process; exit handlers still run. The process closes its store
first (a connection in a cycle would otherwise stay open to the end), so the last process out
still checkpoints SQLite's write-ahead log and removes it, as before.
"""

from __future__ import annotations

import gc

__all__ = ["exiting"]


def exiting() -> None:
    """Call just before this process exits: the exit skips the collector's last passes."""
    gc.freeze()
