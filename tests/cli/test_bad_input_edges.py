"""Issue 25, "bad input never gives a traceback": undecodable or oversized bodies, JSON nested
100,000 deep, a message class whose constructor raises, a value of the wrong type for a
dataclass field, a Pydantic validation error, and a setting value of the wrong type, each
through the real `iop` CLI (tests/api/test_bad_body_edges.py has the API, the portal and the
CLI in remote mode). Each gives one line, no traceback, and exit code 2 for any bad body: a
-B value the CLI cannot decode (a usage mistake, reported as argparse's) or a body the message
class refuses (the class's own one line). A refused migration exits 1, as IoP's `iop -m` does
for the ProductionValidationError (a ValueError) its main reports."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from bad_input_support import DEEP, DEEP_ARG, MESSAGES, one_line, run_raw
from remote_server import PYTHON, clean_env

from iop.messages.json_body import MAX_BODY_BYTES, MAX_JSON_DEPTH

PRODUCTION = "Edges.Production"
MODULE = "edges_components"  # the class names below are stored as edges_components.X

COMPONENTS = '''
from dataclasses import dataclass

from iop import BusinessOperation, Message, PollingBusinessService, setting
''' + MESSAGES + '''

class Gate(BusinessOperation):
    def on_message(self, request):
        raise ConnectionError("remote system down")


class Ticker(PollingBusinessService):
    Batch = setting(10)
    OutFile = setting("")

    def on_poll(self):
        if self.OutFile:
            with open(self.OutFile, "a") as fh:
                fh.write(f"{self.Batch}\\n")
'''

SETTINGS = f'''
from iop import Production
from {MODULE} import *

prod = Production("{PRODUCTION}", testing_enabled=True)
prod.operation("Echo", Echo)
prod.operation("Gate", Gate).host_setting("ReplyCodeActions", "E=S")
prod.service("Ticker", Ticker).adapter_setting("CallInterval", {{interval!r}}) \\
    .host_setting("Batch", {{batch!r}}).host_setting("OutFile", {{out!r}})
PRODUCTIONS = [prod]
'''

PING, BOOM, QUOTE = f"{MODULE}.Ping", f"{MODULE}.Boom", f"{MODULE}.Quote"
USAGE = "iop: error: argument -B/--body: "


@dataclass
class Edges:
    """A running Edges.Production in its own IOP_HOME, and a folder of body files."""

    home: Path
    project: Path
    files: Path

    def iop(self, *args: str | bytes) -> subprocess.CompletedProcess[str]:
        return run_raw(self.home, *args, cwd=self.project)

    def json(self, *args: str) -> Any:
        done = self.iop(*args)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


@pytest.fixture(scope="module")
def edges(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edges]:
    """One production for the whole module: each case below is refused before it runs."""
    root = tmp_path_factory.mktemp("edges")
    home, project, files = root / "home", root / "project", root / "files"
    home.mkdir(mode=0o700)
    project.mkdir()
    files.mkdir()
    (project / f"{MODULE}.py").write_text(COMPONENTS)
    (project / "settings.py").write_text(SETTINGS.format(interval="5", batch="10", out=""))
    bodies = {"binary.bin": b"\x00\x01\x02\xff\xfe",
              "latin1.json": '{"uid": "caf\xe9"}'.encode("latin-1"),
              "deep.json": DEEP.encode(),
              "big.json": b'{"uid": "' + b"x" * MAX_BODY_BYTES + b'"}',
              "bad.json": b'{"uid": '}
    for name, data in bodies.items():
        (files / name).write_bytes(data)
    edges = Edges(home, project, files)
    for args in (("-m", "settings.py"), ("-s", PRODUCTION, "-D")):
        done = edges.iop(*args)
        assert done.returncode == 0, done.stderr
    yield edges
    edges.iop("-k")


def _stored(edges: Edges) -> dict[str, int]:
    return edges.json("--messages", "--count")  # type: ignore[no-any-return]


# (label, extra arguments of `iop -t Echo -C CLASS`, CLASS, what the one line names, usage?)
# The first seven are the inputs issue 25 lists; the others the neighbouring mistakes.
CASES: list[tuple[str, str, tuple[str | bytes, ...], tuple[str, ...], bool]] = [
    ("binary @file", PING, ("-B", "@{files}/binary.bin"), ("binary.bin", "binary data"), True),
    ("invalid UTF-8 @file", PING, ("-B", "@{files}/latin1.json"),
     ("latin1.json", "not valid UTF-8"), True),
    ("invalid UTF-8 in -B", PING, ("-B", b'{"uid": "caf\xe9"}'), ("not valid UTF-8",), True),
    ("JSON nested 100,000 deep", PING, ("-B", "@{files}/deep.json"),
     ("deep.json", f"deeper than {MAX_JSON_DEPTH}"), True),
    ("constructor raising", BOOM, ("-B", '{"n": 1}'),
     (BOOM, "RuntimeError", "constructor refused n"), False),
    ('{"uid": 12345}', PING, ("-B", '{"uid": 12345}'),
     (PING, "Ping.uid", "expects str", "int 12345"), False),
    ("Pydantic validation", QUOTE, ("-B", '{"symbol": "X", "price": "cheap"}'),
     (QUOTE, "price", "valid number"), False),
    ("nested 30,000 deep in -B", PING, ("-B", DEEP_ARG), (f"deeper than {MAX_JSON_DEPTH}",),
     True),
    ("larger than the limit", PING, ("-B", "@{files}/big.json"),
     ("big.json", f"limit of {MAX_BODY_BYTES}"), True),
    ("truncated JSON @file", PING, ("-B", "@{files}/bad.json"), ("bad.json", "not valid JSON"),
     True),
    ("not JSON", PING, ("-B", "{not json"), ("not valid JSON",), True),
    ("missing @file", PING, ("-B", "@{files}/missing.json"), ("missing.json", "No such file"),
     True),
    ("constructor raising on its defaults", BOOM, (), (BOOM, "constructor refused n"), False),
    ("wrong type for int", PING, ("-B", '{"count": "many"}'), (PING, "Ping.count",
                                                               "expects int"), False),
    ("unknown field", PING, ("-B", '{"no_such_field": 1}'), (PING, "no_such_field"), False),
    ("not an object", PING, ("-B", "[1, 2]"), (PING, "expects a JSON object"), False),
    ("Pydantic required field", QUOTE, ("-B", '{"price": 1.5}'), (QUOTE, "symbol",
                                                                  "Field required"), False),
]


@pytest.mark.parametrize("klass, extra, needles, usage",
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_a_bad_test_body_is_refused_in_one_line_with_exit_2(
        edges: Edges, klass: str, extra: tuple[str | bytes, ...], needles: tuple[str, ...],
        usage: bool) -> None:
    before = _stored(edges)
    args = [a.replace("{files}", str(edges.files)) if isinstance(a, str) else a for a in extra]
    line = one_line(edges.iop("-t", "Echo", "-C", klass, *args), 2, *needles)
    if usage:  # a body the CLI cannot read or decode, reported as argparse reports mistakes
        assert line.startswith(USAGE) and line.endswith("(see iop -h)"), line
    else:  # a body its class refused, with the class's own words
        assert line.startswith(f"error: test body does not fit {klass}: "), line
    assert _stored(edges) == before  # nothing was sent


def test_a_good_body_still_goes_through(edges: Edges) -> None:
    done = edges.iop("-t", "Echo", "-C", PING, "-B", '{"uid": "12345", "count": "7"}')
    assert done.returncode == 0, done.stderr
    assert '"uid": "12345"' in done.stdout


def test_an_edited_resubmit_refuses_a_bad_body_in_one_line_with_exit_2(edges: Edges) -> None:
    # Gate suspends what it receives; the test call waits for an answer that never comes.
    waiting = subprocess.Popen([PYTHON, "-m", "iop", "-t", "Gate", "-C", PING, "-B",
                                '{"uid": "down"}'], env=clean_env(IOP_HOME=str(edges.home)),
                               cwd=edges.project, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        suspended: list[Any] = []
        while not suspended and time.monotonic() < deadline:
            suspended = edges.json("--suspended")
            time.sleep(0.1)
        assert suspended, "the Gate request was never suspended"
    finally:
        waiting.kill()
        waiting.wait()
    message = str(suspended[0]["id"])
    before = _stored(edges)
    for body, code, needles in (
            (f"@{edges.files}/deep.json", 2, ("argument -B/--body", "deeper than")),
            (b"caf\xe9", 2, ("argument -B/--body", "not valid UTF-8")),
            ('{"uid": 12345}', 2, (PING, "Ping.uid expects str")),
            ('{"count": "many"}', 2, (PING, "Ping.count expects int")),
            ("[1]", 2, (f"new body of message {message}", "must be a JSON object"))):
        one_line(edges.iop("--resubmit", message, "-B", body), code, *needles)
    assert edges.json("--suspended") == suspended  # still suspended, nothing sent
    assert _stored(edges) == before
    # A message that is not suspended is the engine's refusal, not the body's (exit 1).
    one_line(edges.iop("--resubmit", "999999", "-B", '{"uid": "x"}'), 1, "999999")


def test_a_setting_of_the_wrong_type_is_refused_at_migration(
        make_project: Any, run_iop: Any, iop_home: Path, store: Any) -> None:
    project = make_project(COMPONENTS, SETTINGS.format(interval="5", batch="0.1", out="")
                           .replace(f"from {MODULE} import *\n", ""))
    line = one_line(run_raw(iop_home, "-m", str(project.settings)), 1, PRODUCTION,
                    "item Ticker", "host setting Batch='0.1'", "not a valid int",
                    "nothing was written")
    assert line.startswith("error: production validation failed"), line
    project.write_settings(SETTINGS.format(interval="soon", batch="10", out="")
                           .replace(f"from {MODULE} import *\n", ""))
    one_line(run_raw(iop_home, "-m", str(project.settings)), 1, PRODUCTION, "item Ticker",
             "adapter setting CallInterval='soon'", "not a valid float")
    assert store.get_production(PRODUCTION) is None


def test_call_interval_0_1_is_taken_and_polls(make_project: Any, run_iop: Any, tmp_path: Path,
                                              wait_for: Any) -> None:
    # The issue's `CallInterval "0.1"` crash-looped on an int check; IRIS's CallInterval is
    # %Numeric(MINVAL = 0.1), so a tenth of a second is valid and the service polls at it.
    out = tmp_path / "polls.txt"
    project = make_project(COMPONENTS, SETTINGS.format(interval="0.1", batch="7", out=str(out))
                           .replace(f"from {MODULE} import *\n", ""))
    project.migrate()
    project.start(PRODUCTION)
    wait_for(lambda: out.exists() and len(out.read_text().split()) >= 5, timeout=20,
             what="five polls of Ticker at CallInterval 0.1")
    assert set(out.read_text().split()) == {"7"}
    assert json.loads(run_iop("-x").stdout)["Status"] == "running"
