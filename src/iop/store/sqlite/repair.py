"""Salvage a damaged SQLite store: every readable row of every table goes into a new store
file, which takes the store's name; the damaged file is kept beside it, renamed
``store.sqlite3.damaged-<timestamp>`` (its write-ahead log as ``...-wal``).

SQLite's ``.recover`` is a shell command, not part of its library: here each table is read
in rowid order, a batch at a time; where a read fails (a corrupted page), rows are read one
by one, and the range of rowids nobody can read is skipped by probing ahead, then narrowed
down by bisection so that every readable row after it is kept. A table's original row count
is read through any of its indexes that is still sound (an index lives in pages of its own),
which tells how many rows were lost.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

from iop.store.errors import StoreError
from iop.store.sqlite.integrity import create_store_file, integrity_check

__all__ = ["RepairRefused", "open_elsewhere", "repair", "salvage"]

BATCH = 500
_LOWEST = -(2 ** 63)
_HIGHEST = 2 ** 63 - 1


class RepairRefused(StoreError):
    """The store is in use (a production runs, or another process has it open)."""


@dataclass
class _Table:
    name: str
    columns: list[str]
    salvaged: int = 0
    counted: int | None = None  # rows the damaged table held, when an index could tell
    unreadable: list[tuple[int, int]] = field(default_factory=list)  # rowid ranges skipped

    def report(self) -> dict[str, Any]:
        if self.counted is not None:
            lost = max(0, self.counted - self.salvaged)
        else:  # no sound index: at most the rowids of the unreadable ranges (ids start at 1)
            lost = sum(high - max(low, 1) + 1 for low, high in self.unreadable
                       if high < _HIGHEST and high >= max(low, 1))
        found: dict[str, Any] = {"salvaged": self.salvaged, "lost": lost}
        if self.counted is None and self.unreadable:
            found["lost_is_estimate"] = True
        if self.unreadable:
            found["unreadable_rowids"] = [[low, high] for low, high in self.unreadable]
        return found


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def open_elsewhere(path: str) -> list[tuple[int, str]]:
    """Other processes that hold ``path`` (or its -wal or -shm) open: (pid, command line)."""
    targets = {os.path.realpath(p) for p in (path, path + "-wal", path + "-shm")}
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        folder = f"/proc/{entry}/fd"
        try:
            links = [os.readlink(os.path.join(folder, fd)) for fd in os.listdir(folder)]
        except OSError:
            continue
        if targets.intersection(links):
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    command = fh.read().replace(b"\0", b" ").decode(errors="replace").strip()
            except OSError:
                command = ""
            found.append((int(entry), command))
    return found


class _Salvage:
    """Copies the readable rows of one damaged database into a new one."""

    def __init__(self, source: sqlite3.Connection, target: sqlite3.Connection) -> None:
        self.source = source
        self.target = target

    def _first_from(self, table: _Table, low: int) -> tuple[str, tuple[Any, ...] | None]:
        """('row', row) for the first row with rowid >= low, ('end', None) when there is
        none, ('bad', None) when it cannot be read."""
        try:
            row = self.source.execute(
                f"SELECT rowid, {', '.join(map(_quote, table.columns))} FROM "
                f"{_quote(table.name)} WHERE rowid >= ? ORDER BY rowid LIMIT 1", (low,)).fetchone()
        except sqlite3.DatabaseError:
            return "bad", None
        return ("row", row) if row is not None else ("end", None)

    def _insert(self, table: _Table, rows: list[tuple[Any, ...]]) -> None:
        marks = ", ".join("?" * (len(table.columns) + 1))
        self.target.executemany(
            f"INSERT INTO {_quote(table.name)} (rowid, {', '.join(map(_quote, table.columns))}) "
            f"VALUES ({marks})", rows)
        table.salvaged += len(rows)

    def _next_readable(self, table: _Table, low: int) -> int | None:
        """The lowest rowid past the unreadable ``low`` from which rows can be read again
        (None: nothing after it can be)."""
        # Probe further and further ahead...
        step, bad = 1, low
        while True:
            probe = min(_HIGHEST, low + step)
            if self._first_from(table, probe)[0] != "bad":
                break
            bad = probe
            if probe == _HIGHEST:
                return None
            step *= 2
        # ...then bisect between the last unreadable probe and the first readable one.
        good = probe
        while good - bad > 1:
            middle = (good + bad) // 2
            if self._first_from(table, middle)[0] == "bad":
                bad = middle
            else:
                good = middle
        return good

    def copy(self, table: _Table) -> None:
        columns = ", ".join(map(_quote, table.columns))
        batch_sql = (f"SELECT rowid, {columns} FROM {_quote(table.name)} WHERE rowid >= ? "
                     f"ORDER BY rowid LIMIT {BATCH}")
        low = _LOWEST
        careful = 0  # rows still to read one by one after a failed batch
        while True:
            if careful <= 0:
                try:
                    rows = self.source.execute(batch_sql, (low,)).fetchall()
                except sqlite3.DatabaseError:
                    careful = BATCH
                    continue
                self._insert(table, rows)
                if len(rows) < BATCH:
                    return
                low = rows[-1][0] + 1
                continue
            kind, row = self._first_from(table, low)
            if kind == "end":
                return
            if kind == "row" and row is not None:
                self._insert(table, [row])
                low = row[0] + 1
                careful -= 1
                continue
            resume = self._next_readable(table, low)
            table.unreadable.append((low, _HIGHEST if resume is None else resume - 1))
            if resume is None:
                return
            low = resume

    def count(self, table: _Table, indexes: list[str]) -> None:
        """The damaged table's row count, through itself or any full index still sound."""
        counts = []
        for how in ["NOT INDEXED", *(f"INDEXED BY {_quote(i)}" for i in indexes)]:
            try:
                counts.append(int(self.source.execute(
                    f"SELECT count(*) FROM {_quote(table.name)} {how}").fetchone()[0]))
            except sqlite3.DatabaseError:
                continue
        table.counted = max(counts) if counts else None


