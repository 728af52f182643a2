"""The FTP adapters with Protocol SFTP against a real SFTP server (asyncssh), in productions
run by the real CLI: files in and out, logging in with a private key; the server restarted
mid-stream with nothing lost; a refused key is one clear log line; a server showing another
host key than the one kept is refused before any login."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ftp_support import (
    SftpServer,
    files_in,
    ftp_in_production,
    ftp_out_production,
    start_production,
)

from iop.connectors.ftp.remote_files import UPLOAD_SUFFIX
from iop.connectors.ftp.sftp_client import fingerprint

COUNT = 30


@pytest.fixture
def sftp_server(tmp_path: Path) -> Iterator[SftpServer]:
    root = tmp_path / "sftproot"
    (root / "in").mkdir(parents=True)
    (root / "out").mkdir(parents=True)
    server = SftpServer(root, tmp_path / "keys")
    server.start()
    yield server
    server.stop()


def _restart_midstream(server: SftpServer, progress: Any, wait_for: Any,
                       feed_the_rest: Any) -> None:
    """The first quarter of the stream has gone through; the server stops, the rest of the
    stream is fed while it is down (so it must wait for the server), and the server starts
    again. The stream is fed in two parts so that a fast run cannot finish it before the stop."""
    wait_for(lambda: progress() >= COUNT // 4, timeout=60, what="files through before the restart")
    server.stop()
    feed_the_rest()
    assert progress() < COUNT, "the stream was over before the server stopped"
    server.start()


def test_sftp_inbound_with_a_key_and_a_restart_midstream(
        sftp_server: SftpServer, make_project: Any, tmp_path: Path, wait_for: Any,
        store: Any) -> None:
    inbox, outbox = sftp_server.root / "in", tmp_path / "out"
    sent = {f"f{n:03}.txt": f"file {n}\n".encode() * 40 for n in range(COUNT)}
    first = dict(list(sent.items())[:COUNT // 4])

    def feed(part: dict[str, bytes]) -> None:
        for name, data in part.items():
            (inbox / name).write_bytes(data)

    feed(first)
    start_production(make_project, ftp_in_production(sftp_server, outbox, "SFTP", FileAccessTimeout="0",
                                           SFTPPrivateKeyFile=sftp_server.client_key))

    _restart_midstream(sftp_server, lambda: len(files_in(outbox)), wait_for,
                       lambda: feed({k: v for k, v in sent.items() if k not in first}))
    wait_for(lambda: files_in(outbox) == sent, timeout=90, what="every file written out")
    wait_for(lambda: files_in(inbox) == {}, timeout=30, what="every file deleted")
    delivered = len(store.query_headers(source="FtpIn", limit=COUNT * 2))
    assert COUNT <= delivered <= COUNT + 1


def test_sftp_outbound_with_a_restart_midstream(
        sftp_server: SftpServer, make_project: Any, tmp_path: Path, wait_for: Any,
        store: Any) -> None:
    inbox, outbox, staging = tmp_path / "in", sftp_server.root / "out", tmp_path / "staging"
    inbox.mkdir()
    staging.mkdir()
    sent = {f"r{n:03}.txt": f"result {n}\n".encode() * 40 for n in range(COUNT)}
    first = dict(list(sent.items())[:COUNT // 4])

    def feed(part: dict[str, bytes]) -> None:
        for name, data in part.items():
            (staging / name).write_bytes(data)
            (staging / name).rename(inbox / name)

    feed(first)
    start_production(make_project, ftp_out_production(sftp_server, inbox, "SFTP",
                                            SFTPPrivateKeyFile=sftp_server.client_key))

    _restart_midstream(sftp_server, lambda: len(files_in(outbox)), wait_for,
                       lambda: feed({k: v for k, v in sent.items() if k not in first}))
    wait_for(lambda: files_in(outbox) == sent, timeout=90, what="every file on the server")
    assert not [n for n in files_in(outbox) if n.endswith(UPLOAD_SUFFIX)]
    wait_for(lambda: len([h for h in store.query_headers(source="FileIn", limit=COUNT * 2)
                          if h.status == "completed"]) == COUNT, timeout=30,
             what="every message completed")


def test_sftp_remembers_processed_files_without_delete(
        sftp_server: SftpServer, make_project: Any, tmp_path: Path, wait_for: Any,
        store: Any) -> None:
    inbox, outbox = sftp_server.root / "in", tmp_path / "out"
    (inbox / "a.txt").write_bytes(b"kept on the server")
    start_production(make_project, ftp_in_production(sftp_server, outbox, "SFTP", DeleteFromServer="0",
                                           SFTPPrivateKeyFile=sftp_server.client_key))
    wait_for(lambda: "a.txt" in files_in(outbox), timeout=30, what="the file written out")
    (inbox / "b.txt").write_bytes(b"later")  # polls go on: a.txt is not taken again
    wait_for(lambda: "b.txt" in files_in(outbox), timeout=30, what="the later file")
    assert set(files_in(inbox)) == {"a.txt", "b.txt"}
    assert len(store.query_headers(source="FtpIn", limit=10)) == 2


def test_a_refused_key_is_one_clear_line_in_the_log(
        sftp_server: SftpServer, make_project: Any, tmp_path: Path, wait_for: Any,
        store: Any) -> None:
    import asyncssh

    stranger = tmp_path / "stranger_key"
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(stranger))
    (sftp_server.root / "in" / "a.txt").write_bytes(b"kept")
    start_production(make_project, ftp_in_production(sftp_server, tmp_path / "out", "SFTP",
                                           SFTPPrivateKeyFile=stranger))
    errors = wait_for(lambda: [e for e in store.log_since(0)
                               if e.item == "FtpIn" and e.type == "error"], timeout=30,
                      what="the login error in the log")
    text = errors[0].text
    assert text.startswith(f"SFTP 127.0.0.1:{sftp_server.port}: login as ") and "refused" in text
    assert "\n" not in text and "Traceback" not in text
    assert (sftp_server.root / "in" / "a.txt").read_bytes() == b"kept"


def _fingerprint_of(private_key: Path) -> str:
    import base64

    import asyncssh

    public = asyncssh.read_private_key(str(private_key)).export_public_key().decode()
    return fingerprint(base64.b64decode(public.split()[1]))


def test_a_server_showing_another_host_key_is_refused_before_any_login(
        sftp_server: SftpServer, make_project: Any, tmp_path: Path, wait_for: Any,
        store: Any, run_iop: Any) -> None:
    """The host key seen first is kept (trust on first use); a server answering on the same
    address with another key (a re-keyed server, or one impersonating it) is refused in one
    line, no file is taken from it, and setting SFTPServerKey to its fingerprint accepts it."""
    import asyncssh

    first = _fingerprint_of(sftp_server.host_key)
    settings = dict(SFTPPrivateKeyFile=sftp_server.client_key)
    start_production(make_project, ftp_in_production(sftp_server, tmp_path / "out", "SFTP", **settings))
    (sftp_server.root / "in" / "a.txt").write_bytes(b"first")
    wait_for(lambda: "a.txt" in files_in(tmp_path / "out"), timeout=30, what="the first file")
    assert any(f"host key {first} kept" in e.text for e in store.log_since(0))

    sftp_server.stop()  # the same address now answers with another key
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(sftp_server.host_key))
    second = _fingerprint_of(sftp_server.host_key)
    sftp_server.start()
    (sftp_server.root / "in" / "b.txt").write_bytes(b"second")
    refused = wait_for(lambda: [e for e in store.log_since(0) if e.type == "error"
                                and "host key" in e.text], timeout=30, what="the refusal")
    assert f"the server's host key is {second}, not the expected {first}" in refused[0].text
    assert "\n" not in refused[0].text and "Traceback" not in refused[0].text
    assert (sftp_server.root / "in" / "b.txt").read_bytes() == b"second"  # not taken
    assert "b.txt" not in files_in(tmp_path / "out")

    run_iop("-S")
    start_production(make_project, ftp_in_production(sftp_server, tmp_path / "out", "SFTP",
                                           SFTPServerKey=second, **settings))
    wait_for(lambda: "b.txt" in files_in(tmp_path / "out"), timeout=30,
             what="the file, once the new key is the expected one")
