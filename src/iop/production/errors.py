"""Errors raised while building or reading a production definition."""

from __future__ import annotations

__all__ = ["ProductionError", "UnknownComponent"]


class ProductionError(ValueError):
    """A production definition is inconsistent; the message names the item or port at fault."""


class UnknownComponent(ProductionError, LookupError):
    """A name, port or path does not designate an item of the production."""
