"""Issue 25, "bad input never gives a traceback": undecodable or oversized bodies, JSON nested
100,000 deep, a message class whose constructor raises, a value of the wrong type for a
dataclass field, and a setting value of the wrong type, each through the real `iop` CLI (and
the API and portal of a real `iop --serve` where they take bodies). Each gives one line, no
traceback, and the exit code chosen: 2 for a -B value the CLI cannot decode (a usage mistake,
as argparse's), 1 for a body the message class refuses and for a refused migration (IoP's exit
code for the errors it reports itself)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bad_input_support import DEEP, DEEP_ARG, MESSAGES, one_line, run_raw

from iop.messages.json_body import MAX_BODY_BYTES, MAX_JSON_DEPTH

PRODUCTION = "Edges.Production"

COMPONENTS = MESSAGES + '''

class Ticker(PollingBusinessService):
    Batch = setting(10)
    OutFile = setting("")

    def on_poll(self):
        if self.OutFile:
            with open(self.OutFile, "a") as fh:
                fh.write(f"{self.Batch}\\n")
'''

SETTINGS = f'''
prod = Production("{PRODUCTION}", testing_enabled=True)
prod.operation("Echo", Echo)
prod.service("Ticker", Ticker).adapter_setting("CallInterval", {{interval!r}}) \\
    .host_setting("Batch", {{batch!r}}).host_setting("OutFile", {{out!r}})
PRODUCTIONS = [prod]
'''


def test_cli_bodies_are_decoded_strictly_and_refused_in_one_line(
        make_project: Any, run_iop: Any, iop_home: Path, tmp_path: Path, store: Any) -> None:
    project = make_project(COMPONENTS, SETTINGS.format(interval="5", batch="10", out=""))
    project.migrate()
    project.start(PRODUCTION)
    ping, boom = project.message_class("Ping"), project.message_class("Boom")
    files = {"binary.bin": b"\x00\x01\x02\xff\xfe", "latin1.json": '{"uid": "caf\xe9"}'.encode(
        "latin-1"), "deep.json": DEEP.encode(), "big.json": b'{"uid": "' + b"x" * MAX_BODY_BYTES
        + b'"}', "bad.json": b'{"uid": '}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    usage = "iop: error: argument -B/--body: "
    cases: list[tuple[tuple[str | bytes, ...], tuple[str, ...]]] = [
        (("-B", f"@{tmp_path / 'binary.bin'}"), ("binary.bin", "binary data")),
        (("-B", f"@{tmp_path / 'latin1.json'}"), ("latin1.json", "not valid UTF-8")),
        (("-B", b'{"uid": "caf\xe9"}'), ("not valid UTF-8",)),
        (("-B", f"@{tmp_path / 'deep.json'}"), ("deep.json", f"deeper than {MAX_JSON_DEPTH}")),
        (("-B", DEEP_ARG), (f"deeper than {MAX_JSON_DEPTH}",)),
        (("-B", f"@{tmp_path / 'big.json'}"), ("big.json", f"limit of {MAX_BODY_BYTES}")),
        (("-B", f"@{tmp_path / 'bad.json'}"), ("bad.json", "not valid JSON")),
        (("-B", "{not json"), ("not valid JSON",)),
        (("-B", f"@{tmp_path / 'missing.json'}"), ("missing.json", "No such file")),
    ]
    for extra, needles in cases:
        line = one_line(run_raw(iop_home, "-t", "Echo", "-C", ping, *extra), 2, *needles)
        assert line.startswith(usage) and line.endswith("(see iop -h)"), line
    # A body that decodes but that the message class refuses: the engine's refusal (exit 1).
    line = one_line(run_raw(iop_home, "-t", "Echo", "-C", boom, "-B", '{"n": 1}'), 1,
                    boom, "RuntimeError", "constructor refused n")
    assert line.startswith("error: "), line
    one_line(run_raw(iop_home, "-t", "Echo", "-C", ping, "-B", '{"uid": 12345}'), 1,
             "Ping.uid", "expects str", "int 12345")
    one_line(run_raw(iop_home, "-t", "Echo", "-C", ping, "-B", '{"count": "many"}'), 1,
             "Ping.count", "expects int")
    # An edited resubmit takes the same path: refused before anything is looked up.
    one_line(run_raw(iop_home, "--resubmit", "1", "-B", f"@{tmp_path / 'deep.json'}"), 2,
             "deeper than")
    one_line(run_raw(iop_home, "--resubmit", "1", "-B", b"caf\xe9"), 2, "not valid UTF-8")
    # Nothing was stored by any refused test; a good body still goes through.
    assert store.query_headers(limit=0) == []
    done = run_iop("-t", "Echo", "-C", ping, "-B", '{"uid": "12345", "count": "7"}')
    assert '"uid": "12345"' in done.stdout


def test_a_setting_of_the_wrong_type_is_refused_at_migration(
        make_project: Any, run_iop: Any, iop_home: Path, store: Any, tmp_path: Path,
        wait_for: Any) -> None:
    out = tmp_path / "polls.txt"
    project = make_project(COMPONENTS, SETTINGS.format(interval="5", batch="0.1", out=""))
    line = one_line(run_raw(iop_home, "-m", str(project.settings)), 1, PRODUCTION,
                    "item Ticker", "host setting Batch='0.1'", "not a valid int",
                    "nothing was written")
    assert line.startswith("error: production validation failed"), line
    project.write_settings(SETTINGS.format(interval="soon", batch="10", out=""))
    one_line(run_raw(iop_home, "-m", str(project.settings)), 1, PRODUCTION, "item Ticker",
             "adapter setting CallInterval='soon'", "not a valid float")
    assert store.get_production(PRODUCTION) is None
    # A whole number written as text, as settings files often do, is accepted; CallInterval
    # takes fractions of a second, as IRIS's %Numeric(MINVAL = 0.1) does.
    project.write_settings(SETTINGS.format(interval="0.1", batch="7", out=str(out)))
    project.migrate()
    project.start(PRODUCTION)
    wait_for(lambda: out.exists() and len(out.read_text().split()) >= 5, timeout=20,
             what="five polls of Ticker at CallInterval 0.1")
    assert set(out.read_text().split()) == {"7"}
    assert json.loads(run_iop("-x").stdout)["Status"] == "running"
