"""The local file adapters (EnsLib.File.*) share the FTP adapters' care for partial files: the
inbound adapter waits for a file still being written (ConfirmComplete, FileAccessTimeout), the
outbound one writes under a temporary name and renames, so a reader never sees half a file."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from ftp_support import PRODUCTION, files_in, write_slowly

from iop.engine.builtins import PARTIAL_SUFFIX


def _production(inbox: Path, outbox: Path, overwrite: str = "1") -> str:
    return f'''
prod = Production("{PRODUCTION}")
prod.service("FileIn", class_name="EnsLib.File.PassthroughService") \\
    .adapter_setting("FilePath", {str(inbox)!r}).adapter_setting("CallInterval", "0.2") \\
    .adapter_setting("FileAccessTimeout", "1") \\
    .host_setting("TargetConfigNames", "FileOut")
prod.operation("FileOut", class_name="EnsLib.File.PassthroughOperation") \\
    .adapter_setting("FilePath", {str(outbox)!r}).adapter_setting("Overwrite", {overwrite!r}) \\
    .host_setting("Filename", "%f")
PRODUCTIONS = [prod]
'''


def test_local_files_wait_until_complete_and_appear_whole(
        make_project: Any, tmp_path: Path, wait_for: Any, store: Any) -> None:
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    outbox.mkdir()
    project = make_project("", _production(inbox, outbox))
    project.migrate()
    project.start(PRODUCTION)

    # A file written in parts, 0.4 s apart: taken once, whole.
    parts = [f"part {n}\n".encode() for n in range(8)]
    write_slowly(inbox / "slow.txt", parts, 0.4)
    wait_for(lambda: "slow.txt" in files_in(outbox), timeout=30, what="the slow file out")

    # A big file: whoever looks at the output name sees it whole or not at all.
    big = os.urandom(4 * 1024 * 1024).hex().encode()
    seen_sizes: set[int] = set()
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            try:
                seen_sizes.add((outbox / "big.txt").stat().st_size)
            except FileNotFoundError:
                pass

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        (inbox / "big.txt").write_bytes(big)
        wait_for(lambda: files_in(outbox).get("big.txt") == big, timeout=60,
                 what="the big file out")
    finally:
        done.set()
        watcher.join()
    assert files_in(outbox)["slow.txt"] == b"".join(parts)
    assert seen_sizes == {len(big)}
    assert not [n for n in files_in(outbox) if n.endswith(PARTIAL_SUFFIX)]
    assert len(store.query_headers(source="FileIn", limit=10)) == 2


def test_local_file_output_without_overwrite_appends(make_project: Any, tmp_path: Path,
                                                     wait_for: Any) -> None:
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    outbox.mkdir()
    (outbox / "log.txt").write_bytes(b"existing\n")
    project = make_project("", _production(inbox, outbox, overwrite="0"))
    project.migrate()
    project.start(PRODUCTION)
    (inbox / "log.txt").write_bytes(b"one\n")
    wait_for(lambda: files_in(outbox).get("log.txt") == b"existing\none\n", timeout=30,
             what="the message appended")
