"""What the SMTP, POP3 and IMAP adapters share about reaching a mail server: the IRIS
``SSLConfig`` setting read as a TLS mode, and a failure told in one line."""

from __future__ import annotations

import imaplib
import socket
import ssl
from dataclasses import dataclass
from typing import Any

from iop.components.settings import Category, setting

__all__ = ["TLSMode", "failure_text", "ssl_check_identity_setting", "ssl_config_setting",
           "tls_mode"]

# Seconds to wait for a mail server to connect or answer.
TIMEOUT_SECONDS = 30.0


def ssl_config_setting() -> Any:
    return setting("", category=Category.CONNECTION,
                   description="TLS: empty for none; a configuration name for TLS from the "
                               "start; the name followed by * (e.g. default*) for STARTTLS")


def ssl_check_identity_setting() -> Any:
    return setting(True, category=Category.CONNECTION,
                   description="With TLS, check that the server's certificate names the host")


@dataclass(frozen=True)
class TLSMode:
    """How to secure a connection: not at all, TLS from the start, or STARTTLS."""

    implicit: bool = False
    starttls: bool = False
    check_identity: bool = True

    def context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if not self.check_identity:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


def tls_mode(adapter: Any) -> TLSMode:
    """The adapter's SSLConfig and SSLCheckServerIdentity as a TLSMode. As in IRIS, a
    trailing ``*`` on the configuration name asks for STARTTLS; any other name for TLS from
    the start (with the system's certificate authorities: there is no TLS configuration
    store, so the name itself selects nothing more)."""
    name = str(getattr(adapter, "SSLConfig", "") or "").strip()
    check = str(getattr(adapter, "SSLCheckServerIdentity", True)).strip().lower() \
        not in ("0", "false", "no", "off")
    if not name:
        return TLSMode(check_identity=check)
    if name.endswith("*"):
        return TLSMode(starttls=True, check_identity=check)
    return TLSMode(implicit=True, check_identity=check)


def failure_text(system: str, host: str, port: int, exc: BaseException) -> str:
    """One line: which server, and why it failed (never a secret: the callers pass errors of
    connecting and of the server's replies, which carry no password)."""
    return f"{system} server {host}:{port}: {_cause(exc)}"


def _cause(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return f"no answer within {TIMEOUT_SECONDS:g} s"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the server running, and is the port right?)"
    if isinstance(exc, socket.gaierror):
        return f"unknown host ({exc.strerror})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or exc}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, imaplib.IMAP4.abort | EOFError):
        return f"connection lost ({_cause(Exception(*exc.args)) if exc.args else 'EOF'})"
    text = exc.args[0] if len(exc.args) == 1 else exc
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    line = " ".join(str(text).split())
    return line or type(exc).__name__
