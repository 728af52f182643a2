"""``EnsLib.SQL.Snapshot``: the rows of a query held in memory, a message that can be sent
and stored. IRIS's accessors (``Next``, ``Get``, ``GetData``, ``GetColumnName``, ...) walk it
with a cursor, as in ObjectScript; Python code iterates it (each row a dict by column name),
indexes it (``snapshot[0]``) and takes ``len()``.

Values are kept as JSON carries them (``dbapi.plain_value``): decimals as exact text, dates
and times in ISO 8601, bytes in hexadecimal.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from iop.messages.base import Message

__all__ = ["Snapshot"]


@dataclass
class Snapshot(Message):
    """EnsLib.SQL.Snapshot: column names and rows of one result set."""

    Columns: list[str] = field(default_factory=list)
    Rows: list[list[Any]] = field(default_factory=list)

    # -- Python --------------------------------------------------------------
    @property
    def columns(self) -> list[str]:
        return list(self.Columns)

    @property
    def rows(self) -> list[dict[str, Any]]:
        """Every row as a dict by column name."""
        return [self._as_dict(row) for row in self.Rows]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.Rows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self._as_dict(self.Rows[index])

    def _as_dict(self, row: list[Any]) -> dict[str, Any]:
        return dict(zip(self.Columns, row, strict=False))

    # -- IRIS: navigation (the cursor starts before the first row) -------------
    @property
    def RowCount(self) -> int:  # noqa: N802 - IRIS's name
        return len(self.Rows)

    @property
    def _position(self) -> int:
        return int(self.__dict__.get("_cursor", 0))

    def Next(self) -> bool:  # noqa: N802
        """Move to the next row; False past the last one."""
        position = self._position + 1
        self.__dict__["_cursor"] = min(position, len(self.Rows) + 1)
        return position <= len(self.Rows)

    def Rewind(self) -> None:  # noqa: N802
        """Back before the first row."""
        self.__dict__["_cursor"] = 0

    def AtEnd(self) -> bool:  # noqa: N802
        """Whether the cursor is on or past the last row."""
        return self._position >= len(self.Rows)

    # -- IRIS: the current row ---------------------------------------------------
    def _current(self) -> list[Any]:
        position = self._position
        if position == 0 and self.Rows:  # IRIS reads the first row before any Next()
            position = 1
        if not 1 <= position <= len(self.Rows):
            return []
        return self.Rows[position - 1]

    def Get(self, name: str | int) -> Any:  # noqa: N802
        """The current row's value of column ``name`` (case-insensitive) or number (from 1);
        None when there is no such column."""
        if isinstance(name, int) or (isinstance(name, str) and name.isdigit()):
            return self.GetData(int(name))
        number = self.GetColumnId(name)
        return self.GetData(number) if number else None

    def GetData(self, number: int) -> Any:  # noqa: N802
        """The current row's value of column ``number`` (from 1)."""
        row = self._current()
        return row[number - 1] if 1 <= number <= len(row) else None

    def GetColumnCount(self) -> int:  # noqa: N802
        return len(self.Columns)

    def GetColumnName(self, number: int) -> str:  # noqa: N802
        """The name of column ``number`` (from 1); "" when there is none."""
        return self.Columns[number - 1] if 1 <= number <= len(self.Columns) else ""

    def GetColumnId(self, name: str) -> int:  # noqa: N802
        """The number (from 1) of the column called ``name``, case-insensitive; 0 if none."""
        wanted = str(name).lower()
        for number, column in enumerate(self.Columns, start=1):
            if column.lower() == wanted:
                return number
        return 0

    def GetRowCount(self) -> int:  # noqa: N802
        return len(self.Rows)


# Stored and shown under IRIS's class name (the registry finds it there by the catalog).
Snapshot._iop_class_name = "EnsLib.SQL.Snapshot"  # type: ignore[attr-defined]
