"""The example's HTTP receiver (the lab system the results go to): keeps each POSTed HL7
message in a folder and answers 200 with an HL7 ACK (MSA|AA), or a NACK (MSA|AE) for a
patient it does not know (family name Unknown), which the operation suspends.

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
        text = self.rfile.read(length).decode("utf-8", errors="replace")
        segments = [s.split("|") for s in text.replace("\n", "\r").split("\r") if s]
        msh = segments[0] if segments and segments[0][0] == "MSH" else []
        control = msh[9] if len(msh) > 9 else ""
        pid = next((s for s in segments if s[0] == "PID"), [])
        unknown = len(pid) > 5 and pid[5].split("^")[0] == "Unknown"
        if not unknown:
            safe = "".join(ch for ch in control if ch.isalnum()) or f"{time.time():.6f}"
            (self.folder / f"{safe}.hl7").write_text(text)
        stamp = time.strftime("%Y%m%d%H%M%S")
        code, note = ("AE", "|unknown patient") if unknown else ("AA", "")
        ack = (f"MSH|^~\\&|LABSYS|LAB|{msh[2] if len(msh) > 2 else ''}|"
               f"{msh[3] if len(msh) > 3 else ''}|{stamp}||ACK^R01^ACK|A{control}|P|2.5\r"
               f"MSA|{code}|{control}{note}\r").encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/hl7-v2; charset=utf-8")
        self.send_header("Content-Length", str(len(ack)))
        self.end_headers()
        self.wfile.write(ack)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base's name
        pass


def main(port: int, folder: str) -> None:
    Receiver.folder = Path(folder)
    Receiver.folder.mkdir(parents=True, exist_ok=True)
    ThreadingHTTPServer(("127.0.0.1", port), Receiver).serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
