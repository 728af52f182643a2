"""Errors raised by store backends: ``StoreError`` and its outage branch ``StoreUnavailable``,
kept importable from here."""

from iop.errors import StoreError, StoreUnavailable

__all__ = ["StoreError", "StoreUnavailable"]
