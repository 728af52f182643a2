"""The FTP server restarts in the middle of a stream of files, inbound and outbound: nothing
is lost, and a file is delivered twice at most once per restart (at least once)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ftp_support import (
    FtpServer,
    files_in,
    ftp_in_production,
    ftp_out_production,
    start_production,
)

from iop.connectors.ftp.remote_files import UPLOAD_SUFFIX

COUNT = 40


@pytest.fixture
def ftp_server(tmp_path: Path) -> Iterator[FtpServer]:
    root = tmp_path / "ftproot"
    (root / "in").mkdir(parents=True)
    (root / "out").mkdir(parents=True)
    server = FtpServer(root)
    server.start()
    yield server
    server.stop()


# The stream in three parts: the first before the production starts, the others each fed
# while the server is down, so that a fast run cannot finish the stream before a stop.
CUTS = (0, COUNT // 5, COUNT // 2, COUNT)


def _parts(sent: dict[str, bytes]) -> list[dict[str, bytes]]:
    items = list(sent.items())
    return [dict(items[a:b]) for a, b in zip(CUTS[:-1], CUTS[1:], strict=True)]


def _restart_twice_midstream(server: FtpServer, progress: Any, wait_for: Any,
                             feed: Any, later_parts: list[dict[str, bytes]]) -> None:
    for reached, part in zip(CUTS[1:-1], later_parts, strict=True):
        wait_for(lambda reached=reached: progress() >= reached, timeout=60,
                 what=f"{reached} files through before the restart")
        server.stop()
        feed(part)
        assert progress() < COUNT, "the stream was over before the server stopped"
        server.start()


def test_inbound_server_restarts_midstream(ftp_server: FtpServer, make_project: Any,
                                           tmp_path: Path, wait_for: Any, store: Any) -> None:
    inbox, outbox = ftp_server.root / "in", tmp_path / "out"
    sent = {f"f{n:03}.txt": f"file {n}\n".encode() * 50 for n in range(COUNT)}

    def feed(part: dict[str, bytes]) -> None:
        for name, data in part.items():
            (inbox / name).write_bytes(data)

    first, *later = _parts(sent)
    feed(first)
    start_production(make_project, ftp_in_production(ftp_server, outbox, FileAccessTimeout="0"))

    _restart_twice_midstream(ftp_server, lambda: len(files_in(outbox)), wait_for, feed, later)
    wait_for(lambda: files_in(outbox) == sent, timeout=90, what="every file written out")
    wait_for(lambda: files_in(inbox) == {}, timeout=30, what="every file deleted")
    delivered = len(store.query_headers(source="FtpIn", limit=COUNT * 2))
    assert COUNT <= delivered <= COUNT + 2


def test_outbound_server_restarts_midstream(ftp_server: FtpServer, make_project: Any,
                                            tmp_path: Path, wait_for: Any,
                                            store: Any) -> None:
    inbox, outbox = tmp_path / "in", ftp_server.root / "out"
    inbox.mkdir()
    staging = tmp_path / "staging"
    staging.mkdir()
    sent = {f"r{n:03}.txt": f"result {n}\n".encode() * 50 for n in range(COUNT)}

    def feed(part: dict[str, bytes]) -> None:
        for name, data in part.items():
            (staging / name).write_bytes(data)
            (staging / name).rename(inbox / name)

    first, *later = _parts(sent)
    feed(first)
    start_production(make_project, ftp_out_production(ftp_server, inbox))

    _restart_twice_midstream(ftp_server, lambda: len(files_in(outbox)), wait_for, feed, later)
    wait_for(lambda: files_in(outbox) == sent, timeout=90, what="every file on the server")
    assert not [n for n in files_in(outbox) if n.endswith(UPLOAD_SUFFIX)]
    wait_for(lambda: len([h for h in store.query_headers(source="FileIn", limit=COUNT * 2)
                          if h.status == "completed"]) == COUNT, timeout=30,
             what="every message completed")
