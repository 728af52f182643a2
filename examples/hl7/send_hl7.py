"""Send HL7 v2 messages over MLLP to the example's service and print each ACK's code.

    python examples/hl7/send_hl7.py [COUNT] [PORT]

Alternates admissions (ADT^A01) and lab results (ORU^R01) so that the router has both kinds
to route.
"""

from __future__ import annotations

import socket
import sys
import time

START, END = b"\x0b", b"\x1c\x0d"


def message(n: int) -> str:
    stamp = time.strftime("%Y%m%d%H%M%S")
    if n % 2 == 0:
        return "\r".join([
            f"MSH|^~\\&|REGADT|GOODHEALTH|EHR|HOSP|{stamp}||ADT^A01^ADT_A01|ADT{n:05d}|P|2.5",
            f"EVN|A01|{stamp}",
            f"PID|1||{100000 + n}^^^GOODHEALTH^MR||Doe^Jane^{chr(65 + n % 26)}||19800214|F",
            "PV1|1|I|WARD3^301^1|E|||1234^Smith^Anna"]) + "\r"
    return "\r".join([
        f"MSH|^~\\&|LAB|GOODHEALTH|EHR|HOSP|{stamp}||ORU^R01^ORU_R01|LAB{n:05d}|P|2.5",
        f"PID|1||{100000 + n}^^^GOODHEALTH^MR||Doe^Jane||19800214|F",
        f"OBR|1|ORD{n}|RES{n}|GLU^Glucose",
        f"OBX|1|NM|GLU^Glucose||{4 + n % 5}.{n % 10}|mmol/L|3.9-5.8|N|||F"]) + "\r"


def read_frame(sock: socket.socket) -> bytes:
    data = b""
    while END not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the service closed the connection before its ACK")
        data += chunk
    return data[data.index(START) + 1:data.index(END)]


def main(count: int, port: int) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        for n in range(count):
            text = message(n)
            sock.sendall(START + text.encode() + END)
            ack = read_frame(sock).decode(errors="replace")
            msa = next((s for s in ack.split("\r") if s.startswith("MSA")), "MSA|??")
            kind = text.split("\r")[0].split("|")[8]
            print(f"sent {kind:<16} control id {text.split(chr(13))[0].split('|')[9]}: "
                  f"ACK {msa.split('|')[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 6,
                  int(sys.argv[2]) if len(sys.argv) > 2 else 6661))