def salvage(damaged: str, new: str) -> dict[str, Any]:
    """Copy every readable row of the database at ``damaged`` into a new database at
    ``new`` with the same tables and indexes; per table what was salvaged and lost."""
    problems: list[str] = []
    create_store_file(new)
    target = sqlite3.connect(new, isolation_level=None)
    tables: list[_Table] = []
    try:
        source = sqlite3.connect(damaged, isolation_level=None)
        try:
            schema = source.execute(
                "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL "
                "AND name NOT LIKE 'sqlite_%' ORDER BY rowid").fetchall()
            autoindexes = source.execute(
                "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NULL"
            ).fetchall()
        except sqlite3.DatabaseError as exc:
            problems.append(f"the list of tables cannot be read ({exc}): nothing could be "
                            "salvaged; the new store starts empty")
            schema, autoindexes = [], []
        work = _Salvage(source, target)
        target.execute("BEGIN")
        for kind, name, _, sql in schema:
            if kind == "table":
                target.execute(sql)
                try:
                    columns = [c[1] for c in source.execute(
                        f"PRAGMA table_info({_quote(name)})").fetchall()]
                except sqlite3.DatabaseError as exc:
                    problems.append(f"table {name}: its columns cannot be read ({exc})")
                    continue
                tables.append(_Table(name, columns))
        for table in tables:
            work.copy(table)
            # Partial indexes hold only some rows: they cannot count the table.
            full = [name for kind, name, of, sql in schema if kind == "index"
                    and of == table.name and " WHERE " not in sql.upper()]
            full += [name for name, of in autoindexes if of == table.name]
            work.count(table, full)
        for kind, name, _, sql in schema:
            if kind != "table":
                try:
                    target.execute(sql)
                except sqlite3.DatabaseError as exc:
                    problems.append(f"{kind} {name} could not be made again ({exc})")
        target.execute("COMMIT")
        source.close()
    finally:
        target.close()
    return {"tables": {t.name: t.report() for t in tables}, "problems": problems}


def repair(path: str) -> dict[str, Any]:
    """Salvage the store at ``path`` into a new file that takes its name; the damaged file
    (and its write-ahead log) is kept as ``<path>.damaged-<timestamp>``."""
    users = open_elsewhere(path)
    if users:
        pid, command = users[0]
        if "iop.engine.processes" in command:
            raise RepairRefused(f"a production runs on the store {path} (process {pid}: "
                                f"{command}); stop it first (iop -S, or iop -k)")
        raise RepairRefused(f"process {pid} ({command or 'unknown'}) has the store {path} "
                            "open; end it first, then repair")
    if not os.path.exists(path):
        raise StoreError(f"there is no store at {path} to repair")
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    kept = f"{path}.damaged-{stamp}"
    new = f"{path}.repair-{stamp}"
    for leftover in (new, new + "-wal", new + "-shm"):
        if os.path.lexists(leftover):
            os.unlink(leftover)
    result = salvage(path, new)
    if os.path.exists(path + "-wal"):
        os.rename(path + "-wal", kept + "-wal")
    if os.path.exists(path + "-shm"):
        os.unlink(path + "-shm")
    os.rename(path, kept)
    os.rename(new, path)
    from iop.store.sqlite.store import SQLiteStore

    repaired = SQLiteStore(path)
    try:  # the schema and the runtime row, if they were lost
        repaired.initialize()
    finally:
        repaired.close()
    remaining = integrity_check(path)
    return {"store": path, "damaged_file_kept": kept, **result, "ok": not remaining,
            "problems": result["problems"] + remaining}
