"""An inbound adapter's memory of what it delivered, kept in the store (IRIS keeps it in
``^Ens.AppData``): the keys of rows, the names of files or mails it processed but was not
told to delete, so that a poll after a restart does not deliver them again.

A key is remembered after the input that delivered it was stored: a crash in between
delivers it once more (at least once), never not at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["AdapterState", "MAX_KEY_LENGTH"]

# Keys longer than this are refused: they are file names, row keys, message ids.
MAX_KEY_LENGTH = 1000


class AdapterState:
    """Keys (with an optional value) remembered for one item under ``scope`` (e.g.
    ``"sql.keys"``, ``"ftp.files"``); ``adapter`` is a running adapter (its job's store and
    item are used)."""

    def __init__(self, adapter: Any, scope: str) -> None:
        runtime = adapter._iop_runtime
        self._store = runtime.store
        self._item = runtime.item
        self.scope = scope

    def seen(self, key: str) -> bool:
        return self.value(key) is not None

    def value(self, key: str) -> str | None:
        return self._store.get_adapter_state(self._item, self.scope, _checked(key))

    def remember(self, key: str, value: str = "") -> None:
        self._store.put_adapter_state(self._item, self.scope, _checked(key), value)

    def forget(self, key: str) -> bool:
        return self._store.delete_adapter_state(self._item, self.scope, _checked(key)) > 0

    def forget_all(self) -> int:
        return int(self._store.delete_adapter_state(self._item, self.scope))

    def keys(self, page: int = 1000) -> Iterator[tuple[str, str]]:
        """Every remembered (key, value), in key order, read ``page`` at a time."""
        after = ""
        while True:
            rows = self._store.list_adapter_state(self._item, self.scope, after=after,
                                                  limit=page)
            yield from rows
            if len(rows) < page:
                return
            after = rows[-1][0]


def _checked(key: str) -> str:
    key = str(key)
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"an adapter state key must have 1 to {MAX_KEY_LENGTH} characters")
    return key
