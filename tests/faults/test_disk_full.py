"""Disk full on SQLite (issue 25): the production pauses its inputs, keeps every process and
every acknowledged message, says why, and resumes by itself once space is freed; and the
write-ahead log stays under its documented bound."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from disk_full_support import COMPONENTS, Stream, fill, lines, settings, small_home

from iop.store import open_store
from iop.store.disk import LAST_RESORT_NAME
from iop.store.queries import MessageFilter
from iop.store.sqlite.store import WAL_BOUND_BYTES

__all__ = ["small_home"]  # the fixture, used by name

PRODUCTION = "DiskFull.Production"


def _engine_pids(store: Any) -> dict[str, int]:
    pids = {f"{j.item}.{j.slot}": j.pid for j in store.list_jobs()}
    pids["supervisor"] = store.get_runtime().supervisor_pid
    return pids


def test_disk_full_pauses_inputs_keeps_everything_and_resumes(
        small_home: Path, make_project: Any, tmp_path: Path, wait_for: Any,
        iop_json: Any, pid_alive: Any) -> None:
    delivered_file, ticks_file = tmp_path / "delivered.txt", tmp_path / "ticks.txt"
    project = make_project(COMPONENTS, settings(PRODUCTION, delivered_file, ticks_file))
    project.migrate()
    project.start(PRODUCTION)
    store = open_store()
    stream = Stream(project.import_module())
    try:
        wait_for(lambda: len(store.list_jobs()) == 3 and lines(ticks_file), timeout=30,
                 what="the production's jobs")
        before = _engine_pids(store)
        stream.start()
        wait_for(lambda: len(lines(delivered_file)) >= 200, timeout=30,
                 what="200 messages delivered before the disk fills")

        # Fill the disk to the last byte while the stream goes on.
        filler = small_home / "filler"
        filled = fill(filler)
        refused_at_fill = len(stream.refused)
        wait_for(lambda: len(stream.refused) > refused_at_fill, timeout=20,
                 what="the Director to refuse input on the full disk")
        # While paused the polling service takes no input: its poll count stands still.
        time.sleep(1.5)  # let a poll that had begun finish
        ticks_paused = len(lines(ticks_file))
        acked_paused = len(stream.acked)
        held = time.monotonic() + 3.0
        while time.monotonic() < held:  # the disk stays full for 3 s
            dead = [name for name, pid in before.items() if not pid_alive(pid)]
            assert not dead, f"engine processes exited on a full disk: {dead}"
            time.sleep(0.1)
        assert len(lines(ticks_file)) == ticks_paused, "the polling service polled on a full disk"
        assert len(stream.acked) == acked_paused, "input was acknowledged on a full disk"
        assert all("\n" not in text and ("inputs paused" in text or "disk full" in text)
                   for text in stream.refused), stream.refused[-3:]

        # Free the space: the production resumes by itself.
        filler.unlink()
        wait_for(lambda: len(stream.acked) > acked_paused + 100, timeout=30,
                 what="new input acknowledged after space was freed")
        wait_for(lambda: len(lines(ticks_file)) > ticks_paused, timeout=15,
                 what="the polling service to poll again")
        stream.stop()
        acked = set(stream.acked)
        wait_for(lambda: acked <= {int(x) for x in lines(delivered_file)}, timeout=60,
                 what="every acknowledged message to be delivered")
        assert not stream.other, stream.other[:3]
        assert _engine_pids(store) == before, "an engine process was replaced"
        status = iop_json("-x")
        assert status.get("Status") == "running", status

        # Why it paused is recorded: in the event log, or the last-resort file next to it.
        log = "\n".join(e.text for e in store.log_top(500))
        last_resort = (small_home / "USER" / LAST_RESORT_NAME)
        found = log + (last_resort.read_text() if last_resort.exists() else "")
        assert "inputs paused" in found or "disk full" in found, found[-2000:]
        assert "inputs resumed" in log
        print(f"filled {filled / 1e6:.1f} MB; acked {len(acked)}, refused "
              f"{len(stream.refused)}, delivered {len(set(lines(delivered_file)))}; "
              f"last-resort lines: {len(lines(last_resort))}")
        print("\n".join(lines(last_resort)[:6]))
    finally:
        stream.stop()
        store.close()


def test_wal_stays_under_its_bound_under_a_sustained_stream(
        make_project: Any, store: Any, tmp_path: Path, wait_for: Any) -> None:
    delivered_file, ticks_file = tmp_path / "delivered.txt", tmp_path / "ticks.txt"
    project = make_project(COMPONENTS, settings(PRODUCTION, delivered_file, ticks_file))
    project.migrate()
    project.start(PRODUCTION)
    wait_for(lambda: len(store.list_jobs()) == 3, timeout=30, what="the production's jobs")
    module = project.import_module()
    streams = [Stream(module, pad=4000) for _ in range(3)]
    wal = Path(store.path + "-wal")
    sizes: list[int] = []
    stop = threading.Event()

    def read() -> None:  # an operator's reads keep snapshots open on the WAL
        opened = open_store(initialize=False)  # a connection of its own
        while not stop.is_set():
            opened.count_by_status()
            opened.search_messages(MessageFilter(), limit=200)

    readers = [threading.Thread(target=read, daemon=True) for _ in range(2)]
    for stream in streams:
        stream.start()
    for reader in readers:
        reader.start()
    try:
        # Until 6 MB of bodies went through the WAL (past its 4 MB truncation threshold),
        # however loaded the machine: a fixed 10 s gave too thin a stream under load.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and sum(len(s.acked) for s in streams) < 1500:
            sizes.append(os.path.getsize(wal) if wal.exists() else 0)
            time.sleep(0.02)
    finally:
        for stream in streams:
            stream.stop()
        stop.set()
        for reader in readers:
            reader.join(10)
    sent = sum(len(s.acked) for s in streams)
    db = os.path.getsize(store.path)
    print(f"sent {sent} messages of 4 KB; store {db / 1e6:.1f} MB; largest -wal "
          f"{max(sizes) / 1e6:.1f} MB (bound {WAL_BOUND_BYTES / 1e6:.0f} MB)")
    assert sent >= 1500, "the stream was too thin to test the WAL (90 s for 1,500 messages)"
    assert max(sizes) < WAL_BOUND_BYTES


def test_inputs_paused_refuse_a_test_call_with_one_line(
        make_project: Any, store: Any, tmp_path: Path, wait_for: Any, run_iop: Any,
        monkeypatch: Any) -> None:
    delivered_file, ticks_file = tmp_path / "delivered.txt", tmp_path / "ticks.txt"
    project = make_project(COMPONENTS, settings(PRODUCTION, delivered_file, ticks_file))
    project.migrate()
    project.start(PRODUCTION)
    wait_for(lambda: len(store.list_jobs()) == 3, timeout=30, what="the production's jobs")
    body = '{"n": 1}'
    run_iop("-t", "Recorder", "-C", project.message_class("Work"), "-B", body)
    assert lines(delivered_file) == ["1"]
    monkeypatch.setenv("IOP_MIN_FREE_MB", str(1 << 40))  # more than any disk has free
    proc = run_iop("-t", "Recorder", "-C", project.message_class("Work"), "-B", body,
                   check=False)
    assert proc.returncode != 0
    assert proc.stderr.count("\n") == 1 and "inputs paused" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert lines(delivered_file) == ["1"]
