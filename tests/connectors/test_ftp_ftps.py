"""FTPS (FTP over TLS, control and data connections) against a real pyftpdlib server that
refuses plain FTP: files in and out with Protocol FTPS, or FTP with an SSLConfig; a server
certificate no CA vouches for is one clear line in the log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ftp_support import (
    PRODUCTION,
    FtpServer,
    files_in,
    ftp_in_production,
    ftp_out_production,
    make_certificates,
    start_production,
)

pytest.importorskip("OpenSSL", reason="pyftpdlib's FTPS server needs pyOpenSSL")


@pytest.fixture
def certificates(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(CA file, server certificate, server key)."""
    return make_certificates(tmp_path / "tls")


@pytest.fixture
def ftps_server(tmp_path: Path, certificates: tuple[Path, Path, Path]) -> Iterator[FtpServer]:
    root = tmp_path / "ftproot"
    (root / "in").mkdir(parents=True)
    (root / "out").mkdir(parents=True)
    server = FtpServer(root, tls=(certificates[1], certificates[2]))
    server.start()
    yield server
    server.stop()


def test_ftps_in_and_out(ftps_server: FtpServer, certificates: tuple[Path, Path, Path],
                         make_project: Any, tmp_path: Path, wait_for: Any,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates[0]))  # the jobs trust the test CA
    (ftps_server.root / "in" / "a.txt").write_bytes(b"over TLS")
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    production = ftp_in_production(ftps_server, outbox, "FTPS").replace("PRODUCTIONS = [prod]",
                                                                        "")
    production += ftp_out_production(ftps_server, inbox, "FTP", SSLConfig="Bank").split(
        f'prod = Production("{PRODUCTION}")', 1)[1]
    start_production(make_project, production)
    (inbox / "r.txt").write_bytes(b"result over TLS")
    wait_for(lambda: files_in(outbox) == {"a.txt": b"over TLS"}, timeout=30,
             what="the file from the FTPS server")
    wait_for(lambda: files_in(ftps_server.root / "out") == {"r.txt": b"result over TLS"},
             timeout=30, what="the file on the FTPS server")


def test_an_untrusted_certificate_is_one_line(ftps_server: FtpServer, make_project: Any,
                                              tmp_path: Path, wait_for: Any,
                                              store: Any) -> None:
    (ftps_server.root / "in" / "a.txt").write_bytes(b"kept")
    start_production(make_project, ftp_in_production(ftps_server, tmp_path / "out", "FTPS"))
    errors = wait_for(lambda: [e for e in store.log_since(0)
                               if e.item == "FtpIn" and e.type == "error"], timeout=30,
                      what="the TLS error in the log")
    text = errors[0].text
    assert text.startswith(f"FTPS 127.0.0.1:{ftps_server.port}: cannot connect: ")
    assert "CERTIFICATE_VERIFY_FAILED" in text and "\n" not in text
    assert (ftps_server.root / "in" / "a.txt").read_bytes() == b"kept"
