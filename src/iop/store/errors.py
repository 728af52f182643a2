"""Errors raised by store backends: ``StoreError`` and its outage branch ``StoreUnavailable``,
kept importable from here, and ``StoreDamaged``, the one line a damaged store file is
reported with."""

from iop.errors import StoreError, StoreUnavailable

__all__ = ["StoreDamaged", "StoreError", "StoreUnavailable"]

REPAIR_HINT = "run iop --check-store, then iop --check-store --repair"


class StoreDamaged(StoreError):
    """The store's file exists but is not a sound database (empty, a foreign header, a
    corrupted page): never opened as a fresh namespace; the message says what to run."""

    def __init__(self, path: str, what: str) -> None:
        super().__init__(f"store {path} is damaged: {what}; {REPAIR_HINT}")
        self.path = path
        self.what = what
