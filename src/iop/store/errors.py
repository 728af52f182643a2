"""Errors raised by store backends."""


class StoreError(RuntimeError):
    """The store cannot be opened, read or written; the message names the store and the cause."""
