"""Reset a store's per-process state in a forked child, without keeping the store alive.

``os.register_at_fork`` holds its callbacks for the life of the process: registering a bound
method of every store opened kept every store (its connections' wake-up socket, its flags)
alive for good, which a long-lived process opening stores (a web app using a Director, the
test run that reached 1,024 descriptors) cannot afford. Here one hook runs weak references to
the methods, so a store that is no longer used is freed as usual.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable

_resets: list[weakref.WeakMethod[Callable[[], None]]] = []


def reset_in_forked_child(method: Callable[[], None]) -> None:
    """Call the bound ``method`` in every child this process forks, while its object lives."""
    _resets[:] = [ref for ref in _resets if ref() is not None]
    _resets.append(weakref.WeakMethod(method))


def _run_resets() -> None:
    for ref in list(_resets):
        method = ref()
        if method is not None:
            method()


os.register_at_fork(after_in_child=_run_resets)
