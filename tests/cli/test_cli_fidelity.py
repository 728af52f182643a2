"""The `iop` command line as IoP 4.1.1 and seed 000 have it: exit codes, -n, -x keys, -S/-k/-r
naming what they acted on, -i DIR, -t refusals and plain-text bodies, filtered counts, -L N."""

from __future__ import annotations

import json
from typing import Any

import pytest

PRODUCTION = "Fidelity.Production"

COMPONENTS = '''
@dataclass
class Ping(Message):
    text: str = ""


class Echo(BusinessOperation):
    def on_message(self, request):
        if request.text == "fail":
            raise RuntimeError("refused to echo")
        return Ping(request.text.upper())

    @handler("Ens.StringRequest")
    def string(self, request):
        from iop.messages import resolve_class
        return resolve_class("Ens.StringResponse")(StringValue=request.StringValue[::-1])


class Relay(BusinessProcess):
    def on_request(self, request):
        return self.send_request_sync("Echo", request)


class Feed(BusinessService):
    def on_process_input(self, request):
        return None
'''

SETTINGS = f'''
prod = Production("{PRODUCTION}", testing_enabled=True)
prod.service("Feed", Feed)
prod.process("Relay", Relay)
prod.operation("Echo", Echo)
PRODUCTIONS = [prod]
'''


def one_error(proc: Any, code: int = 1) -> str:
    assert proc.returncode == code, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    return str(lines[0])


@pytest.fixture
def project(make_project: Any) -> Any:
    project = make_project(COMPONENTS, SETTINGS)
    project.migrate()
    return project


def test_namespace_alone_and_argparse_mistakes(run_iop: Any) -> None:
    assert run_iop("-n").stdout == "USER\n"
    assert run_iop("-n", "OTHER").stdout.startswith("usage: iop")  # IoP: the help, as -h
    for argv, needle in ((("--bogus",), "unrecognized arguments: --bogus"),
                         (("-s", "-S"), "not allowed with argument -s/--start"),
                         (("-x", "extra"), "unrecognized arguments: extra"),
                         (("--format", "nope"), "invalid choice")):
        line = one_error(run_iop(*argv, check=False), code=2)
        assert line.startswith("iop: error: ") and needle in line, line
    assert one_error(run_iop("--apply-plan", "plan.json", check=False)) == \
        "error: --apply-plan requires --settings."


def test_init_says_what_it_does_with_a_directory(run_iop: Any, tmp_path: Any) -> None:
    out = run_iop("-i", tmp_path).stdout.splitlines()
    assert out[0] == (f"{tmp_path}: not used; the engine has no IRIS classes to load, so -i "
                      "only creates or upgrades the store of namespace USER")
    assert out[1].startswith("namespace USER ready")


def test_stop_kill_restart_name_the_production_or_say_nothing_runs(project: Any,
                                                                    run_iop: Any) -> None:
    assert json.loads(run_iop("-x").stdout) == {"Production": PRODUCTION, "Status": "stopped"}
    assert run_iop("-S").stdout == ("No production is running in namespace USER; "
                                    "nothing to stop\n")
    assert run_iop("-k").stdout == ("No production is running in namespace USER; "
                                    "nothing to kill\n")
    # Like IRIS's RestartProduction, -r never starts a stopped production.
    assert one_error(run_iop("-r", check=False)) == (
        "error: no production is running in namespace USER; start one with iop -s NAME")
    assert json.loads(run_iop("-x").stdout)["Status"] == "stopped"

    project.start(PRODUCTION)
    assert run_iop("-r").stdout == f"Production {PRODUCTION} restarted\n"
    assert json.loads(run_iop("-x").stdout) == {"Production": PRODUCTION, "Status": "running"}
    assert run_iop("-S").stdout == f"Production {PRODUCTION} stopped\n"
    project.start(PRODUCTION)
    assert run_iop("-k").stdout == f"Production {PRODUCTION} killed\n"
    assert json.loads(run_iop("-x").stdout)["Status"] == "stopped"


def test_test_command_refusals_plain_text_and_filtered_counts(project: Any, run_iop: Any,
                                                              store: Any) -> None:
    project.start(PRODUCTION)
    assert one_error(run_iop("-t", check=False)) == (
        "error: iop -t needs the item to test: iop -t ITEM [-C CLASS] [-B BODY]; items of "
        f"production {PRODUCTION}: Relay, Echo")
    # A service has no queue: refused before anything is sent, so the stop stays clean.
    line = one_error(run_iop("-t", "Feed", check=False))
    assert "item Feed is a business service" in line
    assert store.query_headers(target="Feed") == []

    out = run_iop("-t", "Echo", "-C", "iris.Ens.StringRequest", "-B", "plain text").stdout
    assert out.splitlines()[:2] == ["classname: Ens.StringResponse", "body:"]
    assert json.loads(out.split("body:", 1)[1]) == {"StringValue": "txet nialp"}
    ping = f"{project.module}.Ping"
    run_iop("-t", "Relay", "-C", ping, "-B", '{"text": "hi"}')
    one_error(run_iop("-t", "Echo", "-C", ping, "-B", '{"text": "fail"}', check=False))

    def counts(*filters: str) -> dict[str, int]:
        return dict(json.loads(run_iop("--messages", "--count", *filters).stdout))

    def listed(*filters: str) -> list[dict[str, Any]]:
        return list(json.loads(run_iop("--messages", "--limit", "1000", *filters).stdout))

    everything = counts()
    assert everything["error"] >= 1  # a status named "error" is a count like the others
    for filters in (("--target", "Echo"), ("--source", "Relay"), ("--status", "error"),
                    ("--target", "Echo", "--status", "completed")):
        expected: dict[str, int] = {}
        for header in listed(*filters):
            expected[header["status"]] = expected.get(header["status"], 0) + 1
        assert counts(*filters) == expected, filters
    session = listed("--source", "Relay")[0]["session_id"]
    assert sum(counts("--session", str(session)).values()) == 4  # Relay and Echo, both ways
    assert counts("--target", "Feed") == {}

    run_iop("-S")  # nothing left queued by the refused test: a clean stop
    assert json.loads(run_iop("-x").stdout)["Status"] == "stopped"

    entries = [line for line in run_iop("-L", "6").stdout.splitlines() if line[:2] == "20"]
    times = [line[:23] for line in entries]
    assert len(entries) == 6 and times == sorted(times)  # oldest first, as IoP prints them
    assert f"Production {PRODUCTION} stopped" in entries[-1]
