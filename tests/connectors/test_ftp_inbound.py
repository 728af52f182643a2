"""EnsLib.FTP.InboundAdapter against a real FTP server (pyftpdlib), in productions run by the
real CLI: files from the server reach an operation and are then deleted, renamed or
remembered; a file still being written waits; a wrong login is one clear log line."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ftp_support import PASSWORD, PRODUCTION, FtpServer, files_in, ftp_in_production, write_slowly


@pytest.fixture
def ftp_server(tmp_path: Path) -> Iterator[FtpServer]:
    root = tmp_path / "ftproot"
    (root / "in").mkdir(parents=True)
    server = FtpServer(root)
    server.start()
    yield server
    server.stop()


def _start(make_project: Any, production: str) -> Any:
    project = make_project("", production)
    project.migrate()
    project.start(PRODUCTION)
    return project


def test_files_reach_the_operation_then_are_deleted_from_the_server(
        ftp_server: FtpServer, make_project: Any, tmp_path: Path, wait_for: Any,
        store: Any) -> None:
    inbox, outbox = ftp_server.root / "in", tmp_path / "out"
    sent = {f"order{n}.txt": f"order {n}\n".encode() * (n + 1) for n in range(5)}
    sent["zoë.txt"] = "Zoë ✓ naïve\n".encode()  # UTF-8 passes through unchanged
    for name, data in sent.items():
        (inbox / name).write_bytes(data)
    (inbox / "notes.csv").write_bytes(b"not matched")
    _start(make_project, ftp_in_production(ftp_server, outbox, FileSpec="*.txt;*.dat"))

    wait_for(lambda: files_in(outbox) == sent, timeout=30, what="every file written out")
    wait_for(lambda: set(files_in(inbox)) == {"notes.csv"}, timeout=15,
             what="the delivered files deleted from the server")
    headers = store.query_headers(source="FtpIn", limit=50)
    assert len(headers) == len(sent)
    assert all(h.body_class == "Ens.StreamContainer" for h in headers)


def test_rename_on_the_server_and_a_local_archive_copy(
        ftp_server: FtpServer, make_project: Any, tmp_path: Path, wait_for: Any) -> None:
    inbox, outbox, archive = ftp_server.root / "in", tmp_path / "out", tmp_path / "archive"
    (inbox / "done").mkdir()
    (inbox / "a.txt").write_bytes(b"alpha")
    _start(make_project, ftp_in_production(ftp_server, outbox, RenameFilename="done/%f.ok",
                                           ArchivePath=archive, AppendTimestamp="0"))

    wait_for(lambda: files_in(inbox / "done") == {"a.txt.ok": b"alpha"}, timeout=30,
             what="the file moved to done/ on the server")
    assert files_in(outbox) == {"a.txt": b"alpha"}
    assert files_in(archive) == {"a.txt": b"alpha"}
    assert "a.txt" not in files_in(inbox)


def test_without_delete_processed_files_are_remembered(
        ftp_server: FtpServer, make_project: Any, tmp_path: Path, wait_for: Any, store: Any,
        run_iop: Any) -> None:
    inbox, outbox = ftp_server.root / "in", tmp_path / "out"
    (inbox / "a.txt").write_bytes(b"first")
    (inbox / "b.txt").write_bytes(b"second")
    _start(make_project, ftp_in_production(ftp_server, outbox, DeleteFromServer="0"))

    def delivered() -> int:
        return len(store.query_headers(source="FtpIn", limit=100))

    wait_for(lambda: len(files_in(outbox)) == 2, timeout=30, what="both files written out")
    # Still on the server, not delivered again: not by later polls, not after a restart.
    run_iop("-S")
    run_iop("-s", PRODUCTION, "-D")
    (inbox / "c.txt").write_bytes(b"third")
    wait_for(lambda: "c.txt" in files_in(outbox), timeout=30, what="the new file written out")
    (inbox / "a.txt").write_bytes(b"first, changed")  # a new size: a new file
    wait_for(lambda: files_in(outbox).get("a.txt") == b"first, changed", timeout=30,
             what="the changed file written out again")
    assert set(files_in(inbox)) == {"a.txt", "b.txt", "c.txt"}
    wait_for(lambda: delivered() == 4, timeout=10, what="four deliveries")
    assert delivered() == 4


def test_a_file_still_being_written_is_taken_once_complete(
        ftp_server: FtpServer, make_project: Any, tmp_path: Path, wait_for: Any,
        store: Any) -> None:
    inbox, outbox = ftp_server.root / "in", tmp_path / "out"
    _start(make_project, ftp_in_production(ftp_server, outbox, FileAccessTimeout="1"))
    wait_for(lambda: store.query_headers(limit=1) == [] and _polling(store), timeout=30,
             what="the service to poll")
    parts = [f"part {n}\n".encode() for n in range(8)]
    writer = threading.Thread(target=write_slowly, args=(inbox / "big.txt", parts, 0.5))
    writer.start()
    writer.join()
    wait_for(lambda: "big.txt" in files_in(outbox), timeout=30, what="the file written out")
    assert files_in(outbox)["big.txt"] == b"".join(parts)
    assert len(store.query_headers(source="FtpIn", limit=10)) == 1


def test_a_refused_login_is_one_clear_line_in_the_log(
        tmp_path: Path, make_project: Any, wait_for: Any, store: Any) -> None:
    root = tmp_path / "ftproot"
    (root / "in").mkdir(parents=True)
    (root / "in" / "a.txt").write_bytes(b"kept")
    server = FtpServer(root, anonymous="none")  # only alice may log in
    server.start()
    try:
        _start(make_project, ftp_in_production(server, tmp_path / "out"))
        errors = wait_for(lambda: [e for e in store.log_since(0)
                                   if e.item == "FtpIn" and e.type == "error"], timeout=30,
                          what="the login error in the log")
        text = errors[0].text
        assert text.startswith(f"FTP 127.0.0.1:{server.port}: login as ") and "refused" in text
        assert "\n" not in text and "Traceback" not in text and PASSWORD not in text
        assert (root / "in" / "a.txt").read_bytes() == b"kept"
        # Said once, not at every poll.
        assert len([e for e in store.log_since(0) if e.item == "FtpIn" and e.type == "error"]) == 1
    finally:
        server.stop()


def _polling(store: Any) -> bool:
    return any(j.item == "FtpIn" and j.state == "running" for j in store.list_jobs())


def test_a_refused_delete_is_not_a_new_delivery(tmp_path: Path, make_project: Any,
                                                 wait_for: Any, store: Any) -> None:
    root, outbox = tmp_path / "ftproot", tmp_path / "out"
    (root / "in").mkdir(parents=True)
    (root / "in" / "a.txt").write_bytes(b"first")
    server = FtpServer(root, anonymous="read")  # may download, may not delete
    server.start()
    try:
        _start(make_project, ftp_in_production(server, outbox))
        wait_for(lambda: "a.txt" in files_in(outbox), timeout=30, what="the first file out")
        errors = wait_for(lambda: [e for e in store.log_since(0)
                                   if e.item == "FtpIn" and e.type == "error"], timeout=30,
                          what="the refused delete in the log")
        assert errors[0].text.startswith(f"FTP 127.0.0.1:{server.port}: delete in/a.txt "
                                          "failed: 550 ")
        # Polls go on (the later file comes through after a.txt, in time order), and a.txt,
        # stored once, is not delivered again.
        (root / "in" / "b.txt").write_bytes(b"second")
        wait_for(lambda: "b.txt" in files_in(outbox), timeout=30, what="the later file out")
        assert len(store.query_headers(source="FtpIn", limit=10)) == 2
        assert set(files_in(root / "in")) == {"a.txt", "b.txt"}
    finally:
        server.stop()


def test_a_server_without_mlsd_is_listed_with_nlst(tmp_path: Path, make_project: Any,
                                                   wait_for: Any) -> None:
    root, outbox = tmp_path / "ftproot", tmp_path / "out"
    (root / "in" / "sub").mkdir(parents=True)  # a directory: never taken for a file
    (root / "in" / "a.txt").write_bytes(b"alpha")
    server = FtpServer(root, mlsd=False)
    server.start()
    try:
        _start(make_project, ftp_in_production(server, outbox, StayConnected="0"))
        wait_for(lambda: files_in(outbox) == {"a.txt": b"alpha"}, timeout=30,
                 what="the file written out")
        wait_for(lambda: set(files_in(root / "in")) == set(), timeout=15,
                 what="the file deleted")
        assert (root / "in" / "sub").is_dir()
    finally:
        server.stop()
