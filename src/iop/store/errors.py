"""Errors raised by store backends: ``StoreError``, kept importable from here."""

from iop.errors import StoreError

__all__ = ["StoreError"]
