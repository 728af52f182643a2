"""A store nobody uses any more is freed with its wake-up socket, and a forked child still
starts with fresh connections. Before, every store opened stayed alive for good (the fork
hook held it), and a long test run ran out of the descriptors select() accepts."""

from __future__ import annotations

import gc
import os
import weakref
from pathlib import Path

from iop.store.sqlite import SQLiteStore


def _open_sockets() -> int:
    return sum(os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
               for fd in os.listdir("/proc/self/fd") if os.path.exists(f"/proc/self/fd/{fd}"))


def test_a_dropped_store_is_freed_with_its_socket(tmp_path: Path) -> None:
    before = _open_sockets()
    refs = []
    for n in range(20):
        store = SQLiteStore(str(tmp_path / f"s{n}.sqlite3"))
        store.initialize()
        store.close()
        refs.append(weakref.ref(store))
    del store
    gc.collect()
    assert [r for r in refs if r() is not None] == []
    assert _open_sockets() <= before


def test_a_forked_child_opens_its_own_connection(tmp_path: Path) -> None:
    store = SQLiteStore(str(tmp_path / "forked.sqlite3"))
    store.initialize()
    store.set_meta("who", "parent")
    parent_conn = store.conn
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the parent's connection is forgotten, a fresh one reads
        try:
            fresh = store.conn is not parent_conn and store.get_meta("who") == "parent"
            os.write(write, b"1" if fresh else b"0")
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 1)
    os.waitpid(pid, 0)
    os.close(read)
    assert answer == b"1"
