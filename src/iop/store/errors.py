"""Errors raised by store backends: ``StoreError``, kept importable from here, and
``StoreDamaged``, the one line a damaged store file is reported with."""

from iop.errors import StoreError

__all__ = ["StoreDamaged", "StoreError"]

REPAIR_HINT = "run iop --check-store, then iop --check-store --repair"


class StoreDamaged(StoreError):
    """The store's file exists but is not a sound database (empty, a foreign header, a
    corrupted page): never opened as a fresh namespace; the message says what to run."""

    def __init__(self, path: str, what: str) -> None:
        super().__init__(f"store {path} is damaged: {what}; {REPAIR_HINT}")
        self.path = path
        self.what = what
