"""The peer's ACK decides a TCPOperation's message through ReplyCodeActions in IRIS's HL7
syntax: AR retried, AE suspended (the defaults), AA completed; plus the parser's
``:<code>`` patterns."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from hl7_support import (
    MllpReceiver,
    MllpSender,
    adt,
    free_port,
    production_source,
    wait_listening,
)

from iop.connectors.hl7.hl7_operations import DEFAULT_REPLY_CODE_ACTIONS
from iop.engine.outcomes.reply_code_actions import Failure, ReplyCodeActions


@pytest.mark.parametrize(("code", "final"), [("AR", "F"), ("CR", "F"), ("AE", "S"), ("CE", "S"),
                                             ("~", "S"), ("ZZ", "S"), (None, "F")])
def test_default_hl7_reply_code_actions(code: str | None, final: str) -> None:
    rules = ReplyCodeActions(DEFAULT_REPLY_CODE_ACTIONS)
    decision = rules.decide(Failure("HL7 peer x:1 answered message 1 with ...", code))
    assert decision.final() == final
    assert decision.retry == (code in ("AR", "CR", None))
    assert rules.decide(Failure(None)).completes


def test_colon_codes_are_patterns_over_the_ack_code() -> None:
    rules = ReplyCodeActions(":AE=C,:?R=S,:*=D")
    assert rules.decide(Failure("e", "AE")).completes
    assert rules.decide(Failure("e", "CR")).suspend
    assert rules.decide(Failure("e", "XY")).disable
    assert rules.decide(Failure("no ack code")).final() == "F"  # no code: colon codes skip


def test_peer_nacks_drive_retry_and_suspension(make_project: Any, store: Any,
                                               wait_for: Any) -> None:
    in_port, out_port = free_port(), free_port()
    refusals = {"RETRY": 2}
    lock = threading.Lock()

    def answer(text: str) -> str:
        if "Suspend" in text:
            return "AE"
        with lock:
            if "Retry" in text and refusals["RETRY"] > 0:
                refusals["RETRY"] -= 1
                return "AR"
        return "AA"

    receiver = MllpReceiver(out_port, answer=answer)
    receiver.start()
    try:
        project = make_project("", production_source(in_port, out_port))
        project.migrate()
        project.start("HL7.Test.Production")
        wait_listening(in_port)
        sender = MllpSender(in_port)
        sender.send(adt("RT1", family="Retry"))
        sender.send(adt("SU1", family="Suspend"))
        sender.close()
        wait_for(lambda: receiver.control_ids().count("RT1") == 3, timeout=30,
                 what="RT1 refused twice, then taken")
        suspended = wait_for(lambda: store.query_headers(target="HL7Out", status="suspended"),
                             timeout=30, what="SU1 suspended")
        assert "SU1" in (store.get_body(suspended[0]) or "")
        assert receiver.control_ids().count("SU1") == 1
        wait_for(lambda: store.query_headers(target="HL7Out", status="completed"), timeout=30,
                 what="RT1 completed")
    finally:
        receiver.stop()
