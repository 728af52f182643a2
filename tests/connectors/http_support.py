"""Helpers of the HTTP connector tests: a recording HTTP server run as its own process on a
free loopback port (so a test can kill and restart it), and free ports.

``python http_support.py PORT RECORD [FAIL_FIRST]`` serves HTTP/1.1 with keep-alive; every
request is appended to RECORD (one JSON line, flushed to disk) before it is answered, so
what the file holds is what the server received. The first FAIL_FIRST requests are answered
503 (and recorded with that status); a path containing ``missing`` is answered 404. Every other request is answered 200 with a JSON body
``{"received": <body>, "path": ..., "method": ...}`` and an ``X-Recorded`` header.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing listens on 127.0.0.1:{port}") from None
            time.sleep(0.05)


class RecordingServer:
    """The recording server as a child process; ``records()`` reads what it received."""

    def __init__(self, record: Path, port: int | None = None, fail_first: int = 0) -> None:
        self.record = record
        self.port = port or free_port()
        self.fail_first = fail_first
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> RecordingServer:
        self.process = subprocess.Popen(
            [PYTHON, str(HERE / "http_support.py"), str(self.port), str(self.record),
             str(self.fail_first)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)
        return self

    def kill(self) -> None:
        """Kill it at once (SIGKILL): connections die without a goodbye."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def restart(self) -> None:
        self.kill()
        self.fail_first = 0
        self.start()

    def records(self) -> list[dict[str, Any]]:
        if not self.record.exists():
            return []
        lines = self.record.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def bodies(self, status: int = 200) -> list[str]:
        return [r["body"] for r in self.records() if r["status"] == status]

    def __enter__(self) -> RecordingServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()


def _serve(port: int, record: Path, fail_first: int) -> None:
    lock = threading.Lock()
    seen = [0]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length).decode("utf-8", errors="replace")
            with lock:
                seen[0] += 1
                status = 503 if seen[0] <= fail_first else 404 if "missing" in self.path \
                    else 200
                entry = {"method": self.command, "path": self.path, "body": body,
                         "status": status, "headers": {k.lower(): v for k, v in
                                                       self.headers.items()}}
                with record.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(entry) + "\n")
                    fh.flush()
                    os.fsync(fh.fileno())
            answer = json.dumps({"received": body, "path": self.path,
                                 "method": self.command}).encode() if status == 200 else \
                b"busy" if status == 503 else b"no such thing"
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if status == 200 else
                             "text/plain")
            self.send_header("X-Recorded", str(seen[0]))
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _any

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    _serve(int(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 0)
