"""Errors raised while building or reading a production definition."""

from __future__ import annotations

from iop.errors import ProductionError

__all__ = ["ProductionError", "UnknownComponent"]


class UnknownComponent(ProductionError, LookupError):
    """A name, port or path does not designate an item of the production."""
