"""Where the production layer finds the Director class without importing the layer above it.

A Production's lifecycle calls go through a Director on its namespace unless it was given a
director; the production layer cannot import the Director (which works through the client
layer above it), so the ``iop`` package wires in a loader of it here. This module imports
nothing of ours, so wiring it costs nothing: the Director is loaded when first needed.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["director_class", "use_director_loader"]

_loader: Callable[[], type] | None = None
_loaded: type | None = None


def use_director_loader(loader: Callable[[], type]) -> None:
    """Make ``loader()`` the source of the Director class (called once, on first need)."""
    global _loader, _loaded
    _loader, _loaded = loader, None


def director_class() -> type | None:
    """The wired-in Director class, loaded now if it was not yet; None if none is wired in."""
    global _loaded
    if _loaded is None and _loader is not None:
        _loaded = _loader()
    return _loaded
