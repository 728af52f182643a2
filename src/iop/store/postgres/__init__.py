"""The shared backend: one PostgreSQL database, a schema per namespace, any number of hosts."""

from __future__ import annotations

from iop.store.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
