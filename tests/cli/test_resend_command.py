"""`iop --resend ID [ID ...] [--new-session]`: a request in any final status (an error left
by a bug or an outage, a completed one) is sent again to its target, as IRIS's resend does;
`--resubmit` stays for suspended messages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sample_components import TILL

PRODUCTION = "Resend.Production"


@pytest.fixture
def running(make_project: Any, tmp_path: Path) -> Any:
    flag = tmp_path / "fixed"
    project = make_project(TILL, f'''
prod = Production("{PRODUCTION}", testing_enabled=True)
prod.operation("Till", Till).host_setting("FixedFlag", {str(flag)!r})
PRODUCTIONS = [prod]
''')
    project.migrate()
    project.start(PRODUCTION)
    project.flag = flag
    return project


def _request_of_test(iop_json: Any) -> dict[str, Any]:
    found = [m for m in iop_json("--messages", "--target", "Till")
             if m["type"] == "request"]
    assert len(found) == 1, found
    return found[0]  # type: ignore[no-any-return]


def _status(iop_json: Any, message_id: int) -> str:
    return next((m["status"] for m in iop_json("--messages", "--target", "Till")
                 if m["id"] == message_id), "")


def test_resend_an_errored_then_a_completed_request(running: Any, run_iop: Any, iop_json: Any,
                                                    wait_for: Any) -> None:
    order = running.message_class("Order")
    failed = run_iop("-t", "Till", "-C", order, "-B", '{"n": 7}', check=False)
    assert failed.returncode == 1 and "till closed for order 7" in failed.stderr
    original = _request_of_test(iop_json)
    assert original["status"] == "error"

    running.flag.write_text("fixed")  # the bug is fixed: resend the errored request
    done = iop_json("--resend", original["id"])
    assert len(done) == 1
    resent = done[0]
    assert resent["original"] == original["id"] and resent["target"] == "Till"
    assert resent["session_id"] == original["session_id"]  # in its own session by default
    wait_for(lambda: _status(iop_json, resent["resent"]) == "completed", timeout=30,
             what="the resent request to complete")
    assert Path(str(running.flag) + ".taken").read_text() == "7\n"
    session = iop_json("--messages", "--session", original["session_id"])
    assert {m["id"] for m in session if m["type"] == "request"} == {original["id"],
                                                                     resent["resent"]}
    assert _status(iop_json, original["id"]) == "error"  # the original keeps its history

    # A completed request can be resent too, in a session of its own.
    again = iop_json("--resend", resent["resent"], "--new-session")[0]
    assert again["original"] == resent["resent"]
    assert again["session_id"] == again["resent"] != original["session_id"]
    wait_for(lambda: _status(iop_json, again["resent"]) == "completed", timeout=30,
             what="the second resend to complete")
    assert Path(str(running.flag) + ".taken").read_text() == "7\n7\n"
    log = run_iop("-L", "50").stdout
    assert f"message {resent['resent']} resent to Till as message {again['resent']}" in log


def test_resend_refuses_unknown_ids_and_responses_in_one_line(running: Any, run_iop: Any,
                                                               iop_json: Any) -> None:
    running.flag.write_text("fixed")
    run_iop("-t", "Till", "-C", running.message_class("Order"), "-B", '{"n": 1}')
    response = next(m for m in iop_json("--messages") if m["type"] == "response")
    before = iop_json("--messages", "--count")
    for ids, text in (([999999], "message 999999 does not exist"),
                      ([response["id"]], f"message {response['id']} is a response")):
        refused = run_iop("--resend", *ids, check=False)
        assert refused.returncode == 1, refused
        assert text in refused.stderr and "nothing was resent" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr
    assert iop_json("--messages", "--count") == before
    bad = run_iop("--resend", "seven", check=False)
    assert bad.returncode == 2 and "invalid int value" in bad.stderr
    assert json.loads(run_iop("--new-session", "--resend", response["corresponding_id"])
                      .stdout)[0]["original"] == response["corresponding_id"]
