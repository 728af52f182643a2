"""Is the store's file a sound SQLite database? Checked where it is opened, at a production's
start and on the supervisor's schedule; a damaged file is named (``StoreDamaged``) and never
replaced by a fresh namespace.

* ``file_problem``: an existing file that is empty (a foreign header: SQLite's NOTADB);
  ``header_problem`` also reads the header, where no connection is open.
* ``create_store_file``: a new store appears whole (header written) under its name, so an
  empty file at the store's path is never one being created: it is damage.
* ``quick_check`` / ``integrity_check``: SQLite's own checks, run on a connection of their own.
* ``raise_if_damaged``: the error a read or write met, when it means a corrupted file.
"""

from __future__ import annotations

import os
import sqlite3
import time
import uuid

from iop.store.errors import StoreDamaged, StoreError
from iop.store.private import create_private_file

__all__ = ["SQLITE_HEADER", "create_store_file", "file_problem", "header_problem", "integrity_check",
           "is_damage", "quick_check", "raise_if_damaged"]

SQLITE_HEADER = b"SQLite format 3\x00"
_HEADER_BYTES = 100  # a database file starts with a 100-byte header
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26
PAGE_SIZE = 2048  # smaller pages mean fewer bytes of WAL per small message
_CHECK_TRIES = 4


def is_damage(exc: BaseException) -> bool:
    """Whether a sqlite3 error says the file is corrupt or not a database (not an outage)."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    text = str(exc)
    return "malformed" in text or "not a database" in text


def raise_if_damaged(path: str, exc: BaseException) -> None:
    """Raise StoreDamaged (from ``exc``) when ``exc`` means the file at ``path`` is damaged."""
    if is_damage(exc):
        raise StoreDamaged(path, str(exc)) from exc


def file_problem(path: str) -> str | None:
    """What is wrong with the existing file at ``path`` before SQLite reads it, or None
    (also None when there is no file). Only ``stat``: opening and closing the file would drop
    every POSIX lock SQLite's connections of this process hold on it (SQLite's own warning),
    so a foreign header is left to SQLite, which says "file is not a database"."""
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot read the file: {exc.strerror}"
    return "the file is empty (0 bytes)" if size == 0 else None


def header_problem(path: str) -> str | None:
    """``file_problem``, and whether the file starts with SQLite's header: for a process that
    holds no connection to it (iop --check-store)."""
    problem = file_problem(path)
    if problem or not os.path.exists(path):
        return problem
    with open(path, "rb") as fh:
        head = fh.read(_HEADER_BYTES)
    if not head.startswith(SQLITE_HEADER):
        return "the file does not start with the SQLite header"
    if len(head) < _HEADER_BYTES:
        return f"the file is cut short ({len(head)} bytes)"
    return None


def create_store_file(path: str) -> None:
    """Make a new, empty WAL database at ``path`` unless a file is there: it is written
    under a temporary name and linked in whole, so no process ever sees it half made."""
    if os.path.lexists(path):
        return
    temp = f"{path}.new-{uuid.uuid4().hex[:12]}"  # one per caller, threads included
    create_private_file(temp)
    try:
        conn = sqlite3.connect(temp, isolation_level=None)
        try:
            conn.execute(f"PRAGMA page_size={PAGE_SIZE}")
            conn.execute("PRAGMA journal_mode=WAL")  # writes the first page: the header
        finally:
            conn.close()
        try:
            os.link(temp, path)
        except FileExistsError:
            pass  # another process made it meanwhile: theirs is as good
        except OSError:  # a file system without hard links: a rename, nearly as safe
            if not os.path.lexists(path):
                os.rename(temp, path)
    finally:
        for leftover in (temp, temp + "-wal", temp + "-shm"):
            if os.path.lexists(leftover):
                os.unlink(leftover)


def _pragma_check(path: str, pragma: str, limit: int) -> list[str]:
    problem = header_problem(path)
    if problem:
        return [problem]
    if not os.path.exists(path):
        return ["the file does not exist"]
    for attempt in range(_CHECK_TRIES):
        try:
            return _run_check(path, pragma, limit)
        except sqlite3.DatabaseError as exc:
            if is_damage(exc):
                return [str(exc)]
            # Busy, locked, a passing I/O error: not damage. Try again, then say so plainly.
            if attempt == _CHECK_TRIES - 1:
                name = getattr(exc, "sqlite_errorname", "")
                raise StoreError(f"store {path}: the integrity check could not run: {exc}"
                                 + (f" ({name})" if name else "")) from exc
            time.sleep(0.2 * (attempt + 1))
    return []  # not reached


def _run_check(path: str, pragma: str, limit: int) -> list[str]:
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        rows = conn.execute(f"PRAGMA {pragma}({int(limit)})").fetchall()
    finally:
        conn.close()
    found = [str(row[0]) for row in rows]
    return [] if found == ["ok"] else found


def quick_check(path: str, limit: int = 20,
                conn: sqlite3.Connection | None = None) -> list[str]:
    """SQLite's quick check (page structure and records, not index contents): the problems
    found, at most ``limit``; [] when the file is sound. On ``conn`` when given (a store's
    own connection), else on one of its own."""
    if conn is None:
        return _pragma_check(path, "quick_check", limit)
    try:
        rows = conn.execute(f"PRAGMA quick_check({int(limit)})").fetchall()
    except sqlite3.DatabaseError as exc:
        if is_damage(exc):
            return [str(exc)]
        raise StoreError(f"store {path}: the integrity check could not run: {exc}") from exc
    found = [str(row[0]) for row in rows]
    return [] if found == ["ok"] else found


def integrity_check(path: str, limit: int = 100) -> list[str]:
    """SQLite's full integrity check (indexes against their tables too): problems, or []."""
    return _pragma_check(path, "integrity_check", limit)
