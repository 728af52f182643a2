"""The example's HTTP receiver (the lab system the results go to): keeps each POSTed body
in a folder and answers 200.

    python examples/hl7/receiver.py PORT FOLDER
"""

from __future__ import annotations

import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

MAX_BODY = 1024 * 1024


class Receiver(BaseHTTPRequestHandler):
    folder = Path(".")

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.send_error(413, "body too large")
            return
        body = self.rfile.read(length)
        name = f"{time.time():.6f}.hl7"
        (self.folder / name).write_bytes(body)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"stored " + name.encode())

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base's name
        pass


def main(port: int, folder: str) -> None:
    Receiver.folder = Path(folder)
    Receiver.folder.mkdir(parents=True, exist_ok=True)
    ThreadingHTTPServer(("127.0.0.1", port), Receiver).serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
