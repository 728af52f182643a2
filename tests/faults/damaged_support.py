"""Helpers of test_damaged_store: a populated store, and damage done to its file as a disk,
a crash or a stray tool would (an empty file, a foreign header, a page overwritten)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from iop.store import open_store
from iop.store import records as r

PRODUCTION = "Damaged.Production"

COMPONENTS = '''
class Keeper(BusinessOperation):
    def on_message(self, request):
        return None
'''

SETTINGS = f'''
prod = Production("{PRODUCTION}")
prod.operation("Keeper", Keeper)
prod.production_setting("StoreCheckSeconds", "1")
PRODUCTIONS = [prod]
'''

DAMAGE_HINT = "; run iop --check-store, then iop --check-store --repair"


def store_path(home: Path) -> Path:
    return home / "USER" / "store.sqlite3"


def populate(messages: int, namespace: str | None = None) -> None:
    """Completed requests with bodies, written straight to the store, then every page in the
    database file itself (WAL checkpointed and truncated)."""
    store = open_store(namespace)
    pad = "x" * 200
    for start in range(0, messages, 250):
        store.send([r.MessageDraft("Svc", "Keeper", "x.Order", f'{{"n": {n}, "pad": "{pad}"}}',
                                   status=r.COMPLETED, enqueue=False)
                    for n in range(start, min(messages, start + 250))])
    path = store.path
    store.close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def corrupt_table_page(path: Path, table: str) -> int:
    """Overwrite a leaf page in the middle of ``table`` with garbage; returns its number."""
    conn = sqlite3.connect(path)
    leaves = [page for name, page, kind in conn.execute(
        "SELECT name, pageno, pagetype FROM dbstat ORDER BY pageno") if name == table
        and kind == "leaf"]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    page = leaves[len(leaves) // 2]
    with open(path, "r+b") as fh:
        fh.seek((page - 1) * page_size)
        fh.write(os.urandom(48) + b"\xff" * (page_size // 2))
        fh.flush()
        os.fsync(fh.fileno())
    return int(page)


def assert_damage_line(proc: subprocess.CompletedProcess[str], path: Path, what: str) -> None:
    """Exit 1 and exactly one line on stderr naming the store, what is wrong and what to run."""
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()
             and not line.startswith("iop: ")]  # a notice that a folder was made private
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert lines[0].startswith(f"error: store {path} is damaged: "), lines[0]
    assert what in lines[0] and lines[0].endswith(DAMAGE_HINT), lines[0]


def json_of(proc: subprocess.CompletedProcess[str]) -> Any:
    import json

    return json.loads(proc.stdout)
