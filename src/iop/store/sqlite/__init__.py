"""The embedded backend: one SQLite file per namespace, on one host."""

from __future__ import annotations

from iop.store.sqlite.store import SQLiteStore

__all__ = ["SQLiteStore"]
