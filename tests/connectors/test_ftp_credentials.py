"""The FTP adapters log in with the Credentials setting (user name and password from the
credentials store, `iop --credentials-add`): FTP and SFTP with a password; a wrong password
is one clear line in the log, with no password in it, inbound and outbound."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ftp_support import (
    PASSWORD,
    PRODUCTION,
    FtpServer,
    SftpServer,
    files_in,
    ftp_in_production,
    ftp_out_production,
    start_production,
)
from remote_server import PYTHON

WRONG = "not-the-Pw-4412"


def _add(name: str, username: str, password: str) -> None:
    subprocess.run([PYTHON, "-m", "iop", "--credentials-add", name, "--username", username],
                   input=password + "\n", env=dict(os.environ), capture_output=True, text=True,
                   timeout=60, check=True)


@pytest.fixture
def ftp_server(tmp_path: Path) -> Iterator[FtpServer]:
    root = tmp_path / "ftproot"
    (root / "in").mkdir(parents=True)
    (root / "out").mkdir(parents=True)
    server = FtpServer(root, anonymous="none")
    server.start()
    yield server
    server.stop()


def _errors(store: Any, item: str) -> list[Any]:
    return [e for e in store.log_since(0) if e.item == item and e.type == "error"]


def test_ftp_in_logs_in_with_credentials(ftp_server: FtpServer, make_project: Any,
                                         tmp_path: Path, wait_for: Any, iop_home: Path) -> None:
    _add("Ftp.Alice", "alice", PASSWORD)
    (ftp_server.root / "in" / "a.txt").write_bytes(b"alpha")
    outbox = tmp_path / "out"
    start_production(make_project, ftp_in_production(ftp_server, outbox, Credentials="Ftp.Alice"))
    wait_for(lambda: files_in(outbox) == {"a.txt": b"alpha"}, timeout=30,
             what="the file written out")


def test_a_wrong_password_is_one_line_without_it(ftp_server: FtpServer, make_project: Any,
                                                 tmp_path: Path, wait_for: Any,
                                                 store: Any) -> None:
    _add("Ftp.Wrong", "alice", WRONG)
    (ftp_server.root / "in" / "a.txt").write_bytes(b"kept")
    inbox = tmp_path / "in"
    inbox.mkdir()
    production = ftp_in_production(ftp_server, tmp_path / "out", Credentials="Ftp.Wrong")
    production = production.replace("PRODUCTIONS = [prod]", "") + \
        ftp_out_production(ftp_server, inbox, Credentials="Ftp.Wrong").split(
            f'prod = Production("{PRODUCTION}")', 1)[1]
    start_production(make_project, production)
    (inbox / "r.txt").write_bytes(b"result")

    inbound = wait_for(lambda: _errors(store, "FtpIn"), timeout=30, what="the inbound error")
    assert inbound[0].text == (f"FTP 127.0.0.1:{ftp_server.port}: login as 'alice' refused: "
                               "530 Authentication failed.")
    # The operation retries (ReplyCodeActions E=R): a warning per attempt, one line each.
    outbound = wait_for(lambda: [e for e in store.log_since(0) if e.item == "FtpOut"
                                 and "login as" in e.text], timeout=30,
                        what="the outbound failure")
    assert outbound[0].text.endswith(f"ConnectorError: FTP 127.0.0.1:{ftp_server.port}: login "
                                     "as 'alice' refused: 530 Authentication failed.; retrying "
                                     "every 0.3 s, up to 60 s")
    for entry in store.log_since(0):
        assert WRONG not in entry.text and PASSWORD not in entry.text
    assert (ftp_server.root / "in" / "a.txt").read_bytes() == b"kept"
    assert files_in(ftp_server.root / "out") == {}


def test_sftp_out_logs_in_with_a_password(make_project: Any, tmp_path: Path,
                                          wait_for: Any) -> None:
    root = tmp_path / "sftproot"
    (root / "out").mkdir(parents=True)
    server = SftpServer(root, tmp_path / "keys")
    server.start()
    try:
        _add("Sftp.Alice", "alice", PASSWORD)
        inbox = tmp_path / "in"
        inbox.mkdir()
        start_production(make_project, ftp_out_production(server, inbox, "SFTP", Credentials="Sftp.Alice"))
        (inbox / "r.txt").write_bytes(b"result")
        wait_for(lambda: files_in(root / "out") == {"r.txt": b"result"}, timeout=30,
                 what="the file on the server")
    finally:
        server.stop()
