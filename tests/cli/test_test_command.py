"""`iop -t ITEM -C CLASS -B BODY|@file`: one synchronous test message, response pretty-printed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

PRODUCTION = "Testing.Production"

COMPONENTS = '''
@dataclass
class Ping(Message):
    n: int = 0
    text: str = ""
    tags: list[str] = field(default_factory=list)


@dataclass
class Pong(Message):
    n: int = 0
    text: str = ""
    tags: list[str] = field(default_factory=list)


class Echo(BusinessOperation):
    @handler(Ping)
    def shout(self, request):
        if request.text == "fail":
            raise RuntimeError("refused to echo")
        return Pong(request.n * 2, request.text.upper(), sorted(request.tags))

    @handler("Ens.StringRequest")
    def string(self, request):
        from iop.messages import resolve_class
        return resolve_class("Ens.StringResponse")(StringValue=request.StringValue[::-1])


class Quiet(BusinessOperation):
    def on_message(self, request):
        return None
'''

SETTINGS = f'''
prod = Production("{PRODUCTION}", testing_enabled=True)
prod.operation("Echo", Echo)
prod.operation("Quiet", Quiet)
PRODUCTIONS = [prod]
'''


@pytest.fixture
def running(make_project: Any) -> Any:
    project = make_project(COMPONENTS, SETTINGS)
    project.migrate()
    project.start(PRODUCTION)
    return project


def expected_output(classname: str, body: dict[str, Any]) -> str:
    return f"classname: {classname}\nbody:\n{json.dumps(body, indent=4)}\n"


def test_inline_json_body(running: Any, run_iop: Any, store: Any) -> None:
    body = json.dumps({"n": 21, "text": "hello", "tags": ["b", "a"]})
    out = run_iop("-t", "Echo", "-C", running.message_class("Ping"), "-B", body).stdout
    assert out == expected_output(running.message_class("Pong"),
                                  {"n": 42, "text": "HELLO", "tags": ["a", "b"]})
    requests = store.query_headers(target="Echo", type="request", limit=0)
    assert len(requests) == 1 and requests[0].status == "completed"
    assert requests[0].body_class == running.message_class("Ping")


def test_body_from_a_file(running: Any, run_iop: Any, tmp_path: Path) -> None:
    body_file = tmp_path / "body.json"
    body_file.write_text(json.dumps({"n": 5, "text": "from file"}, indent=2) + "\n")
    out = run_iop("-t", "Echo", "-C", running.message_class("Ping"), "-B", f"@{body_file}").stdout
    assert out == expected_output(running.message_class("Pong"),
                                  {"n": 10, "text": "FROM FILE", "tags": []})


def test_long_flag_names(running: Any, run_iop: Any) -> None:
    out = run_iop("--test", "Echo", "--classname", running.message_class("Ping"),
                  "--body", '{"n": 1}').stdout
    assert out == expected_output(running.message_class("Pong"), {"n": 2, "text": "", "tags": []})


def test_builtin_message_class(running: Any, run_iop: Any) -> None:
    out = run_iop("-t", "Echo", "-C", "Ens.StringRequest", "-B", '{"StringValue": "abc"}').stdout
    assert out == expected_output("Ens.StringResponse", {"StringValue": "cba"})


def test_empty_body_uses_field_defaults(running: Any, run_iop: Any) -> None:
    out = run_iop("-t", "Echo", "-C", running.message_class("Ping")).stdout
    assert out == expected_output(running.message_class("Pong"), {"n": 0, "text": "", "tags": []})


def test_no_response_prints_an_empty_object(running: Any, run_iop: Any) -> None:
    out = run_iop("-t", "Quiet", "-C", running.message_class("Ping"), "-B", "{}").stdout
    assert out.strip() == "{}"


def test_handler_failure_is_one_error_line(running: Any, run_iop: Any, store: Any) -> None:
    proc = run_iop("-t", "Echo", "-C", running.message_class("Ping"), "-B", '{"text": "fail"}',
                   check=False)
    assert proc.returncode != 0
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    assert "refused to echo" in lines[0]
    assert "Traceback" not in proc.stderr
    failed = store.query_headers(target="Echo", type="request", limit=1)[0]
    assert failed.status == "error"
