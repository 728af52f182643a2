"""EnsLib.FTP.OutboundAdapter / PassthroughOperation against a real FTP server (pyftpdlib),
in productions run by the real CLI: messages become files on the server, written under a
temporary name and renamed, replaced or appended to as Overwrite says."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ftp_support import FtpServer, files_in, ftp_out_production, start_production

from iop.connectors.ftp.remote_files import UPLOAD_SUFFIX


@pytest.fixture
def ftp_server(tmp_path: Path) -> Iterator[FtpServer]:
    root = tmp_path / "ftproot"
    (root / "out").mkdir(parents=True)
    server = FtpServer(root)
    server.start()
    yield server
    server.stop()


def test_messages_become_files_on_the_server(ftp_server: FtpServer, make_project: Any,
                                             tmp_path: Path, wait_for: Any,
                                             store: Any) -> None:
    inbox, outbox = tmp_path / "in", ftp_server.root / "out"
    inbox.mkdir()
    sent = {f"r{n}.txt": f"result {n}\n".encode() for n in range(5)}
    sent["zoë.txt"] = "Zoë ✓ naïve\n".encode()  # UTF-8 passes through unchanged
    for name, data in sent.items():
        (inbox / name).write_bytes(data)
    start_production(make_project, ftp_out_production(ftp_server, inbox))

    wait_for(lambda: files_in(outbox) == sent, timeout=30, what="every file on the server")
    wait_for(lambda: len([h for h in store.query_headers(source="FileIn", limit=10)
                          if h.status == "completed"]) == len(sent), timeout=15,
             what="every message completed")


def test_without_overwrite_data_is_added_at_the_end(ftp_server: FtpServer, make_project: Any,
                                                    tmp_path: Path, wait_for: Any) -> None:
    inbox, outbox = tmp_path / "in", ftp_server.root / "out"
    inbox.mkdir()
    (outbox / "log.txt").write_bytes(b"existing\n")
    start_production(make_project, ftp_out_production(ftp_server, inbox, Overwrite="0"))
    (inbox / "log.txt").write_bytes(b"one\n")
    wait_for(lambda: files_in(outbox).get("log.txt") == b"existing\none\n", timeout=30,
             what="the first message appended")
    (inbox / "log.txt").write_bytes(b"two\n")
    wait_for(lambda: files_in(outbox).get("log.txt") == b"existing\none\ntwo\n", timeout=30,
             what="the second message appended")
    assert set(files_in(outbox)) == {"log.txt"}


def test_a_file_is_never_seen_half_written_under_its_name(
        ftp_server: FtpServer, make_project: Any, tmp_path: Path, wait_for: Any) -> None:
    inbox, outbox = tmp_path / "in", ftp_server.root / "out"
    inbox.mkdir()
    data = os.urandom(3 * 1024 * 1024).hex().encode()  # 6 MB of text
    seen_sizes: set[int] = set()
    done = threading.Event()

    def watch() -> None:
        target = outbox / "big.txt"
        while not done.is_set():
            try:
                seen_sizes.add(target.stat().st_size)
            except FileNotFoundError:
                pass

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        start_production(make_project, ftp_out_production(ftp_server, inbox))
        (tmp_path / "big.txt").write_bytes(data)
        (tmp_path / "big.txt").rename(inbox / "big.txt")  # complete when the service sees it
        wait_for(lambda: files_in(outbox).get("big.txt") == data, timeout=60,
                 what="the big file on the server")
    finally:
        done.set()
        watcher.join()
    assert seen_sizes == {len(data)}
    assert not [n for n in files_in(outbox) if n.endswith(UPLOAD_SUFFIX)]
